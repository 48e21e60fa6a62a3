/**
 * Background clean-up after a deletion or rename that touches many
 * memberships: an organization's members, or every holder of a role or
 * permission. Each batch is one bounded mutation that schedules the next, so
 * no transaction grows with the tenant. Until a cascade finishes, permission
 * checks stay exact by consulting tombstones and the catalog directly.
 */
import { v } from "convex/values";
import { internal } from "./_generated/api.js";
import { internalMutation, type MutationCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import { findUser } from "./users.js";
import type { KeyRef } from "../shared.js";

/** Memberships one cascade mutation handles: each costs about two reads and two writes. */
export const CASCADE_BATCH_SIZE = 200;

/**
 * Rewrites one role's (or permission's) key in every membership holding it,
 * or removes it (`key: null`, after a delete). Pages through all memberships,
 * since Convex cannot index the elements of an array.
 */
export const refreshMembershipRefs = internalMutation({
  args: {
    kind: v.union(v.literal("role"), v.literal("permission")),
    kindeId: v.string(),
    key: v.union(v.string(), v.null()),
    cursor: v.union(v.string(), v.null()),
  },
  returns: v.null(),
  handler: async (ctx, args) => {
    const field = args.kind === "role" ? "roles" : "permissions";
    const refresh = (refs: KeyRef[]) =>
      args.key === null
        ? refs.filter((r) => r.id !== args.kindeId)
        : refs.map((r) => (r.id === args.kindeId ? { id: r.id, key: args.key! } : r));

    const batch = await ctx.db
      .query("kindeMemberships")
      .paginate({ cursor: args.cursor, numItems: CASCADE_BATCH_SIZE });
    for (const membership of batch.page) {
      if (!membership[field].some((r) => r.id === args.kindeId)) continue;
      await ctx.db.patch("kindeMemberships", membership._id, {
        [field]: refresh(membership[field]),
      });
      await patchUserMembership(ctx, membership, (m) => ({ ...m, [field]: refresh(m[field]) }));
    }
    if (!batch.isDone) {
      await ctx.scheduler.runAfter(0, internal.cascade.refreshMembershipRefs, {
        ...args,
        cursor: batch.continueCursor,
      });
    }
    return null;
  },
});

/** Removes a deleted organization's memberships, a batch at a time. */
export const removeOrganizationMemberships = internalMutation({
  args: { orgCode: v.string() },
  returns: v.null(),
  handler: async (ctx, { orgCode }) => {
    const batch = await ctx.db
      .query("kindeMemberships")
      .withIndex("orgCode", (q) => q.eq("orgCode", orgCode))
      .take(CASCADE_BATCH_SIZE);
    for (const membership of batch) {
      await ctx.db.delete("kindeMemberships", membership._id);
      await patchUserMembership(ctx, membership, () => null);
    }
    if (batch.length === CASCADE_BATCH_SIZE) {
      await ctx.scheduler.runAfter(0, internal.cascade.removeOrganizationMemberships, {
        orgCode,
      });
    }
    return null;
  },
});

/** Applies `change` to the user's inline copy of `membership` (null removes it). */
async function patchUserMembership(
  ctx: MutationCtx,
  membership: Doc<"kindeMemberships">,
  change: (
    m: Doc<"kindeUsers">["organizations"][number],
  ) => Doc<"kindeUsers">["organizations"][number] | null,
) {
  const user = await findUser(ctx, membership.kindeId);
  if (!user) return;
  const organizations = user.organizations.flatMap((m) =>
    m.orgCode === membership.orgCode ? (change(m) ?? []) : [m],
  );
  await ctx.db.patch("kindeUsers", user._id, { organizations });
}
