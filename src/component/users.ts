import { v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import { query, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import type { WithoutSystemFields } from "convex/server";
import schema from "./schema.js";
import { UNSYNCED } from "./ordering.js";
import { addTombstone, isDeleted, isStale } from "./tombstones.js";
import { applied, STALE, updateChange, upsertChange, type ApplyResult } from "./changes.js";
import { currentRefs } from "./catalog.js";
import { adjustCount } from "./counters.js";
import { assertFitsOneDocument } from "./limits.js";
import { normalizePhone } from "./phone.js";
import {
  userLimitProblem,
  vUser,
  type KeyRef,
  type KindeUser,
  type MembershipSnapshot,
  type UserSnapshot,
  type Version,
} from "../shared/mirror.js";
import { MAX_ORGANIZATIONS_PER_USER } from "../shared/userLimits.js";
import { clearedParts, droppedToFit, withinDocumentLimit } from "./enrichmentMerge.js";
import { cancelRefresh } from "./refreshes.js";
import { deleteBillingOf } from "./billing.js";

/** A user row as written, with or without its system fields. */
type UserRow = WithoutSystemFields<Doc<"kindeUsers">>;

/** A user's identity and profile: what every public shape of a user starts with. */
export function profileOf(doc: UserRow) {
  return {
    kindeId: doc.kindeId,
    email: doc.email,
    phone: doc.phone,
    username: doc.username,
    firstName: doc.firstName,
    lastName: doc.lastName,
    isSuspended: doc.isSuspended,
  };
}

/** What enrichment adds to every public shape of a user: absent until fetched. */
export function userEnrichmentOf(doc: Pick<UserRow, "details" | "properties">) {
  return { ...doc.details, properties: doc.properties };
}

/** The public shape of a mirrored user: role and permission keys, no internal fields. */
export function toKindeUser(doc: UserRow): KindeUser {
  return {
    ...profileOf(doc),
    isPasswordResetRequested: doc.isPasswordResetRequested,
    lastSignedInAt: doc.lastSignedInAt,
    organizations: doc.organizations.map((m) => ({
      orgCode: m.orgCode,
      roles: m.roles.map((r) => r.key),
      permissions: m.permissions.map((p) => p.key),
    })),
    ...userEnrichmentOf(doc),
  };
}

/** The enrichment a user's row keeps, carried over when a snapshot replaces the row. */
function enrichmentKeptBy(doc: Doc<"kindeUsers"> | null) {
  return {
    details: doc?.details,
    detailsFetchedAt: doc?.detailsFetchedAt,
    properties: doc?.properties,
    propertiesFetchedAt: doc?.propertiesFetchedAt,
  };
}

/**
 * `row` within one document: the mirror's data wins, so a user whose
 * memberships leave no room for enrichment keeps none (and the log says so).
 */
export function fitUserRow<T extends UserRow>(row: T) {
  const fitted = withinDocumentLimit(row);
  if (fitted.dropped.length > 0) {
    console.warn("[convex-kinde]", droppedToFit(`user ${row.kindeId}`, fitted.dropped));
  }
  return fitted;
}

export async function findUser(ctx: QueryCtx, kindeId: string) {
  return await ctx.db
    .query("kindeUsers")
    .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
    .unique();
}

/**
 * Applies a full user snapshot (`user.created` / `user.updated`) if it is newer
 * than the stored one: replaces every synced field, including the memberships
 * (an organization missing from the snapshot is left). An update that arrives
 * before its create inserts the user. A deleted user stays deleted.
 */
export async function applyUserSnapshot(
  ctx: MutationCtx,
  version: Version,
  snapshot: UserSnapshot,
): Promise<ApplyResult> {
  // The webhook refuses these first (400); a direct call would pass Convex's limits.
  const problem = userLimitProblem(snapshot.kindeId, snapshot.organizations);
  if (problem) throw new Error(problem);
  const existing = await findUser(ctx, snapshot.kindeId);
  if (await isStale(ctx, "user", snapshot.kindeId, existing, version)) return STALE;

  const { organizations: snapshotOrganizations, ...profile } = snapshot;
  const organizations = await currentMemberships(
    ctx,
    version,
    snapshotOrganizations,
    existing?.organizations ?? [],
  );
  const fields = {
    ...profile,
    emailLower: snapshot.email?.toLowerCase(),
    organizations,
    version,
  };
  const { row } = fitUserRow({
    ...fields,
    lastSignedInAt: existing?.lastSignedInAt,
    ...enrichmentKeptBy(existing),
  });
  assertFitsOneDocument("kindeUsers", row);
  if (existing) {
    await ctx.db.replace("kindeUsers", existing._id, row);
  } else {
    await ctx.db.insert("kindeUsers", row);
    await adjustCount(ctx, "users", snapshot.kindeId, 1);
  }
  await syncMemberships(ctx, snapshot.kindeId, existing?.organizations ?? [], organizations);
  const user = toKindeUser(row);
  return applied(
    upsertChange(
      existing && toKindeUser(existing),
      user,
      { type: "user.created", user },
      (previous) => ({ type: "user.updated", user, previous }),
    ),
  );
}

/**
 * Brings a snapshot's memberships up to date with what the mirror knows to be
 * newer: organizations, roles and permissions deleted since are dropped and
 * renamed keys are used, so a late retry cannot restore a deleted role.
 * Memberships identical to the stored ones were checked when stored (and any
 * deletion since is being cascaded into them), so only new or changed ones
 * cost look-ups: a profile edit reads no catalog or tombstone.
 */
async function currentMemberships(
  ctx: MutationCtx,
  version: Version,
  organizations: MembershipSnapshot[],
  stored: MembershipSnapshot[],
): Promise<MembershipSnapshot[]> {
  const unchanged = new Map(stored.map((m) => [m.orgCode, m]));
  const changed = organizations.filter((m) => {
    const previous = unchanged.get(m.orgCode);
    return !previous || !sameMembership(previous, m);
  });
  // Key-only refs (no Kinde id; the catalog did not know the key) have no
  // tombstone or catalog row to consult: they are kept as the snapshot says.
  const withId = (refs: KeyRef[]) => refs.filter((r) => r.kindeId !== "");
  const keptAsIs = (current: Map<string, KeyRef>) => (r: KeyRef) =>
    r.kindeId === "" ? [r] : (current.get(r.kindeId) ?? []);
  const roles = keptAsIs(
    await currentRefs(ctx, "role", withId(changed.flatMap((m) => m.roles)), version),
  );
  const permissions = keptAsIs(
    await currentRefs(ctx, "permission", withId(changed.flatMap((m) => m.permissions)), version),
  );
  const current: MembershipSnapshot[] = [];
  for (const membership of organizations) {
    if (!changed.includes(membership)) {
      current.push(membership);
      continue;
    }
    if (await isDeleted(ctx, "organization", membership.orgCode)) continue;
    current.push({
      orgCode: membership.orgCode,
      roles: membership.roles.flatMap(roles),
      permissions: membership.permissions.flatMap(permissions),
    });
  }
  return current;
}

/**
 * Brings `kindeMemberships` from `before` to `after`, touching only the
 * organizations that changed: a profile edit writes no membership row.
 */
async function syncMemberships(
  ctx: MutationCtx,
  kindeId: string,
  before: MembershipSnapshot[],
  after: MembershipSnapshot[],
) {
  const previous = new Map(before.map((m) => [m.orgCode, m]));
  for (const membership of after) {
    const old = previous.get(membership.orgCode);
    previous.delete(membership.orgCode);
    if (old && sameMembership(old, membership)) continue;
    const row = await findMembership(ctx, kindeId, membership.orgCode);
    const doc = { kindeId, ...membership };
    assertFitsOneDocument("kindeMemberships", doc);
    if (row) await ctx.db.replace("kindeMemberships", row._id, doc);
    else await ctx.db.insert("kindeMemberships", doc);
  }
  for (const orgCode of previous.keys()) {
    const row = await findMembership(ctx, kindeId, orgCode);
    if (row) await ctx.db.delete("kindeMemberships", row._id);
  }
}

function sameMembership(a: MembershipSnapshot, b: MembershipSnapshot) {
  const ids = (refs: KeyRef[]) => refs.map((r) => `${r.kindeId}\u0000${r.key}`).join("\u0001");
  return ids(a.roles) === ids(b.roles) && ids(a.permissions) === ids(b.permissions);
}

/** What {@link replaceMembership} answers when the membership would take its user past the limit. */
export const OVER_LIMIT = { outcome: "overLimit" } as const;

/**
 * Sets one of a user's memberships (adding it if new) in both the user's
 * inline copy and the memberships index, without changing the user's version.
 * A membership already held as given writes nothing. The change is a
 * `user.updated` when what the host reads of the user changed (a role's id
 * settling under the same key changes nothing it can see).
 *
 * A new membership for a user who already holds `MAX_ORGANIZATIONS_PER_USER`
 * writes nothing ({@link OVER_LIMIT}): past it the user's next snapshot or
 * deletion would not fit one mutation, and a webhook could not send it.
 */
export async function replaceMembership(
  ctx: MutationCtx,
  user: Doc<"kindeUsers">,
  membership: MembershipSnapshot,
): Promise<ApplyResult | typeof OVER_LIMIT> {
  const held = user.organizations.find((m) => m.orgCode === membership.orgCode);
  if (held && sameMembership(held, membership)) return applied(null);
  if (!held && user.organizations.length >= MAX_ORGANIZATIONS_PER_USER) return OVER_LIMIT;
  const organizations = held
    ? user.organizations.map((m) => (m === held ? membership : m))
    : [...user.organizations, membership];
  const doc = { kindeId: user.kindeId, ...membership };
  const { row: fitted, dropped } = fitUserRow({ ...user, organizations });
  assertFitsOneDocument("kindeUsers", fitted);
  assertFitsOneDocument("kindeMemberships", doc);
  await ctx.db.patch("kindeUsers", user._id, { organizations, ...clearedParts(dropped) });
  const row = await findMembership(ctx, user.kindeId, membership.orgCode);
  if (row) await ctx.db.replace("kindeMemberships", row._id, doc);
  else await ctx.db.insert("kindeMemberships", doc);
  const updated = toKindeUser(fitted);
  return applied(
    updateChange(toKindeUser(user), updated, (previous) => ({
      type: "user.updated",
      user: updated,
      previous,
    })),
  );
}

export async function findMembership(ctx: QueryCtx, kindeId: string, orgCode: string) {
  return await ctx.db
    .query("kindeMemberships")
    .withIndex("kindeId", (q) => q.eq("kindeId", kindeId).eq("orgCode", orgCode))
    .unique();
}

/**
 * Applies `user.deleted`: removes the user and its memberships and leaves a
 * tombstone. Deletion is final whatever the event order (Kinde never reuses a
 * user id), so a delete applies even when an update with a later time was seen.
 */
export async function deleteUser(
  ctx: MutationCtx,
  version: Version,
  kindeId: string,
  keepUntil: number,
): Promise<ApplyResult> {
  if (!(await addTombstone(ctx, "user", kindeId, version, keepUntil))) return STALE;
  await cancelRefresh(ctx, { kind: "user", entityId: kindeId });
  const existing = await findUser(ctx, kindeId);
  if (existing) {
    for (const { orgCode } of existing.organizations.slice(0, MAX_ORGANIZATIONS_PER_USER)) {
      const row = await findMembership(ctx, kindeId, orgCode);
      if (row) await ctx.db.delete("kindeMemberships", row._id);
    }
    await ctx.db.delete("kindeUsers", existing._id);
    await adjustCount(ctx, "users", kindeId, -1);
  }
  await deleteBillingOf(ctx, { kind: "user", kindeId });
  return applied(existing ? { type: "user.deleted", kindeId } : null);
}

/**
 * Applies `user.authenticated`: moves `lastSignedInAt` forward, never back.
 * A sign-in that arrives before `user.created` creates the row with no profile
 * yet (version {@link UNSYNCED}), so the sign-in is not lost; the snapshot
 * fills it in. To the hooks that first sign-in is the user's `user.created`.
 */
export async function recordSignIn(
  ctx: MutationCtx,
  version: Version,
  kindeId: string,
): Promise<ApplyResult> {
  const existing = await findUser(ctx, kindeId);
  if (!existing) {
    if (await isDeleted(ctx, "user", kindeId)) return STALE;
    const row = {
      kindeId,
      isSuspended: false,
      isPasswordResetRequested: false,
      organizations: [],
      lastSignedInAt: version.at,
      version: UNSYNCED,
    };
    await ctx.db.insert("kindeUsers", row);
    await adjustCount(ctx, "users", kindeId, 1);
    return applied({ type: "user.created", user: toKindeUser(row) });
  }
  if (existing.lastSignedInAt !== undefined && existing.lastSignedInAt >= version.at) {
    return STALE;
  }
  await ctx.db.patch("kindeUsers", existing._id, { lastSignedInAt: version.at });
  const user = toKindeUser({ ...existing, lastSignedInAt: version.at });
  return applied({ type: "user.authenticated", user });
}

export const getUser = query({
  args: { kindeId: v.string() },
  returns: v.union(vUser, v.null()),
  handler: async (ctx, { kindeId }) => {
    const doc = await findUser(ctx, kindeId);
    return doc && toKindeUser(doc);
  },
});

export const getUserByEmail = query({
  args: { email: v.string() },
  returns: v.union(vUser, v.null()),
  handler: async (ctx, { email }) => {
    const doc = await ctx.db
      .query("kindeUsers")
      .withIndex("emailLower", (q) => q.eq("emailLower", email.trim().toLowerCase()))
      .first();
    return doc && toKindeUser(doc);
  },
});

/**
 * The user with this phone number, in any common notation (`+44 20 7183-8750`
 * finds Kinde's `+442071838750`), or null. A user without a phone, or an
 * argument with no number in it, is never found.
 */
export const getUserByPhone = query({
  args: { phone: v.string() },
  returns: v.union(vUser, v.null()),
  handler: async (ctx, args) => {
    const phone = normalizePhone(args.phone);
    if (phone === "") return null;
    const doc = await ctx.db
      .query("kindeUsers")
      .withIndex("phone", (q) => q.eq("phone", phone))
      .first();
    return doc && toKindeUser(doc);
  },
});

export const listUsers = query({
  args: { paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(vUser),
  handler: async (ctx, { paginationOpts }) => {
    const result = await paginator(ctx.db, schema)
      .query("kindeUsers")
      .order("asc")
      .paginate(paginationOpts);
    return { ...result, page: result.page.map(toKindeUser) };
  },
});
