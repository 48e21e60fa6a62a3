/**
 * Authorization checks against the mirror: "is this user a member of
 * organization O?", "does this user hold role R (or permission P) there?".
 * Each check is a handful of indexed point reads, whatever the number of
 * users, members or organizations.
 */
import { v } from "convex/values";
import { query, type QueryCtx } from "./_generated/server.js";
import { findById, findByKey, type CatalogKind } from "./catalog.js";
import { isDeleted } from "./tombstones.js";
import { isNewer } from "./ordering.js";
import { findUser } from "./users.js";

const vCheckArgs = { kindeId: v.string(), orgCode: v.string(), key: v.string() };

export const isMember = query({
  args: { kindeId: v.string(), orgCode: v.string() },
  returns: v.boolean(),
  handler: async (ctx, { kindeId, orgCode }) =>
    (await membershipOf(ctx, kindeId, orgCode)) !== null,
});

export const hasRole = query({
  args: vCheckArgs,
  returns: v.boolean(),
  handler: async (ctx, args) => await holds(ctx, "role", args),
});

export const hasPermission = query({
  args: vCheckArgs,
  returns: v.boolean(),
  handler: async (ctx, args) => await holds(ctx, "permission", args),
});

/**
 * The user's membership of `orgCode`, with the user, or null: not mirrored,
 * suspended (a suspended user is a member of nothing and holds nothing), not
 * in that organization, or the organization is deleted (honoured at once, before
 * the background clean-up removes the membership).
 */
export async function membershipOf(ctx: QueryCtx, kindeId: string, orgCode: string) {
  const user = await findUser(ctx, kindeId);
  if (!user || user.isSuspended) return null;
  const membership = user.organizations.find((m) => m.orgCode === orgCode);
  if (!membership) return null;
  if (await isDeleted(ctx, "organization", orgCode)) return null;
  return { user, membership };
}

/**
 * Whether the user holds the role or permission `key` in `orgCode`. A
 * suspended user holds nothing. The membership's stored keys are the newest
 * the mirror knew when they were written; deletions and renames applied since
 * (whose background clean-up may still be running) are honoured at once by
 * consulting tombstones and the catalog, whichever event is newer winning.
 */
async function holds(
  ctx: QueryCtx,
  kind: CatalogKind,
  { kindeId, orgCode, key }: { kindeId: string; orgCode: string; key: string },
): Promise<boolean> {
  const found = await membershipOf(ctx, kindeId, orgCode);
  if (!found) return false;
  const { user, membership } = found;
  const refs = kind === "role" ? membership.roles : membership.permissions;

  // Held under `key`, unless deleted since, or renamed by a catalog event newer than the snapshot.
  for (const ref of refs.filter((r) => r.key === key)) {
    if (await isDeleted(ctx, kind, ref.kindeId)) continue;
    const entry = await findById(ctx, kind, ref.kindeId);
    if (entry && entry.key !== key && isNewer(entry.version, user.version)) continue;
    return true;
  }
  // Held under another key that a catalog event newer than the snapshot renamed to `key`.
  const entry = await findByKey(ctx, kind, key);
  return (
    entry !== null &&
    isNewer(entry.version, user.version) &&
    refs.some((r) => r.kindeId === entry.kindeId && r.key !== key)
  );
}
