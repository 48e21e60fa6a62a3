import { paginationOptsValidator } from "convex/server";
import { v } from "convex/values";
import { internalQuery, query } from "./_generated/server.js";
import { findProfile, kinde } from "./kinde.js";

// Public queries: anyone can call them, signed in or not, with any arguments, so they answer
// about the signed-in user only.

/** The signed-in user's mirrored Kinde profile, or null. */
export const me = query({
  args: {},
  handler: async (ctx) => await kinde.getAuthUser(ctx),
});

/** The signed-in user's row of the app's own `profiles` (written by the event hooks in kinde.ts), or null. */
export const myProfile = query({
  args: {},
  handler: async (ctx) => {
    const identity = await ctx.auth.getUserIdentity();
    return identity ? await findProfile(ctx, identity.subject) : null;
  },
});

// Anyone's profile, email and phone: internal, for the dashboard and `npx convex run`
// (`npx convex run users:byEmail '{"email": "ada@example.com"}'`).

export const byKindeId = internalQuery({
  args: { kindeId: v.string() },
  handler: async (ctx, { kindeId }) => await kinde.getUser(ctx, kindeId),
});

export const byEmail = internalQuery({
  args: { email: v.string() },
  handler: async (ctx, { email }) => await kinde.getUserByEmail(ctx, email),
});

export const list = internalQuery({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, { paginationOpts }) => await kinde.listUsers(ctx, { paginationOpts }),
});

/** Any user's row of the app's own `profiles`. */
export const profile = internalQuery({
  args: { kindeId: v.string() },
  handler: async (ctx, { kindeId }) => await findProfile(ctx, kindeId),
});
