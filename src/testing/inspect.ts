/**
 * Test-only component module that dumps the component's tables, so tests can
 * assert exactly what a delivery wrote (or that it wrote nothing). It is
 * registered next to the component's own modules by `register(t, name, { inspect: true })`
 * and never ships in the built package.
 */
import { query } from "../component/_generated/server.js";

const TABLES = ["kindeUsers", "kindeMemberships", "tombstones", "webhookEvents"] as const;

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
