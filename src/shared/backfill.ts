/** The backfill's protocol between its action (in the host) and the component: pages, positions, status. */
import { v, type Infer } from "convex/values";
import {
  MAX_CATALOG_SIZE,
  profileFields,
  vKeyRef,
  vOrganizationSnapshot,
  vPermissionSnapshot,
  vRoleSnapshot,
} from "./mirror.js";

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

/**
 * What a run did with the rows Kinde listed. Each row it read lands in one
 * place: the count of its kind when the run wrote it, or `skipped` when it did
 * not. A row is counted once per run, however often Kinde lists it.
 */
export const vBackfillCounts = v.object({
  /** Roles written: the catalog now holds them as Kinde lists them, with the run's version. */
  roles: v.number(),
  permissions: v.number(),
  organizations: v.number(),
  users: v.number(),
  /** Memberships whose roles and permissions the members phase set. */
  memberships: v.number(),
  /** Of the rows written, those that were already as Kinde lists them: they ran no hook. */
  unchanged: v.number(),
  /**
   * Rows Kinde listed that the run did not write: a webhook wrote them after
   * the run started, they are deleted (tombstoned), the run had already
   * written them (Kinde listed them again), a member's user is not mirrored,
   * or the user already holds `MAX_ORGANIZATIONS_PER_USER` organizations
   * (see `skippedMemberships`). Rows Kinde listed without the fields the
   * mirror needs are not counted: the log names them.
   */
  skipped: v.number(),
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

/**
 * A running run that has made no progress for this long has stopped (crash,
 * deploy): the backfill resumes it, the doctor reports it. A run waiting for
 * Kinde is silent until its wait ends, so for it the time counts from then.
 */
export const STALLED_AFTER_MS = 3 * 60_000;

/**
 * Why and until when a run waits: Kinde asked it to (429) or kept failing
 * (5xx) for longer than an action sleeps, so the action stopped and its
 * continuation is scheduled at `resumesAt`.
 */
export const vBackfillWait = v.object({
  /** When the scheduled continuation runs, in ms since epoch. */
  resumesAt: v.number(),
  /** e.g. `Kinde rate-limited the Management API (429 on GET /api/v1/users, asked to wait 900 s)`. */
  reason: v.string(),
  /** The request that waits and the tries it has spent: its retry limits count them after the wait. */
  tries: v.object({ request: v.string(), failures: v.number(), rateLimited: v.number() }),
});
export type BackfillWait = Infer<typeof vBackfillWait>;

/** At most this many organizations or users are listed in each list of a run's status; its `count` has them all. */
export const MAX_LISTED_IN_STATUS = 50;

/**
 * Organizations the mirror has but Kinde no longer lists members for (deleted
 * in Kinde): their members were skipped, and a `reconcile` run removes them.
 */
export const vVanishedOrganizations = v.object({
  count: v.number(),
  /** The first {@link MAX_LISTED_IN_STATUS}. */
  orgCodes: v.array(v.string()),
});
export type VanishedOrganizations = Infer<typeof vVanishedOrganizations>;

/**
 * Memberships Kinde lists that the mirror does not hold because their user
 * already holds `MAX_ORGANIZATIONS_PER_USER` organizations, the most a
 * webhook snapshot may carry: past it a user's `user.updated` and
 * `user.deleted` would no longer fit one mutation.
 */
export const vSkippedMemberships = v.object({
  /** Memberships skipped, all users together. */
  count: v.number(),
  /** The first {@link MAX_LISTED_IN_STATUS} users, each with how many of their memberships were skipped. */
  users: v.array(v.object({ kindeId: v.string(), count: v.number() })),
});
export type SkippedMemberships = Infer<typeof vSkippedMemberships>;

/**
 * A backfill run's state: what the component stores of a run and
 * `getBackfillStatus` reports (with the run's id).
 */
export const backfillRunFields = {
  status: v.union(v.literal("running"), v.literal("done"), v.literal("failed")),
  phase: vBackfillPhase,
  /**
   * Kinde's `next_token` within the phase; in `rolePermissions` the last role
   * whose permissions were read; in `reconcile` the component's own position.
   */
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
  skippedMemberships: v.optional(vSkippedMemberships),
  /** Set while the run waits for Kinde, and cleared when its continuation starts. */
  waiting: v.optional(vBackfillWait),
  startedAt: v.number(),
  /**
   * When the run last made progress. A running run silent for minutes (past
   * the end of its wait, if it waits) has stopped and resumes on the next start.
   */
  heartbeatAt: v.number(),
  finishedAt: v.optional(v.number()),
  pages: v.number(),
  counts: vBackfillCounts,
  lastError: v.optional(v.string()),
};

/** The state of the latest backfill run, as `getBackfillStatus` reports it. */
export const vBackfillStatus = v.object({ runId: v.string(), ...backfillRunFields });
export type BackfillStatus = Infer<typeof vBackfillStatus>;

/**
 * Whether a running run has stopped: no progress for {@link STALLED_AFTER_MS},
 * counted from the end of its wait when it waits for Kinde.
 */
export function isStalled(
  run: Pick<BackfillStatus, "status" | "heartbeatAt" | "waiting">,
  now: number,
): boolean {
  if (run.status !== "running") return false;
  return now - Math.max(run.heartbeatAt, run.waiting?.resumesAt ?? 0) >= STALLED_AFTER_MS;
}

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
 * The most permissions of one role a run reads and stores: as many as the
 * catalog holds at most, so no role can grant more than the mirror knows.
 */
export const MAX_PERMISSIONS_PER_ROLE = MAX_CATALOG_SIZE;

/**
 * One page of a backfill, written in one mutation together with the run's
 * next position, so a crash resumes exactly after the last written page.
 */
export const vBackfillPage = v.union(
  v.object({ kind: v.literal("roles"), items: v.array(vRoleSnapshot) }),
  v.object({
    kind: v.literal("rolePermissions"),
    roleId: v.string(),
    /** At most {@link MAX_PERMISSIONS_PER_ROLE}. */
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
    /**
     * Roles read again from Kinde for member role keys the catalog did not
     * know (a role renamed since the run read the roles): their ids, so the
     * members get the permissions those roles grant.
     */
    roles: v.optional(v.array(vKeyRef)),
    /**
     * Write members whose role keys no role holds, by key alone (no id, so no
     * permissions and no later rename reaches them), instead of answering
     * `unknownRoleKeys`. Only for a page read again several times with the
     * roles read after it each time still lacking the keys: Kinde lists a
     * member with a role it does not list.
     */
    keepUnknownRoleKeys: v.optional(v.literal(true)),
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
