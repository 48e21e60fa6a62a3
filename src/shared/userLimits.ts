/**
 * How much of Kinde one user may bring into the mirror: the limits that keep a
 * user's snapshot within one mutation and its document far below 1 MiB.
 * `userLimitProblem` (mirror.ts) applies them to a snapshot; the backfill and
 * the component read them from here too. A module of their own, so a test can
 * lower them for every module at once (test/backfillLimits.test.ts).
 */

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
