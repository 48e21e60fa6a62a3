/**
 * Authorization checks against the mirror: "does this user hold role R (or
 * permission P) in organization O?". Each check is a handful of indexed point
 * reads, whatever the number of users, members or organizations.
 */
import { v } from "convex/values";
import { query, type QueryCtx } from "./_generated/server.js";
import { findById, findByKey, type CatalogKind } from "./catalog.js";
import { isDeleted } from "./tombstones.js";
import { findUser } from "./users.js";

const vCheckArgs = { kindeId: v.string(), orgCode: v.string(), key: v.string() };

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
 * Whether the user holds the role or permission `key` in `orgCode`. A
 * suspended user holds nothing. Deletions and renames are honoured at once,
 * even while their background clean-up of memberships is still running.
 */
async function holds(
  ctx: QueryCtx,
  kind: CatalogKind,
  { kindeId, orgCode, key }: { kindeId: string; orgCode: string; key: string },
): Promise<boolean> {
  const user = await findUser(ctx, kindeId);
  if (!user || user.isSuspended) return false;
  const membership = user.organizations.find((m) => m.orgCode === orgCode);
  if (!membership) return false;
  if (await isDeleted(ctx, "organization", orgCode)) return false;
  const refs = kind === "role" ? membership.roles : membership.permissions;

  // Where the catalog knows the key, its id is the truth (the key may have moved to it by a rename).
  const entry = await findByKey(ctx, kind, key);
  if (entry) return refs.some((r) => r.id === entry.kindeId);

  // Otherwise (catalog events not enabled, or the key was renamed away or deleted) trust the
  // membership's key unless the catalog says that id is deleted or now has another key.
  const ref = refs.find((r) => r.key === key);
  if (!ref) return false;
  if (await isDeleted(ctx, kind, ref.id)) return false;
  return (await findById(ctx, kind, ref.id)) === null;
}
