import { v } from "convex/values";
import { mutation, query } from "./_generated/server.js";
import { kinde } from "./kinde.js";

/**
 * The README's authorization example: only members of the organization who
 * hold `publish:docs` there may publish, checked against the live mirror.
 */
export const publish = mutation({
  args: { orgCode: v.string(), title: v.string() },
  handler: async (ctx, { orgCode, title }) => {
    const kindeId = await kinde.requirePermission(ctx, { orgCode, permission: "publish:docs" });
    return await ctx.db.insert("documents", { orgCode, title, publishedBy: kindeId });
  },
});

/** Only the organization's admins may delete, by role this time. */
export const remove = mutation({
  args: { id: v.id("documents") },
  handler: async (ctx, { id }) => {
    const doc = await ctx.db.get("documents", id);
    if (!doc) return null;
    await kinde.requireRole(ctx, { orgCode: doc.orgCode, role: "admin" });
    await ctx.db.delete("documents", id);
    return null;
  },
});

export const list = query({
  args: { orgCode: v.string() },
  handler: async (ctx, { orgCode }) =>
    await ctx.db
      .query("documents")
      .withIndex("orgCode", (q) => q.eq("orgCode", orgCode))
      .take(100),
});
