/**
 * Validators and types that both sides of the component boundary use: the
 * client (which verifies and normalises Kinde's webhooks in the host) and the
 * component (which applies them). Validators are prefixed `v`.
 */
import { v, type Infer, type PropertyValidators, type Validator, type VUnion } from "convex/values";

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
const profileFields = {
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

/** Fields every normalised event carries, taken from Kinde's signed envelope. */
const eventFields = {
  /** Kinde's signed `event_id`: the dedupe key. */
  eventId: v.string(),
  /** Who caused the event in Kinde (`admin`, `api`, `user`), when Kinde says. */
  source: v.optional(v.string()),
  /** `event_timestamp ?? timestamp`, in ms since epoch (fractional). */
  occurredAt: v.number(),
};

/**
 * Objects of any of `types` with `fields`. Types that carry the same data
 * share one union member, which keeps the validators small: Convex checks
 * them on every call (and convex-test re-derives them each time).
 */
const ofTypes = <T extends string, F extends PropertyValidators>(types: [T, ...T[]], fields: F) =>
  v.object({
    type: types.length === 1 ? v.literal(types[0]) : v.union(...types.map((t) => v.literal(t))),
    ...fields,
  });

/** Kinde events of any of `types` whose data is `fields`. */
const events = <T extends string, F extends PropertyValidators>(types: [T, ...T[]], fields: F) =>
  ofTypes(types, { ...eventFields, ...fields });

/** Splits union members whose `type` is a union into one member per type. */
type OneMemberPerType<E> = E extends { type: infer T }
  ? T extends unknown
    ? { [K in keyof E]: K extends "type" ? T : E[K] }
    : never
  : never;

/**
 * `validator`, typed one member per event type, so that `Extract` and
 * `switch (event.type)` narrow to a single event. The values it accepts do
 * not change: a member whose `type` is a union is exactly the union of one
 * member per type.
 */
const oneMemberPerType = <V extends VUnion<unknown, Validator<unknown, "required", string>[]>>(
  validator: V,
) =>
  validator as unknown as VUnion<
    OneMemberPerType<V["type"]>,
    V["members"],
    "required",
    V["fieldPaths"]
  >;

/** `user.*`: the component applies them with `webhooks.applyUserEvent`. */
export const vUserEvent = oneMemberPerType(
  v.union(
    events(["user.created", "user.updated"], { user: vUserSnapshot }),
    events(["user.deleted", "user.authenticated"], { kindeId: v.string() }),
  ),
);

/** `organization.*`: applied with `webhooks.applyOrganizationEvent`. */
export const vOrganizationEvent = oneMemberPerType(
  v.union(
    events(["organization.created", "organization.updated"], {
      organization: vOrganizationSnapshot,
    }),
    events(["organization.deleted"], { orgCode: v.string() }),
  ),
);

/** `role.*`: applied with `webhooks.applyRoleEvent`. */
export const vRoleEvent = oneMemberPerType(
  v.union(
    events(["role.created", "role.updated"], { role: vRoleSnapshot }),
    events(["role.deleted"], { kindeId: v.string() }),
  ),
);

/** `permission.*`: applied with `webhooks.applyPermissionEvent`. */
export const vPermissionEvent = oneMemberPerType(
  v.union(
    events(["permission.created", "permission.updated"], { permission: vPermissionSnapshot }),
    events(["permission.deleted"], { kindeId: v.string() }),
  ),
);

/** Any other Kinde event type: recorded with `webhooks.recordUnhandledEvent`. */
export const vUnhandledEvent = events(["unhandled"], { kindeType: v.string() });

/**
 * A verified Kinde event, normalised for the component and for the host's
 * event hooks: discriminated by `type`, camelCase, empty values absent.
 * Event types the component does not mirror arrive as
 * `{ type: "unhandled", kindeType }`, so they are still deduplicated and
 * recorded, but carry no data.
 */
export const vKindeEvent = oneMemberPerType(
  v.union(
    ...vUserEvent.members,
    ...vOrganizationEvent.members,
    ...vRoleEvent.members,
    ...vPermissionEvent.members,
    vUnhandledEvent,
  ),
);
export type KindeEvent = Infer<typeof vKindeEvent>;

/**
 * What the component did with a verified event.
 * - `applied`: the mirror changed.
 * - `duplicate`: this `event_id` was seen before; nothing was written.
 * - `stale`: the mirror already holds newer state (or the entity was deleted);
 *   only the event record was written.
 * - `expired`: the event happened before the retention window, so the
 *   component no longer remembers enough to apply it safely (a replay of an
 *   old token, or a delivery days late); only the event record was written.
 * - `ignored`: an event type the component does not mirror; recorded only.
 * - `future`: dated later than its arrival by more than the allowed clock
 *   skew (`MAX_CLOCK_SKEW_MS`); not applied, so it cannot outrank the real
 *   events that follow it. Only the event record was written.
 * - `failed`: it could not be applied for a reason no retry changes (a Convex
 *   limit, a value Convex cannot store); nothing of it was written but the
 *   event record, which carries the `error`.
 */
const recordedOutcomes = [
  v.literal("applied"),
  v.literal("stale"),
  v.literal("expired"),
  v.literal("ignored"),
  v.literal("future"),
  v.literal("failed"),
] as const;
export const vOutcome = v.union(...recordedOutcomes, v.literal("duplicate"));
export type Outcome = Infer<typeof vOutcome>;
/** The outcomes the event log records: a duplicate is not recorded a second time. */
export const vRecordedOutcome = v.union(...recordedOutcomes);
export type RecordedOutcome = Infer<typeof vRecordedOutcome>;

/** Recorded outcomes of events the mirror holds but did not apply: what an app alerts on. */
export const UNAPPLIED_OUTCOMES = ["future", "failed"] as const satisfies RecordedOutcome[];

/**
 * How far in the future an event may be dated, relative to when the
 * component receives it, and still be applied: Kinde's and Convex's clocks
 * may differ by this much. A later date is a clock fault (or a forged
 * archive replay), and applying it would make every real event for the
 * entity `stale` until that date.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * How the component marks an error thrown by the host's event hook, so the
 * webhook answers it with a retryable 500 whatever the hook's message says.
 */
export const HOOK_FAILURE = "the host's event hook threw: ";

/** The longest `error` an event record keeps: enough to name the limit, never large enough to fail itself. */
export const MAX_RECORDED_ERROR_LENGTH = 1000;

/** An organization membership as the host app reads it: role and permission keys. */
export const vOrganizationMembership = v.object({
  orgCode: v.string(),
  roles: v.array(v.string()),
  permissions: v.array(v.string()),
});
export type OrganizationMembership = Infer<typeof vOrganizationMembership>;

/** A mirrored Kinde user, as the host app reads it. */
export const vUser = v.object({
  ...profileFields,
  isPasswordResetRequested: v.boolean(),
  /** When Kinde last reported a sign-in (`user.authenticated`), ms since epoch. */
  lastSignedInAt: v.optional(v.number()),
  organizations: v.array(vOrganizationMembership),
});
export type KindeUser = Infer<typeof vUser>;

/** A mirrored organization, as the host app reads it. */
export const vOrganization = vOrganizationSnapshot;
export type KindeOrganization = OrganizationSnapshot;

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
});
export type OrganizationMember = Infer<typeof vOrganizationMember>;

/**
 * Where a change to the mirror came from: a verified webhook event (its
 * signed id, Kinde's type for it, who caused it and when), or a backfill run.
 */
export const vChangeOrigin = v.union(
  v.object({
    kind: v.literal("webhook"),
    eventId: v.string(),
    /** Kinde's event type; a `user.updated` that arrives before its `user.created` creates the user. */
    kindeType: v.string(),
    source: v.optional(v.string()),
    /** When it happened in Kinde, ms since epoch. */
    occurredAt: v.number(),
  }),
  v.object({ kind: v.literal("backfill"), runId: v.string() }),
);
export type ChangeOrigin = Infer<typeof vChangeOrigin>;

const changes = <T extends string, F extends PropertyValidators>(types: [T, ...T[]], fields: F) =>
  ofTypes(types, { ...fields, origin: vChangeOrigin });

/**
 * A change the component made to the mirror: what the host's event hooks
 * receive, in the shapes the host reads. `type` says what happened to the
 * mirrored row: `*.created` when it first appears, `*.updated` when what the
 * host reads of it changed, `*.deleted` when it is removed, and
 * `user.authenticated` when a known user's `lastSignedInAt` moved. So a host
 * that inserts on `created`, updates on `updated` and deletes on `deleted`
 * keeps exactly one row per mirrored entity, in whatever order Kinde's events
 * arrive and whether they came by webhook or backfill.
 */
export const vMirrorEvent = oneMemberPerType(
  v.union(
    changes(["user.created", "user.updated", "user.authenticated"], { user: vUser }),
    changes(["user.deleted"], { kindeId: v.string() }),
    changes(["organization.created", "organization.updated"], { organization: vOrganization }),
    changes(["organization.deleted"], { orgCode: v.string() }),
    changes(["role.created", "role.updated"], { role: vRole }),
    changes(["role.deleted"], { kindeId: v.string() }),
    changes(["permission.created", "permission.updated"], { permission: vPermission }),
    changes(["permission.deleted"], { kindeId: v.string() }),
  ),
);
export type MirrorEvent = Infer<typeof vMirrorEvent>;
/** The types of change the host's event hooks can handle. */
export type MirrorEventType = MirrorEvent["type"];
/** A change before its origin is attached: what the component's appliers report. */
export type MirrorChange = MirrorEvent extends infer E
  ? E extends MirrorEvent
    ? Omit<E, "origin">
    : never
  : never;

/** The kinds of entity the mirror holds; tombstones and the event log name them so. */
export const vEntityKind = v.union(
  v.literal("user"),
  v.literal("organization"),
  v.literal("role"),
  v.literal("permission"),
);
export type EntityKind = Infer<typeof vEntityKind>;

/** The mirrored entity an event is about, as the event log records it. */
export function entityOf(event: KindeEvent): { entityKind?: EntityKind; entityId?: string } {
  const entity = (entityKind: EntityKind, entityId: string) => ({ entityKind, entityId });
  switch (event.type) {
    case "user.created":
    case "user.updated":
      return entity("user", event.user.kindeId);
    case "user.deleted":
    case "user.authenticated":
      return entity("user", event.kindeId);
    case "organization.created":
    case "organization.updated":
      return entity("organization", event.organization.code);
    case "organization.deleted":
      return entity("organization", event.orgCode);
    case "role.created":
    case "role.updated":
      return entity("role", event.role.kindeId);
    case "role.deleted":
      return entity("role", event.kindeId);
    case "permission.created":
    case "permission.updated":
      return entity("permission", event.permission.kindeId);
    case "permission.deleted":
      return entity("permission", event.kindeId);
    case "unhandled":
      return {};
  }
}

/** What the event log records of one verified event. */
export const vEventRecord = v.object({
  eventId: v.string(),
  /** Kinde's event type, e.g. `user.updated` (also for types the component ignores). */
  type: v.string(),
  source: v.optional(v.string()),
  /** When it happened in Kinde, ms since epoch. */
  occurredAt: v.number(),
  /** When the webhook received it, ms since epoch. */
  receivedAt: v.number(),
  outcome: vRecordedOutcome,
  /** Why a `failed` event could not be applied (bounded; the limit Convex reported). */
  error: v.optional(v.string()),
  /** The entity it is about: its kind and id (a Kinde id, or an organization's code). */
  entityKind: v.optional(vEntityKind),
  entityId: v.optional(v.string()),
  /** Kinde's `webhook-id` header of the delivery, for matching Kinde's delivery logs. */
  webhookId: v.optional(v.string()),
});
export type EventRecord = Infer<typeof vEventRecord>;

/** A cheap summary of the mirror's state. */
export const vSyncStatus = v.object({
  lastEvent: v.union(vEventRecord, v.null()),
  users: v.number(),
  organizations: v.number(),
  /** Verified events recorded `failed` or `future` (not applied) since the component was installed. */
  unappliedEvents: v.number(),
  /** The latest of them still in the event log (within retention), or null. */
  lastUnappliedEvent: v.union(vEventRecord, v.null()),
});
export type SyncStatus = Infer<typeof vSyncStatus>;

/**
 * The phases of a backfill, in order. `rolePermissions` reads each role's
 * permissions, so backfilled memberships can carry the permissions their
 * roles grant; `reconcile` runs only when asked for.
 */
export const BACKFILL_PHASES = [
  "roles",
  "rolePermissions",
  "permissions",
  "organizations",
  "users",
  "memberships",
  "reconcile",
  "done",
] as const;
export const vBackfillPhase = v.union(...BACKFILL_PHASES.map((phase) => v.literal(phase)));
export type BackfillPhase = (typeof BACKFILL_PHASES)[number];

export const vBackfillCounts = v.object({
  roles: v.number(),
  permissions: v.number(),
  organizations: v.number(),
  users: v.number(),
  memberships: v.number(),
  /** Users and organizations removed by reconciliation. */
  removed: v.number(),
});
export type BackfillCounts = Infer<typeof vBackfillCounts>;

/**
 * How far a run has paged one listing, to notice a `next_token` that loops
 * back to an earlier one: the pages read so far, the token received at the
 * last power-of-two page and the latest few tokens (see `followPaging` in
 * src/client/backfill.ts).
 */
export const vPagingState = v.object({
  pages: v.number(),
  checkpoint: v.string(),
  recent: v.array(v.string()),
});
export type PagingState = Infer<typeof vPagingState>;

/** At most this many vanished organization codes are listed in a run's status; `count` has them all. */
export const MAX_VANISHED_LISTED = 50;

/**
 * Organizations the mirror has but Kinde no longer lists members for (deleted
 * in Kinde): their members were skipped, and a `reconcile` run removes them.
 */
export const vVanishedOrganizations = v.object({
  count: v.number(),
  /** The first {@link MAX_VANISHED_LISTED}. */
  orgCodes: v.array(v.string()),
});
export type VanishedOrganizations = Infer<typeof vVanishedOrganizations>;

/** The state of the latest backfill run, as `getBackfillStatus` reports it. */
export const vBackfillStatus = v.object({
  runId: v.string(),
  status: v.union(v.literal("running"), v.literal("done"), v.literal("failed")),
  phase: vBackfillPhase,
  /** Kinde's `next_token` within the phase, and the organization being read in `memberships`. */
  cursor: v.optional(v.string()),
  /** The loop check of the listing `cursor` belongs to. */
  paging: v.optional(vPagingState),
  orgCode: v.optional(v.string()),
  /**
   * The last row written of the page at this position, when the page took
   * more than one mutation: a resumed run continues after it.
   */
  resumeAfter: v.optional(v.string()),
  reconcile: v.boolean(),
  /** Whether each member's permissions are read from Kinde instead of expanded from their roles. */
  exactPermissions: v.optional(v.boolean()),
  vanished: v.optional(vVanishedOrganizations),
  startedAt: v.number(),
  /** When the run last made progress. A running run silent for minutes has stopped and resumes on the next start. */
  heartbeatAt: v.number(),
  finishedAt: v.optional(v.number()),
  pages: v.number(),
  counts: vBackfillCounts,
  lastError: v.optional(v.string()),
});
export type BackfillStatus = Infer<typeof vBackfillStatus>;

/**
 * The largest share of each of Convex's per-transaction limits that backfill
 * mutations used (0..1): index ranges, documents and bytes read and written,
 * functions scheduled.
 */
export const vTransactionShares = v.object({
  databaseQueries: v.number(),
  documentsRead: v.number(),
  documentsWritten: v.number(),
  bytesRead: v.number(),
  bytesWritten: v.number(),
  functionsScheduled: v.number(),
});
export type TransactionShares = Infer<typeof vTransactionShares>;

/** A user as the Management API lists it, normalised (no roles: those come per organization). */
export const vBackfillUser = v.object({ ...profileFields, orgCodes: v.array(v.string()) });
export type BackfillUser = Infer<typeof vBackfillUser>;

/**
 * One member of an organization as the Management API lists it: role keys
 * only, plus, in an `exactPermissions` run, the permissions Kinde says the
 * member holds there (granted directly or through a role).
 */
export const vBackfillMember = v.object({
  kindeId: v.string(),
  roleKeys: v.array(v.string()),
  permissions: v.optional(v.array(vKeyRef)),
});
export type BackfillMember = Infer<typeof vBackfillMember>;

/**
 * One page of a backfill, written in one mutation together with the run's
 * next position, so a crash resumes exactly after the last written page.
 */
export const vBackfillPage = v.union(
  v.object({ kind: v.literal("roles"), items: v.array(vRoleSnapshot) }),
  v.object({
    kind: v.literal("rolePermissions"),
    roleId: v.string(),
    permissions: v.array(vKeyRef),
  }),
  v.object({ kind: v.literal("permissions"), items: v.array(vPermissionSnapshot) }),
  v.object({ kind: v.literal("organizations"), items: v.array(vOrganizationSnapshot) }),
  v.object({ kind: v.literal("users"), items: v.array(vBackfillUser) }),
  v.object({
    kind: v.literal("members"),
    orgCode: v.string(),
    items: v.array(vBackfillMember),
    /** Kinde no longer has the organization: note it in the run's status. */
    vanished: v.optional(v.literal(true)),
  }),
);
export type BackfillPage = Infer<typeof vBackfillPage>;
/** A page of rows, each written by itself (not `rolePermissions`, which is one role's list). */
export type BackfillRowsPage = Exclude<BackfillPage, { kind: "rolePermissions" }>;
export type BackfillRow = BackfillRowsPage["items"][number];

/** What identifies a backfill row: an organization's code, anything else's Kinde id. */
export function backfillRowId(row: BackfillRow): string {
  return "code" in row ? row.code : row.kindeId;
}

/** Where a run continues: its phase, Kinde's `next_token` in it, and for memberships the organization. */
export const vBackfillPosition = v.object({
  phase: vBackfillPhase,
  cursor: v.optional(v.string()),
  paging: v.optional(vPagingState),
  orgCode: v.optional(v.string()),
});
export type BackfillPosition = Infer<typeof vBackfillPosition>;

/**
 * How long the component remembers events and deletions by default: event
 * records (the dedupe window) and tombstones. Longer than Kinde's 36 h of
 * retries plus the 72 h after which it disables a failing endpoint. Events
 * that happened before the window are acknowledged but not applied.
 */
export const DEFAULT_RETENTION_DAYS = 7;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Records and tombstones are kept this much longer than the retention window,
 * so a clock difference between Kinde and Convex cannot open a gap in which a
 * replay is neither expired nor remembered.
 */
const RETENTION_MARGIN_MS = DAY_MS;

/** The retention window in ms: events that happened longer ago are `expired`. */
export function retentionWindowMs(retentionDays: number | undefined): number {
  return (retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS;
}

/** When a record or tombstone written at `now` may be pruned: the window plus the margin. */
export function expiresAtFor(now: number, retentionDays: number | undefined): number {
  return now + retentionWindowMs(retentionDays) + RETENTION_MARGIN_MS;
}

/**
 * The most organizations one user may belong to in the mirror. It keeps every
 * `user.updated` within Convex's per-mutation limits (one membership row per
 * organization is written at most twice) and the user document far below 1 MiB.
 */
export const MAX_ORGANIZATIONS_PER_USER = 1000;

/**
 * The most distinct roles plus permissions one user's snapshot may hold across
 * its organizations. Each costs the applying mutation up to three index
 * look-ups and each organization up to three: with both at their maximum
 * (1,000 organizations replaced by 1,000 others) a snapshot stays within
 * Convex's 4,096 index ranges per transaction. Real tenants define tens.
 */
export const MAX_ROLES_AND_PERMISSIONS_PER_USER = 300;
