import { Kinde } from "convex-kinde";
import { components } from "./_generated/api.js";
import type { DataModel } from "./_generated/dataModel.js";
import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import type { UserSnapshot } from "convex-kinde";

export const kinde = new Kinde(components.kinde);

/** `npx convex run kinde:backfill` (add `'{"reconcile": true}'` to remove what Kinde no longer has). */
export const backfill = kinde.backfillAction();

/**
 * Event hooks: they run in the same transaction as the component's write, so
 * the app's `profiles` table can never disagree with the mirror.
 */
export const onKindeEvent = kinde.events<DataModel>({
  // Kinde may send both a user.created and a user.updated that the mirror applies
  // (an update can arrive first), so both upsert.
  "user.created": async (ctx, { user }) => await upsertProfile(ctx, user),
  "user.updated": async (ctx, { user }) => await upsertProfile(ctx, user),
  "user.deleted": async (ctx, { kindeId }) => {
    const profile = await findProfile(ctx, kindeId);
    if (profile) await ctx.db.delete("profiles", profile._id);
  },
});

async function findProfile(ctx: QueryCtx, kindeId: string) {
  return await ctx.db
    .query("profiles")
    .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
    .unique();
}

async function upsertProfile(ctx: MutationCtx, user: UserSnapshot) {
  const profile = await findProfile(ctx, user.kindeId);
  if (profile) await ctx.db.patch("profiles", profile._id, { displayName: displayName(user) });
  else await ctx.db.insert("profiles", { kindeId: user.kindeId, displayName: displayName(user) });
}

function displayName(user: { firstName?: string; lastName?: string; email?: string }) {
  const name = [user.firstName, user.lastName].filter(Boolean).join(" ");
  return name || user.email || "Anonymous";
}
