import { paginationOptsValidator } from "convex/server";
import { v } from "convex/values";
import { internalQuery, query } from "./_generated/server.js";
import { kinde } from "./kinde.js";

// Kinde's catalogs of roles and permissions: the same for every user and organization, and no
// one's data, so public (the page shows their names next to the keys).

export const roles = query({
  args: {},
  handler: async (ctx) => await kinde.listRoles(ctx),
});

export const permissions = query({
  args: {},
  handler: async (ctx) => await kinde.listPermissions(ctx),
});

// Any organization, its members' emails and phones, and checks about any user: internal, for the
// dashboard and `npx convex run`. The signed-in user's own organizations and checks are
// `kindeUser.organizations` and `kindeUser.can`; organization data for members is guarded
// (`documents.list`).

export const get = internalQuery({
  args: { code: v.string() },
  handler: async (ctx, { code }) => await kinde.getOrganization(ctx, code),
});

export const list = internalQuery({
  args: { paginationOpts: paginationOptsValidator },
  handler: async (ctx, { paginationOpts }) =>
    await kinde.listOrganizations(ctx, { paginationOpts }),
});

export const members = internalQuery({
  args: { orgCode: v.string(), paginationOpts: paginationOptsValidator },
  handler: async (ctx, args) => await kinde.listOrganizationMembers(ctx, args),
});

/** Whether `kindeId` (default: the signed-in user) holds `role` in `orgCode`. */
export const hasRole = internalQuery({
  args: { orgCode: v.string(), role: v.string(), kindeId: v.optional(v.string()) },
  handler: async (ctx, args) => await kinde.hasRole(ctx, args),
});

/** Whether `kindeId` (default: the signed-in user) holds `permission` in `orgCode`. */
export const hasPermission = internalQuery({
  args: { orgCode: v.string(), permission: v.string(), kindeId: v.optional(v.string()) },
  handler: async (ctx, args) => await kinde.hasPermission(ctx, args),
});
