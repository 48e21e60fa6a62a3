/**
 * What applying one snapshot or deletion did, as the appliers report it: the
 * row was stale (nothing written), or it was applied, with the change the
 * host's hooks hear of when what the host reads of the row changed.
 */
import { withoutSystemFields } from "convex-helpers";
import type { Version } from "../shared/mirror.js";
import type { MirrorChange } from "../shared/mirrorEvents.js";

export type ApplyResult =
  { outcome: "stale" } | { outcome: "applied"; change: MirrorChange | null };

export const STALE: ApplyResult = { outcome: "stale" };

export function applied(change: MirrorChange | null): ApplyResult {
  return { outcome: "applied", change };
}

/**
 * `created` when there was no row, `updated` (made from what the host read
 * before) when the public shape changed, and no change at all when a newer
 * event rewrote the row to what it already said (only its version moved):
 * hooks hear of what the host can see.
 */
export function upsertChange<S, C extends { type: string }, U extends { type: string }>(
  before: S | null | undefined,
  after: S,
  created: C,
  updated: (previous: S) => U,
): C | U | null {
  if (before === null || before === undefined) return created;
  return updateChange(before, after, updated);
}

/**
 * `updated` (made from `before`, the shape the host read until now) when the
 * public shape changed, else no change: an update hook can diff the two.
 */
export function updateChange<S, U extends { type: string }>(
  before: S,
  after: S,
  updated: (previous: S) => U,
): U | null {
  return samePublicShape(before, after) ? null : updated(before);
}

/** Deep equality of plain data, with `undefined` properties counting as absent. */
export function samePublicShape(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => samePublicShape(item, b[i]));
  }
  const present = (o: object) => Object.entries(o).filter(([, value]) => value !== undefined);
  const left = present(a);
  const right = new Map(present(b));
  return (
    left.length === right.size &&
    left.every(([key, value]) => right.has(key) && samePublicShape(value, right.get(key)))
  );
}

/** What the host reads of a mirrored row: the row without Convex's system fields or its version. */
export function toPublicShape<T extends { version: Version }>(doc: T) {
  const { version: _, ...row } = withoutSystemFields(doc);
  return row;
}
