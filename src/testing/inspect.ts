/**
 * Test-only component module that dumps the component's tables, so tests can
 * assert exactly what a delivery wrote (or that it wrote nothing). It is
 * registered next to the component's own modules by `register(t, name, { inspect: true })`
 * and never ships in the built package.
 */
import { getDocumentSize, v } from "convex/values";
import { mutation, query } from "../component/_generated/server.js";
import type { TableNames } from "../component/_generated/dataModel.js";
import schema from "../component/schema.js";
import { vKeyRef } from "../shared/mirror.js";
import { adjustCount } from "../component/counters.js";
import { pruneExpired } from "../component/maintenance.js";
import { checkConvexValueLimits, type ValueLimitViolation } from "./valueLimits.js";

const TABLES = [
  "counters",
  "kindeUsers",
  "kindeMemberships",
  "kindeOrganizations",
  "kindeRoles",
  "kindePermissions",
  "tombstones",
  "webhookEvents",
  "pendingRefreshes",
  "billingCustomers",
  "billingEntitlements",
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

/** The functions the component has scheduled (its cascades, the host's refresh action), with their state. */
export const scheduledFunctions = query({
  args: {},
  handler: async (ctx) =>
    (await ctx.db.system.query("_scheduled_functions").collect()).map(
      ({ name, args, scheduledTime, state }) => ({ name, args, scheduledTime, state: state.kind }),
    ),
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

/** Every table of the component's schema, in the schema's order. */
const SCHEMA_TABLES = Object.keys(schema.tables) as TableNames[];

/** What one call reads at most: half a query's 16 MiB and 32,000 documents, so the next document always fits. */
const SCAN_BUDGET = { bytes: 8 << 20, documents: 16_000 };

/**
 * Checks every document of every table in the schema against the limits a
 * Convex deployment enforces on one document (`valueLimits.ts`), from where
 * the previous call stopped (`from`) until this call has read its budget.
 * Call again with `next` until it is `null`.
 */
export const valueLimitViolations = query({
  args: { from: v.optional(v.object({ table: v.string(), after: v.number() })) },
  handler: async (ctx, { from }) => {
    const violations: ValueLimitViolation[] = [];
    let bytes = 0;
    let documents = 0;
    const first = from === undefined ? 0 : SCHEMA_TABLES.indexOf(from.table as TableNames);
    if (first < 0) throw new Error(`No table ${from!.table} in the component's schema`);
    for (const [i, table] of SCHEMA_TABLES.entries()) {
      if (i < first) continue;
      const after = i === first && from !== undefined ? from.after : 0;
      // convex-test gives every document a distinct `_creationTime`, so it is a complete cursor.
      const docs = ctx.db
        .query(table)
        .withIndex("by_creation_time", (q) => q.gt("_creationTime", after));
      for await (const doc of docs) {
        violations.push(...checkConvexValueLimits(table, doc));
        bytes += getDocumentSize(doc);
        documents += 1;
        if (bytes >= SCAN_BUDGET.bytes || documents >= SCAN_BUDGET.documents) {
          return { violations, next: { table, after: doc._creationTime } };
        }
      }
    }
    return { violations, next: null };
  },
});

/**
 * Inserts `document` into `table` as it is: for tests of the value-limit
 * guard, which need a document a deployment would refuse (convex-test stores it).
 */
export const insertDocument = mutation({
  args: { table: v.string(), document: v.any() },
  handler: async (ctx, { table, document }) => {
    if (!SCHEMA_TABLES.includes(table as TableNames)) {
      throw new Error(`No table ${table} in the component's schema`);
    }
    return await ctx.db.insert(table as TableNames, document);
  },
});

/**
 * Inserts `count` billing customers (every other one a user's, the rest an
 * organization's), each entitled to `features`, straight into the tables:
 * for measuring the entitlement checks in a large tenant.
 */
export const seedCustomers = mutation({
  args: {
    count: v.number(),
    features: v.array(v.string()),
    /** Owners to make customers of first (mirrored or not: the tables are written directly). */
    owners: v.optional(
      v.array(
        v.object({
          ownerKind: v.union(v.literal("user"), v.literal("organization")),
          ownerId: v.string(),
        }),
      ),
    ),
  },
  handler: async (ctx, { count, features, owners = [] }) => {
    const synthetic = Array.from({ length: count }, (_, i) => ({
      ownerKind: i % 2 ? ("user" as const) : ("organization" as const),
      ownerId: `${i % 2 ? "kp" : "org"}_seed_customer_${i}`,
    }));
    for (const [i, { ownerKind, ownerId }] of [...owners, ...synthetic].entries()) {
      const customerId = `customer_seed_${i}`;
      await ctx.db.insert("billingCustomers", {
        ownerKind,
        ownerId,
        customerId,
        customerIdFetchedAt: 1,
        fetchedAt: 1,
        plans: [{ planCode: "seed" }],
      });
      for (const featureCode of features) {
        await ctx.db.insert("billingEntitlements", { ownerKind, ownerId, customerId, featureCode });
      }
    }
  },
});
