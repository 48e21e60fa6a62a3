import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import type { EntityKind, Version } from "../shared/mirror.js";
import { isNewer } from "./ordering.js";

/** The tombstone of a deleted entity, if it was deleted (and not yet pruned). */
export async function findTombstone(ctx: QueryCtx, kind: EntityKind, entityId: string) {
  return await ctx.db
    .query("tombstones")
    .withIndex("entity", (q) => q.eq("kind", kind).eq("entityId", entityId))
    .unique();
}

export async function isDeleted(ctx: QueryCtx, kind: EntityKind, entityId: string) {
  return (await findTombstone(ctx, kind, entityId)) !== null;
}

/**
 * Whether an event of `version` about an entity must leave it alone: its row
 * holds newer state, or it was deleted. A deleted entity has no row (see
 * {@link addTombstone}), so only a missing row costs the tombstone read.
 */
export async function isStale(
  ctx: QueryCtx,
  kind: EntityKind,
  entityId: string,
  existing: { version: Version } | null,
  version: Version,
): Promise<boolean> {
  if (existing) return !isNewer(version, existing.version);
  return await isDeleted(ctx, kind, entityId);
}

/**
 * Records a deletion. Invariant: an entity with a tombstone has no row (every
 * deletion removes the row with it, and nothing inserts a row for a tombstoned
 * entity), so appliers look the tombstone up only when the row is missing.
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
  entityId: string,
  version: Version,
  expiresAt: number,
): Promise<boolean> {
  if (await isDeleted(ctx, kind, entityId)) return false;
  await ctx.db.insert("tombstones", { kind, entityId, version, expiresAt });
  return true;
}
