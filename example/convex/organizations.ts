import { paginationOptsValidator } from "convex/server";
import { v } from "convex/values";
import { query } from "./_generated/server.js";
import { kinde } from "./kinde.js";

export const get = query({
  args: { code: v.string() },
  handler: async (ctx, { code }) => await kinde.getOrganization(ctx, code),
});

export const list = query({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, { paginationOpts }) =>
    await kinde.listOrganizations(ctx, { paginationOpts }),
});

export const members = query({
  args: { orgCode: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => await kinde.listOrganizationMembers(ctx, args),
});

export const roles = query({
  args: {},
  handler: async (ctx) => await kinde.listRoles(ctx),
});

export const permissions = query({
  args: {},
  handler: async (ctx) => await kinde.listPermissions(ctx),
});

/** Whether the signed-in user (or `kindeId`) holds `role` in `orgCode`. */
export const hasRole = query({
  args: { orgCode: v.string(), role: v.string(), kindeId: v.optional(v.string()) },
  handler: async (ctx, args) => await kinde.hasRole(ctx, args),
});

/** Whether the signed-in user (or `kindeId`) holds `permission` in `orgCode`. */
export const hasPermission = query({
  args: { orgCode: v.string(), permission: v.string(), kindeId: v.optional(v.string()) },
  handler: async (ctx, args) => await kinde.hasPermission(ctx, args),
});
