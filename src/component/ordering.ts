import { MAX_CLOCK_SKEW_MS } from "../shared/events.js";
import { type Version } from "../shared/mirror.js";

/**
 * Orders two versions: by event time, then by event id. Kinde delivers events
 * in no guaranteed order and retries for 36 hours, so every write compares the
 * incoming event's version with the stored one and applies only newer events.
 *
 * @returns a negative number if `a` is older than `b`, 0 if equal, positive if newer.
 */
export function compareVersions(a: Version, b: Version): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  if (a.eventId === b.eventId) return 0;
  return a.eventId < b.eventId ? -1 : 1;
}

/** Whether an event with version `incoming` should replace state written at `stored`. */
export function isNewer(incoming: Version, stored: Version | undefined): boolean {
  return stored === undefined || compareVersions(incoming, stored) > 0;
}

/**
 * The version of a row that exists but holds no synced profile yet (created by
 * a sign-in that arrived before `user.created`): every real event is newer.
 */
export const UNSYNCED: Version = { at: 0, eventId: "" };

/**
 * Whether an event dated `occurredAt` is too far ahead of `receivedAt` to
 * take part in ordering. Versions compare by time first, so an event dated
 * in the year 9999 would outrank every real event for its entity forever:
 * one clock fault in Kinde, or one bad event in a replayed archive, would
 * freeze the entity. Such an event is recorded (`future`) and not applied;
 * clamping its time instead would still let it outrank the real events of
 * the next few minutes.
 */
export function isFutureDated(occurredAt: number, receivedAt: number): boolean {
  return occurredAt > receivedAt + MAX_CLOCK_SKEW_MS;
}
