/**
 * Test-only component module that dumps the component's tables, so tests can
 * assert exactly what a delivery wrote (or that it wrote nothing). It is
 * registered next to the component's own modules by `register(t, name, { inspect: true })`
 * and never ships in the built package.
 */
import { v } from "convex/values";
import { mutation, query } from "../component/_generated/server.js";
import { vKeyRef } from "../shared.js";

const TABLES = [
  "kindeUsers",
  "kindeMemberships",
  "kindeOrganizations",
  "kindeRoles",
  "kindePermissions",
  "tombstones",
  "webhookEvents",
] as const;

export const tables = query({
  args: {},
  handler: async (ctx) => {
    const dump: Record<string, unknown[]> = {};
    for (const table of TABLES) {
      dump[table] = await ctx.db.query(table).collect();
    }
    return dump;
  },
});

/**
 * Inserts `count` users who are members of `orgCode`, straight into the
 * tables: for tests that need a large tenant and measure the read path.
 */
export const seedMembers = mutation({
  args: {
    orgCode: v.string(),
    count: v.number(),
    roles: v.array(vKeyRef),
    permissions: v.array(vKeyRef),
  },
  handler: async (ctx, { orgCode, count, roles, permissions }) => {
    for (let i = 0; i < count; i++) {
      const kindeId = `kp_seed_${orgCode}_${i}`;
      await ctx.db.insert("kindeUsers", {
        kindeId,
        isSuspended: false,
        isPasswordResetRequested: false,
        organizations: [{ orgCode, roles, permissions }],
        version: { at: 1, eventId: `event_seed_${i}` },
      });
      await ctx.db.insert("kindeMemberships", { kindeId, orgCode, roles, permissions });
    }
  },
});
