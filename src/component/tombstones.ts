import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import type { EntityKind, Version } from "../shared.js";

/** The tombstone of a deleted entity, if it was deleted (and not yet pruned). */
export async function findTombstone(ctx: QueryCtx, kind: EntityKind, key: string) {
  return await ctx.db
    .query("tombstones")
    .withIndex("kind", (q) => q.eq("kind", kind).eq("key", key))
    .unique();
}

export async function isDeleted(ctx: QueryCtx, kind: EntityKind, key: string) {
  return (await findTombstone(ctx, kind, key)) !== null;
}

/**
 * Records a deletion. Invariant: an entity with a tombstone has no row (every
 * deletion removes the row with it, and nothing inserts a row for a tombstoned
 * key), so appliers look the tombstone up only when the row is missing.
 *
 * Deletion is final: while the tombstone exists no event
 * brings the entity back, whatever its time, since Kinde never reuses ids or
 * organization codes. The tombstone is kept until `expiresAt`, past which any
 * event old enough to precede the deletion is refused as expired anyway.
 * Returns false if the entity was already deleted.
 */
export async function addTombstone(
  ctx: MutationCtx,
  kind: EntityKind,
  key: string,
  version: Version,
  expiresAt: number,
): Promise<boolean> {
  if (await isDeleted(ctx, kind, key)) return false;
  await ctx.db.insert("tombstones", { kind, key, version, expiresAt });
  return true;
}
