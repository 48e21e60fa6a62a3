/**
 * Kinde's role and permission catalogs: `role.*` and `permission.*` events,
 * and the reads the host app makes of them. Roles and permissions behave
 * alike, so one set of functions serves both, keyed by {@link CatalogKind}.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api.js";
import { query, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import { compareVersions, isNewer } from "./ordering.js";
import { MAX_KEY_CLAIMS } from "./budget.js";
import { addTombstone, isDeleted, isStale } from "./tombstones.js";
import { applied, STALE, toPublicShape, upsertChange, type ApplyResult } from "./changes.js";
import {
  MAX_CATALOG_SIZE,
  vPermission,
  vRole,
  type KeyRef,
  type KindePermission,
  type KindeRole,
  type PermissionSnapshot,
  type RoleSnapshot,
  type Version,
} from "../shared/mirror.js";

export type CatalogKind = "role" | "permission";

const TABLES = { role: "kindeRoles", permission: "kindePermissions" } as const;
type CatalogDoc = Doc<"kindeRoles"> | Doc<"kindePermissions">;

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

/**
 * The entry that holds `key` now. Keys are unique in Kinde at any moment, but
 * events arrive out of order, so two rows may briefly claim one key (a key
 * freed by a delete or rename and taken by another role): the newest claim wins.
 */
export async function findByKey(
  ctx: QueryCtx,
  kind: CatalogKind,
  key: string,
): Promise<CatalogDoc | null> {
  const claims = await keyClaims(ctx, kind, key);
  return claims.reduce<CatalogDoc | null>(
    (newest, row) => (!newest || compareVersions(row.version, newest.version) > 0 ? row : newest),
    null,
  );
}

/** Rows claiming `key`: one in a settled mirror, a few while out-of-order events settle. */
async function keyClaims(ctx: QueryCtx, kind: CatalogKind, key: string) {
  return await ctx.db
    .query(TABLES[kind])
    .withIndex("key", (q) => q.eq("key", key))
    .take(MAX_KEY_CLAIMS);
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
): Promise<ApplyResult> {
  const existing = await findById(ctx, kind, snapshot.kindeId);
  if (await isStale(ctx, kind, snapshot.kindeId, existing, version)) return STALE;

  // Keys are unique in Kinde: another entry claiming this key with an older
  // version is an outdated copy (its key was freed since); a newer claim stays.
  // Its own later event (a rename or delete, not yet arrived) will bring it back
  // as first seen, which brings memberships to its new key.
  for (const claim of await keyClaims(ctx, kind, snapshot.key)) {
    if (claim.kindeId !== snapshot.kindeId && !isNewer(claim.version, version)) {
      await ctx.db.delete(TABLES[kind], claim._id);
      await noteUnsettled(ctx, kind, claim.kindeId);
    }
  }

  const row = { ...snapshot, version };
  if (existing) await ctx.db.replace(TABLES[kind], existing._id, row);
  else await ctx.db.insert(TABLES[kind], row);

  // Memberships may hold this entry under another key: a rename, or a key
  // taken from a user snapshot the catalog could not confirm (see unsettledRefs).
  const unsettled = await takeUnsettled(ctx, kind, snapshot.kindeId);
  if ((existing && existing.key !== snapshot.key) || unsettled) {
    await ctx.scheduler.runAfter(0, internal.cascade.refreshMembershipRefs, {
      kind,
      kindeId: snapshot.kindeId,
      key: snapshot.key,
      version,
      cursor: null,
    });
  }
  const entry = toPublicShape(row);
  const before = existing && toPublicShape(existing);
  return applied(
    kind === "role"
      ? upsertChange(before, entry, { type: "role.created", role: entry }, (previous) => ({
          type: "role.updated",
          role: entry,
          previous,
        }))
      : upsertChange(
          before,
          entry,
          { type: "permission.created", permission: entry },
          (previous) => ({ type: "permission.updated", permission: entry, previous }),
        ),
  );
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
): Promise<ApplyResult> {
  if (!(await addTombstone(ctx, kind, kindeId, version, keepUntil))) return STALE;
  const existing = await findById(ctx, kind, kindeId);
  if (existing) await ctx.db.delete(TABLES[kind], existing._id);
  await takeUnsettled(ctx, kind, kindeId);
  await ctx.scheduler.runAfter(0, internal.cascade.refreshMembershipRefs, {
    kind,
    kindeId,
    key: null,
    version,
    cursor: null,
  });
  return applied(existing ? { type: `${kind}.deleted`, kindeId } : null);
}

/**
 * The current form of the distinct refs among `refs`, carried by an event of
 * `version`: deleted ones are absent, and the key is the catalog's where the
 * catalog learned it from a newer event (a rename since), else the event's own.
 */
export async function currentRefs(
  ctx: MutationCtx,
  kind: CatalogKind,
  refs: KeyRef[],
  version: Version,
): Promise<Map<string, KeyRef>> {
  const current = new Map<string, KeyRef>();
  const deleted = new Set<string>();
  for (const { kindeId: id, key } of refs) {
    if (current.has(id) || deleted.has(id)) continue;
    if (await isDeleted(ctx, kind, id)) {
      deleted.add(id);
      continue;
    }
    const row = await findById(ctx, kind, id);
    const catalogIsNewer = row !== null && isNewer(row.version, version);
    // Taking the snapshot's key where the catalog does not have it, or has an
    // older, different one: the catalog's next event for this id must recheck.
    if (id !== "" && !catalogIsNewer && row?.key !== key) await noteUnsettled(ctx, kind, id);
    current.set(id, { kindeId: id, key: catalogIsNewer ? row.key : key });
  }
  return current;
}

async function findUnsettled(ctx: QueryCtx, kind: CatalogKind, kindeId: string) {
  return await ctx.db
    .query("unsettledRefs")
    .withIndex("kind", (q) => q.eq("kind", kind).eq("kindeId", kindeId))
    .unique();
}

/** Records that memberships may hold `kindeId` under a key the catalog has not confirmed (once per id). */
export async function noteUnsettled(ctx: MutationCtx, kind: CatalogKind, kindeId: string) {
  if (!(await findUnsettled(ctx, kind, kindeId))) {
    await ctx.db.insert("unsettledRefs", { kind, kindeId });
  }
}

/** Removes the record of an unsettled id, returning whether there was one. */
async function takeUnsettled(ctx: MutationCtx, kind: CatalogKind, kindeId: string) {
  const record = await findUnsettled(ctx, kind, kindeId);
  if (record) await ctx.db.delete("unsettledRefs", record._id);
  return record !== null;
}

export const listRoles = query({
  args: {},
  returns: v.array(vRole),
  handler: async (ctx): Promise<KindeRole[]> => {
    const rows = await ctx.db.query("kindeRoles").withIndex("key").take(MAX_CATALOG_SIZE);
    return rows.map(toPublicShape);
  },
});

export const listPermissions = query({
  args: {},
  returns: v.array(vPermission),
  handler: async (ctx): Promise<KindePermission[]> => {
    const rows = await ctx.db.query("kindePermissions").withIndex("key").take(MAX_CATALOG_SIZE);
    return rows.map(toPublicShape);
  },
});
