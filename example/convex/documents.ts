import { v } from "convex/values";
import { mutation } from "./_generated/server.js";
import { kinde, orgMutation, orgQuery } from "./kinde.js";

/**
 * The README's authorization example: only members of the organization (the
 * `orgCode` argument, or the token's `org_code`) who hold `publish:docs` there
 * may publish, checked against the live mirror before the handler runs.
 */
export const publish = orgMutation({
  permission: "publish:docs",
  args: { title: v.string() },
  handler: async (ctx, { title }) => {
    const { user, orgCode } = ctx.kinde;
    // The permission check needed an organization, so there is one.
    return await ctx.db.insert("documents", {
      orgCode: orgCode!,
      title,
      publishedBy: user.kindeId,
    });
  },
});

/**
 * Only the organization's admins may delete, by role this time. The check comes before the
 * document is read, so a caller who is not an admin of `orgCode` learns nothing about `id`, and a
 * document of another organization is left alone.
 */
export const remove = mutation({
  args: { orgCode: v.string(), id: v.id("documents") },
  handler: async (ctx, { orgCode, id }) => {
    await kinde.requireRole(ctx, { orgCode, role: "admin" });
    const doc = await ctx.db.get("documents", id);
    if (doc?.orgCode === orgCode) await ctx.db.delete("documents", id);
    return null;
  },
});

/** The organization's documents (`orgCode`, or the token's), for its members. */
export const list = orgQuery({
  member: true,
  args: {},
  handler: async (ctx) =>
    await ctx.db
      .query("documents")
      .withIndex("orgCode", (q) => q.eq("orgCode", ctx.kinde.orgCode!))
      .take(100),
});

/** The same, for those who hold `read:docs` there: a permission implies membership. */
export const readable = orgQuery({
  permission: "read:docs",
  args: {},
  handler: async (ctx) =>
    await ctx.db
      .query("documents")
      .withIndex("orgCode", (q) => q.eq("orgCode", ctx.kinde.orgCode!))
      .take(100),
});

/** What the signed-in user published, in any organization: signed in and mirrored is enough. */
export const mine = orgQuery({
  args: {},
  handler: async (ctx) =>
    await ctx.db
      .query("documents")
      .withIndex("publishedBy", (q) => q.eq("publishedBy", ctx.kinde.user.kindeId))
      .take(100),
});
