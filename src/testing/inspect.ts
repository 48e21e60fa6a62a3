/**
 * Test-only component module that dumps the component's tables, so tests can
 * assert exactly what a delivery wrote (or that it wrote nothing). It is
 * registered next to the component's own modules by `register(t, name, { inspect: true })`
 * and never ships in the built package.
 */
import { v } from "convex/values";
import { mutation, query } from "../component/_generated/server.js";
import { vKeyRef } from "../shared.js";
import { adjustCount } from "../component/counters.js";
import { pruneExpired } from "../component/maintenance.js";

const TABLES = [
  "counters",
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
      await adjustCount(ctx, "users", kindeId, 1);
    }
  },
});

/** Inserts `count` event records that expire at `expiresAt`, to test retention at scale. */
export const seedEventRecords = mutation({
  args: { count: v.number(), expiresAt: v.number() },
  handler: async (ctx, { count, expiresAt }) => {
    for (let i = 0; i < count; i++) {
      await ctx.db.insert("webhookEvents", {
        eventId: `event_seed_${expiresAt}_${i}`,
        type: "user.updated",
        occurredAt: expiresAt - 1,
        outcome: "applied",
        expiresAt,
      });
    }
  },
});

/** The component's retention pass, callable from tests (the cron calls the internal one). */
export const prune = mutation({
  args: {},
  handler: async (ctx) => await pruneExpired(ctx),
});
