/**
 * The transaction budget of backfill mutations: Convex's per-transaction
 * limits, what one row of a page can cost against them, and whether the next
 * row still fits. Pure, so the action (which pre-splits pages) and the
 * component (which measures and stops early) share one definition.
 */
import type { BackfillRow, BackfillRowsPage } from "../shared/backfill.js";

/** Convex's per-transaction limits that a backfill mutation can approach. */
export const TRANSACTION_LIMITS = {
  /** Index ranges read: every `withIndex(...)` query is one. */
  databaseQueries: 4096,
  documentsRead: 32_000,
  documentsWritten: 16_000,
  bytesRead: 16 * 1024 * 1024,
  bytesWritten: 16 * 1024 * 1024,
  functionsScheduled: 1000,
};

export type TransactionCost = Record<keyof typeof TRANSACTION_LIMITS, number>;
export const COST_KEYS = Object.keys(TRANSACTION_LIMITS) as (keyof TransactionCost)[];

/**
 * The share of each limit a backfill mutation may use. Half, so a row far
 * costlier than the ones measured before it (a power user, a hook that writes
 * a lot) still lands within the limit itself.
 */
export const BUDGET_SHARE = 0.5;

/** The shape `ctx.meta.getTransactionMetrics()` returns, for the limits above. */
export type MeasuredMetrics = Record<keyof TransactionCost, { used: number; remaining: number }>;

const ZERO: TransactionCost = {
  databaseQueries: 0,
  documentsRead: 0,
  documentsWritten: 0,
  bytesRead: 0,
  bytesWritten: 0,
  functionsScheduled: 0,
};

function costOf(f: (key: keyof TransactionCost) => number): TransactionCost {
  return Object.fromEntries(COST_KEYS.map((key) => [key, f(key)])) as TransactionCost;
}

export const usedOf = (m: MeasuredMetrics) => costOf((key) => m[key].used);
/** The limits in force: the deployment's own, which tests may tighten. */
export const limitsOf = (m: MeasuredMetrics) => costOf((key) => m[key].used + m[key].remaining);
export const largerOf = (a: TransactionCost, b: TransactionCost) =>
  costOf((key) => Math.max(a[key], b[key]));
export const difference = (after: TransactionCost, before: TransactionCost) =>
  costOf((key) => after[key] - before[key]);

/** Each limit's share used, 0..1 (and beyond, for a transaction that went over). */
export function sharesOf(used: TransactionCost, limits: TransactionCost): TransactionCost {
  return costOf((key) => (limits[key] > 0 ? used[key] / limits[key] : 0));
}

/** Whether `next` more, on top of `used`, keeps every limit within the budget share. */
export function fitsBudget(
  used: TransactionCost,
  next: TransactionCost,
  limits: TransactionCost = TRANSACTION_LIMITS,
  share = BUDGET_SHARE,
): boolean {
  return COST_KEYS.every((key) => used[key] + next[key] <= limits[key] * share);
}

/** What a backfill row is, as far as its cost goes. */
export type CostedRow =
  | { kind: "catalog" }
  | { kind: "organization" }
  | { kind: "user"; organizations: number }
  | { kind: "member"; roles: number; permissions: number }
  | { kind: "reconcileUser"; organizations: number }
  | { kind: "reconcileOrganization" }
  /** One user's enrichment, `bytes` its size as fetched. */
  | { kind: "enrichUser"; bytes: number };

/** Bytes a mirrored user's row and one membership take at most in practice, for the first-row estimate. */
const USER_BYTES = 2048;
const MEMBERSHIP_BYTES = 1024;
const CATALOG_BYTES = 2048;
/**
 * The most catalog rows that may claim one key at once, all read by a key
 * look-up (catalog.ts): more would need more out-of-order renames than Kinde
 * makes. Here so the backfill's cost of a look-up counts them.
 */
export const MAX_KEY_CLAIMS = 16;

/**
 * What applying one row costs at most, before any hook, judged from the row
 * alone and a mirror in its usual state. What only the mirror's state shows
 * (memberships a user lost since, the permissions a role grants, a key
 * briefly claimed by several catalog rows) the component measures instead:
 * it also tracks the costliest row it has applied so far.
 */
export function rowCost(row: CostedRow): TransactionCost {
  switch (row.kind) {
    case "catalog":
      // By id, tombstone, the key's claim, the unsettled record (noted once),
      // and the cascade a changed key schedules.
      return {
        databaseQueries: 5,
        documentsRead: 4,
        documentsWritten: 2,
        bytesRead: 4 * CATALOG_BYTES,
        bytesWritten: 2 * CATALOG_BYTES,
        functionsScheduled: 1,
      };
    case "organization":
      // The backfill's own look-up, the applier's, its tombstone and the count shard.
      return {
        ...ZERO,
        databaseQueries: 4,
        documentsRead: 3,
        documentsWritten: 2,
        bytesRead: 3 * CATALOG_BYTES,
        bytesWritten: 2 * CATALOG_BYTES,
      };
    case "user": {
      // The user, its tombstone and the count shard; per organization its
      // tombstone and the membership row.
      const n = row.organizations;
      return {
        ...ZERO,
        databaseQueries: 3 + 2 * n,
        documentsRead: 3 + n,
        documentsWritten: 2 + n,
        bytesRead: USER_BYTES + MEMBERSHIP_BYTES * 2 * n,
        bytesWritten: USER_BYTES + MEMBERSHIP_BYTES * 2 * n,
      };
    }
    case "member": {
      // The user and the membership row; each role resolved by key and
      // brought up to date (tombstone, row, unsettled record), once per
      // mutation, so this bounds the first member holding the role. Permissions
      // read with `exactPermissions` are brought up to date likewise; those a
      // role grants are the mirror's to show, and measured.
      const n = row.roles;
      const p = row.permissions;
      return {
        ...ZERO,
        databaseQueries: 2 + (1 + 3) * n + 3 * p,
        documentsRead: 2 + (MAX_KEY_CLAIMS + 3) * n + 3 * p,
        documentsWritten: 2 + n + p,
        bytesRead:
          USER_BYTES + MEMBERSHIP_BYTES + CATALOG_BYTES * ((MAX_KEY_CLAIMS + 3) * n + 3 * p),
        bytesWritten: USER_BYTES + MEMBERSHIP_BYTES,
      };
    }
    case "reconcileUser": {
      // Tombstone, user, count shard; each membership row.
      const n = row.organizations;
      return {
        ...ZERO,
        databaseQueries: 3 + n,
        documentsRead: 3 + n,
        documentsWritten: 3 + n,
        bytesRead: USER_BYTES + MEMBERSHIP_BYTES * n,
        bytesWritten: USER_BYTES,
      };
    }
    case "enrichUser":
      // The user, then the user with what the fetch read.
      return {
        ...ZERO,
        databaseQueries: 1,
        documentsRead: 1,
        documentsWritten: 1,
        bytesRead: USER_BYTES,
        bytesWritten: USER_BYTES + row.bytes,
      };
    case "reconcileOrganization":
      return {
        ...ZERO,
        databaseQueries: 3,
        documentsRead: 3,
        documentsWritten: 3,
        bytesRead: 2 * CATALOG_BYTES,
        bytesWritten: CATALOG_BYTES,
        functionsScheduled: 1,
      };
  }
}

/** {@link rowCost} of one row of a backfill page. */
export function pageRowCost(kind: BackfillRowsPage["kind"], row: BackfillRow): TransactionCost {
  switch (kind) {
    case "roles":
    case "permissions":
      return rowCost({ kind: "catalog" });
    case "organizations":
      return rowCost({ kind: "organization" });
    case "users":
      return rowCost({ kind: "user", organizations: "orgCodes" in row ? row.orgCodes.length : 0 });
    case "members":
      return "roleKeys" in row
        ? rowCost({
            kind: "member",
            roles: row.roleKeys.length,
            permissions: row.permissions?.length ?? 0,
          })
        : rowCost({ kind: "member", roles: 0, permissions: 0 });
  }
}

/**
 * Splits rows into runs whose summed {@link rowCost} fits the budget, so a
 * page costs about as many mutations as its work needs. Every run holds at
 * least one row: a row too costly alone is the component's to refuse.
 */
export function chunkByCost<T>(rows: T[], costOfRow: (row: T) => TransactionCost): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let used = ZERO;
  for (const row of rows) {
    const cost = costOfRow(row);
    if (current.length > 0 && !fitsBudget(used, cost)) {
      chunks.push(current);
      current = [];
      used = ZERO;
    }
    current.push(row);
    used = costOf((key) => used[key] + cost[key]);
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

export { ZERO as NO_COST };
