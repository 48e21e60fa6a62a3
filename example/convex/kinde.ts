import { Kinde } from "convex-kinde";
import { components, internal } from "./_generated/api.js";
import type { DataModel } from "./_generated/dataModel.js";
import { mutation, query, type QueryCtx } from "./_generated/server.js";
import type { KindeUser } from "convex-kinde";

export const kinde = new Kinde(components.kinde);

/**
 * Query and mutation builders whose `ctx.kinde` holds the signed-in, mirrored user; name
 * `member: true`, a `permission` or a `role` next to `args` to refuse everyone else. Every function
 * made with them takes an optional `orgCode` argument (default: the token's `org_code`), which
 * anyone may set to any organization: a function that reads an organization's data names one.
 */
export const orgQuery = kinde.customQuery(query);
export const orgMutation = kinde.customMutation(mutation);

/** `npx convex run kinde:setup` registers this deployment's webhook in Kinde (`'{"dryRun": true}'` shows the plan). */
export const setup = kinde.setupAction();

/**
 * `npx convex run kinde:backfill` (add `'{"reconcile": true}'` to remove what Kinde no longer has).
 * It runs the same hooks as the webhook, so users who existed before it get their profile too.
 */
export const backfill = kinde.backfillAction({ onEvent: internal.kinde.onKindeEvent });

/** `npx convex run kinde:doctor`: a checklist of everything the sync depends on. The app signs in with Kinde's ID token. */
export const doctor = kinde.doctorAction({ auth: { tokenType: "id" } });

/**
 * Event hooks: they run in the same transaction as the component's write, so
 * the app's `profiles` table can never disagree with the mirror. Hooks hear
 * what happened to the mirror (a user Kinde first reported with `user.updated`
 * still arrives here as `user.created`), so insert, patch and delete keep
 * exactly one profile per mirrored user.
 */
export const onKindeEvent = kinde.events<DataModel>({
  "user.created": async (ctx, { user }) => {
    await ctx.db.insert("profiles", { kindeId: user.kindeId, displayName: displayName(user) });
  },
  "user.updated": async (ctx, { user }) => {
    const profile = await findProfile(ctx, user.kindeId);
    if (profile) await ctx.db.patch("profiles", profile._id, { displayName: displayName(user) });
  },
  "user.deleted": async (ctx, { kindeId }) => {
    const profile = await findProfile(ctx, kindeId);
    if (profile) await ctx.db.delete("profiles", profile._id);
  },
});

/** The app's own profile row of a user, or null. */
export async function findProfile(ctx: QueryCtx, kindeId: string) {
  return await ctx.db
    .query("profiles")
    .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
    .unique();
}

function displayName(user: KindeUser) {
  const name = [user.firstName, user.lastName].filter(Boolean).join(" ");
  return name || user.email || "Anonymous";
}
