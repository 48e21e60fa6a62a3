/**
 * Kinde's role and permission catalogs: `role.*` and `permission.*` events,
 * and the reads the host app makes of them. Roles and permissions behave
 * alike, so one set of functions serves both, keyed by {@link CatalogKind}.
 */
import { v } from "convex/values";
import { withoutSystemFields } from "convex-helpers";
import { internal } from "./_generated/api.js";
import { query, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import { isNewer } from "./ordering.js";
import { addTombstone, isDeleted } from "./tombstones.js";
import {
  vPermission,
  vRole,
  type KeyRef,
  type KindePermission,
  type KindeRole,
  type PermissionSnapshot,
  type RoleSnapshot,
  type Version,
} from "../shared.js";

export type CatalogKind = "role" | "permission";

const TABLES = { role: "kindeRoles", permission: "kindePermissions" } as const;
type CatalogDoc = Doc<"kindeRoles"> | Doc<"kindePermissions">;

/**
 * The most roles (or permissions) `listRoles` / `listPermissions` return. A
 * Kinde catalog is defined by hand in the dashboard; it is far smaller.
 */
export const MAX_CATALOG_SIZE = 1000;

export async function findById(
  ctx: QueryCtx,
  kind: CatalogKind,
  kindeId: string,
): Promise<CatalogDoc | null> {
  return await ctx.db
    .query(TABLES[kind])
    .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
    .unique();
}

export async function findByKey(
  ctx: QueryCtx,
  kind: CatalogKind,
  key: string,
): Promise<CatalogDoc | null> {
  return await ctx.db
    .query(TABLES[kind])
    .withIndex("key", (q) => q.eq("key", key))
    .first();
}

/**
 * Applies `role.created` / `role.updated` or `permission.created` /
 * `permission.updated` if newer than the stored row. A changed key is then
 * rewritten into every membership that holds the role, in the background.
 */
export async function applyCatalogSnapshot(
  ctx: MutationCtx,
  kind: CatalogKind,
  version: Version,
  snapshot: RoleSnapshot | PermissionSnapshot,
): Promise<"applied" | "stale"> {
  if (await isDeleted(ctx, kind, snapshot.kindeId)) return "stale";
  const existing = await findById(ctx, kind, snapshot.kindeId);
  if (existing && !isNewer(version, existing.version)) return "stale";

  // Keys are unique in Kinde: another row holding this key is an outdated copy.
  const holder = await findByKey(ctx, kind, snapshot.key);
  if (holder && holder.kindeId !== snapshot.kindeId) await ctx.db.delete(TABLES[kind], holder._id);

  const row = { ...snapshot, version };
  if (existing) await ctx.db.replace(TABLES[kind], existing._id, row);
  else await ctx.db.insert(TABLES[kind], row);

  if (existing && existing.key !== snapshot.key) {
    await ctx.scheduler.runAfter(0, internal.cascade.refreshMembershipRefs, {
      kind,
      kindeId: snapshot.kindeId,
      key: snapshot.key,
      cursor: null,
    });
  }
  return "applied";
}

/**
 * Applies `role.deleted` / `permission.deleted`: removes the row, leaves a
 * tombstone, and removes the role from every membership in the background.
 * Permission checks ignore it at once (they consult the tombstone).
 */
export async function deleteCatalogEntry(
  ctx: MutationCtx,
  kind: CatalogKind,
  version: Version,
  kindeId: string,
  keepUntil: number,
): Promise<"applied" | "stale"> {
  if (!(await addTombstone(ctx, kind, kindeId, version, keepUntil))) return "stale";
  const existing = await findById(ctx, kind, kindeId);
  if (existing) await ctx.db.delete(TABLES[kind], existing._id);
  await ctx.scheduler.runAfter(0, internal.cascade.refreshMembershipRefs, {
    kind,
    kindeId,
    key: null,
    cursor: null,
  });
  return "applied";
}

/**
 * The current form of the distinct refs among `refs`: deleted ones are absent,
 * and the key is the catalog's where the catalog knows the id (it may have been
 * renamed since the event that carried `refs`).
 */
export async function currentRefs(
  ctx: QueryCtx,
  kind: CatalogKind,
  refs: KeyRef[],
): Promise<Map<string, KeyRef>> {
  const current = new Map<string, KeyRef>();
  const deleted = new Set<string>();
  for (const { id, key } of refs) {
    if (current.has(id) || deleted.has(id)) continue;
    if (await isDeleted(ctx, kind, id)) {
      deleted.add(id);
      continue;
    }
    const row = await findById(ctx, kind, id);
    current.set(id, { id, key: row?.key ?? key });
  }
  return current;
}

function toPublic<T extends CatalogDoc>(doc: T) {
  const { version: _, ...entry } = withoutSystemFields(doc);
  return entry;
}

export const listRoles = query({
  args: {},
  returns: v.array(vRole),
  handler: async (ctx): Promise<KindeRole[]> => {
    const rows = await ctx.db.query("kindeRoles").withIndex("key").take(MAX_CATALOG_SIZE);
    return rows.map(toPublic);
  },
});

export const listPermissions = query({
  args: {},
  returns: v.array(vPermission),
  handler: async (ctx): Promise<KindePermission[]> => {
    const rows = await ctx.db.query("kindePermissions").withIndex("key").take(MAX_CATALOG_SIZE);
    return rows.map(toPublic);
  },
});
