/**
 * The mirror's rows: Kinde's entities as the webhook and the backfill bring
 * them in (snapshots, normalised) and as the host app reads them.
 * Validators are prefixed `v`.
 */
import { v, type Infer } from "convex/values";
import { MAX_ORGANIZATIONS_PER_USER, MAX_ROLES_AND_PERMISSIONS_PER_USER } from "./userLimits.js";
import { userEnrichmentFields, vProperties } from "./enrichment.js";

/**
 * The version of a mirrored row: the time of the Kinde event that last wrote
 * it (ms since epoch, keeping Kinde's microseconds as a fraction) and that
 * event's id as a tie-break. See `src/component/ordering.ts`.
 */
export const vVersion = v.object({ at: v.number(), eventId: v.string() });
export type Version = Infer<typeof vVersion>;

/** A role or permission held in a membership: its Kinde id and its key. */
export const vKeyRef = v.object({ kindeId: v.string(), key: v.string() });
export type KeyRef = Infer<typeof vKeyRef>;

/** One organization a user belongs to, with the roles and permissions held there. */
export const vMembershipSnapshot = v.object({
  orgCode: v.string(),
  roles: v.array(vKeyRef),
  permissions: v.array(vKeyRef),
});
export type MembershipSnapshot = Infer<typeof vMembershipSnapshot>;

/** A user's identity and profile, as every user shape (snapshot, user, member) carries it. */
export const profileFields = {
  kindeId: v.string(),
  email: v.optional(v.string()),
  phone: v.optional(v.string()),
  username: v.optional(v.string()),
  firstName: v.optional(v.string()),
  lastName: v.optional(v.string()),
  isSuspended: v.boolean(),
};

/**
 * The synced fields of a user, as `user.created` / `user.updated` carry them,
 * normalised: optional strings are absent rather than `""` or `null`.
 */
export const vUserSnapshot = v.object({
  ...profileFields,
  isPasswordResetRequested: v.boolean(),
  organizations: v.array(vMembershipSnapshot),
});
export type UserSnapshot = Infer<typeof vUserSnapshot>;

/** An organization as `organization.created` / `organization.updated` carry it, normalised. */
export const vOrganizationSnapshot = v.object({
  code: v.string(),
  name: v.optional(v.string()),
  handle: v.optional(v.string()),
  externalId: v.optional(v.string()),
  isAllowRegistrations: v.optional(v.boolean()),
});
export type OrganizationSnapshot = Infer<typeof vOrganizationSnapshot>;

/** What roles and permissions share: Kinde's id, the key apps check, and labels. */
const catalogFields = {
  kindeId: v.string(),
  key: v.string(),
  name: v.optional(v.string()),
  description: v.optional(v.string()),
};

/** A role as `role.created` / `role.updated` carry it, normalised. */
export const vRoleSnapshot = v.object({
  ...catalogFields,
  isDefaultRole: v.optional(v.boolean()),
});
export type RoleSnapshot = Infer<typeof vRoleSnapshot>;

/** A permission as `permission.created` / `permission.updated` carry it, normalised. */
export const vPermissionSnapshot = v.object(catalogFields);
export type PermissionSnapshot = Infer<typeof vPermissionSnapshot>;

/** An organization membership as the host app reads it: role and permission keys. */
export const vOrganizationMembership = v.object({
  orgCode: v.string(),
  roles: v.array(v.string()),
  permissions: v.array(v.string()),
});
export type OrganizationMembership = Infer<typeof vOrganizationMembership>;

/** A membership with its organization's name and handle, as a user's list of organizations shows it. */
export const vNamedMembership = v.object({
  ...vOrganizationMembership.fields,
  name: v.optional(v.string()),
  handle: v.optional(v.string()),
});
export type NamedMembership = Infer<typeof vNamedMembership>;

/** A mirrored Kinde user, as the host app reads it. */
export const vUser = v.object({
  ...profileFields,
  isPasswordResetRequested: v.boolean(),
  /** When Kinde last reported a sign-in (`user.authenticated`), ms since epoch. */
  lastSignedInAt: v.optional(v.number()),
  organizations: v.array(vOrganizationMembership),
  ...userEnrichmentFields,
});
export type KindeUser = Infer<typeof vUser>;

/** A mirrored organization, as the host app reads it. */
export const vOrganization = v.object({
  ...vOrganizationSnapshot.fields,
  /** The custom organization properties the `enrichment` option names, once fetched. */
  properties: v.optional(vProperties),
});
export type KindeOrganization = Infer<typeof vOrganization>;

/** A role in the Kinde catalog, as the host app reads it. `kindeId` is Kinde's role id. */
export const vRole = vRoleSnapshot;
export type KindeRole = RoleSnapshot;

/** A permission in the Kinde catalog, as the host app reads it. `kindeId` is Kinde's permission id. */
export const vPermission = vPermissionSnapshot;
export type KindePermission = PermissionSnapshot;

/** A member of an organization: the user's profile and what they hold in that organization. */
export const vOrganizationMember = v.object({
  ...profileFields,
  roles: v.array(v.string()),
  permissions: v.array(v.string()),
  ...userEnrichmentFields,
});
export type OrganizationMember = Infer<typeof vOrganizationMember>;

/** The kinds of entity the mirror holds; tombstones and the event log name them so. */
export const vEntityKind = v.union(
  v.literal("user"),
  v.literal("organization"),
  v.literal("role"),
  v.literal("permission"),
);
export type EntityKind = Infer<typeof vEntityKind>;

/**
 * The most roles (or permissions) the catalog lists (`listRoles` /
 * `listPermissions`) and a backfill reads. A Kinde catalog is defined by hand
 * in the dashboard; it is far smaller.
 */
export const MAX_CATALOG_SIZE = 1000;

/**
 * What keeps a user snapshot from being mirrored in one mutation, if anything:
 * more organizations or distinct roles and permissions than userLimits.ts allows.
 * The webhook refuses such an event (400); the component refuses a direct call.
 */
export function userLimitProblem(kindeId: string, organizations: MembershipSnapshot[]) {
  if (organizations.length > MAX_ORGANIZATIONS_PER_USER) {
    return `user ${kindeId} belongs to ${organizations.length} organizations; convex-kinde mirrors at most ${MAX_ORGANIZATIONS_PER_USER} per user`;
  }
  const identity = (r: KeyRef) => (r.kindeId === "" ? `key ${r.key}` : `id ${r.kindeId}`);
  const distinct = new Set(
    organizations.flatMap((m) => [
      ...m.roles.map((r) => `role ${identity(r)}`),
      ...m.permissions.map((p) => `permission ${identity(p)}`),
    ]),
  );
  if (distinct.size > MAX_ROLES_AND_PERMISSIONS_PER_USER) {
    return `user ${kindeId} holds ${distinct.size} distinct roles and permissions; convex-kinde mirrors at most ${MAX_ROLES_AND_PERMISSIONS_PER_USER} per user`;
  }
  return null;
}
