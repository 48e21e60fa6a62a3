/** How long the component remembers events and deletions. */

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
