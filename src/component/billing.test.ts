import { beforeEach, describe, expect, test } from "vitest";
import { api } from "./_generated/api.js";
import type { QueryCtx } from "./_generated/server.js";
import { deleteOrganization, applyOrganizationSnapshot } from "./organizations.js";
import { applyUserSnapshot, deleteUser } from "./users.js";
import { getEntitlement, hasEntitlement, lastFetch as lastFetchQuery } from "./billing.js";
import {
  KEEP_UNTIL,
  initComponentTest,
  membership,
  userSnapshot,
  version,
  type ComponentTest,
} from "./setup.test.js";
import {
  MAX_BILLING_CODE,
  MAX_ENTITLEMENTS_PER_CUSTOMER,
  type BillingOwner,
  type KindeEntitlement,
} from "../shared/billing.js";

let t: ComponentTest;

const ada: BillingOwner = { kind: "user", kindeId: "kp_ada" };
const acme: BillingOwner = { kind: "organization", orgCode: "org_acme" };

const seats: KindeEntitlement = {
  featureCode: "seats",
  featureName: "Seats",
  limitMax: 10,
  priceName: "Team seats",
  unitAmount: 500,
};
const reports: KindeEntitlement = {
  featureCode: "reports",
  featureName: "Reports",
  fixedCharge: 0,
};

function apply(
  owner: BillingOwner,
  fetchedAt: number,
  entitlements: KindeEntitlement[],
  customerId = owner.kind === "user" ? "customer_ada" : "customer_acme",
  plans = [{ planCode: "pro", subscribedOn: "2024-11-18T13:32:03+11" }],
) {
  return t.mutation(api.billing.applyCustomer, {
    owner,
    customerId,
    fetchedAt,
    plans,
    entitlements,
  });
}

const has = (feature: string, orgCode?: string, kindeId = "kp_ada") =>
  t.query(api.billing.hasEntitlement, { kindeId, feature, ...(orgCode && { orgCode }) });

const tables = () =>
  t.run(async (ctx) => ({
    customers: await ctx.db.query("billingCustomers").collect(),
    entitlements: await ctx.db.query("billingEntitlements").collect(),
  }));

// Ada (a B2C customer) and Bob are members of org_acme (a B2B customer); Cy is suspended there.
beforeEach(async () => {
  t = initComponentTest();
  await t.run(async (ctx) => {
    await applyOrganizationSnapshot(ctx, version(100), { code: "org_acme", name: "Acme" });
    await applyUserSnapshot(
      ctx,
      version(1_000),
      userSnapshot("kp_ada", { organizations: [membership("org_acme")] }),
    );
    await applyUserSnapshot(ctx, version(1_000), userSnapshot("kp_bob"));
    await applyUserSnapshot(
      ctx,
      version(1_000),
      userSnapshot("kp_cy", { isSuspended: true, organizations: [membership("org_acme")] }),
    );
  });
});

describe("a customer's billing, applied whole", () => {
  test("getBilling reads what the fetch gave, fields absent where Kinde gave none", async () => {
    expect(await apply(ada, 5_000, [seats, reports])).toEqual({ outcome: "applied" });
    expect(await t.query(api.billing.getBilling, { owner: ada })).toEqual({
      customerId: "customer_ada",
      owner: ada,
      plans: [{ planCode: "pro", subscribedOn: "2024-11-18T13:32:03+11" }],
      entitlements: [reports, seats],
      fetchedAt: 5_000,
    });
    expect(await t.query(api.billing.getBilling, { owner: acme })).toBeNull();
    expect(await t.query(api.billing.findCustomer, { customerId: "customer_ada" })).toEqual({
      owner: ada,
    });
    expect(await t.query(api.billing.findCustomer, { customerId: "customer_x" })).toBeNull();
  });

  test("an older fetch never overwrites a newer one, per customer", async () => {
    await apply(ada, 5_000, [seats]);
    await apply(acme, 3_000, [reports]);
    expect(await apply(ada, 4_000, [reports])).toEqual({ outcome: "stale" });
    expect(await apply(ada, 5_000, [reports])).toEqual({ outcome: "stale" });
    // Ada's newer fetch does not make Acme's older one stale.
    expect(await apply(acme, 4_000, [seats])).toEqual({ outcome: "applied" });
    expect(await has("seats")).toBe(true);
    expect(await has("reports")).toBe(false);
    expect(await has("seats", "org_acme")).toBe(true);
    expect(await has("reports", "org_acme")).toBe(false);
  });

  test("a cancelled plan: the newer fetch without the entitlements stops the check passing", async () => {
    await apply(ada, 5_000, [seats, reports]);
    expect(await has("seats")).toBe(true);
    await apply(ada, 6_000, [], "customer_ada", []);
    expect(await has("seats")).toBe(false);
    expect(await has("reports")).toBe(false);
    expect((await tables()).entitlements).toEqual([]);
    expect(await t.query(api.billing.getBilling, { owner: ada })).toMatchObject({
      plans: [],
      entitlements: [],
      fetchedAt: 6_000,
    });
  });

  test("a fetch that changes nothing rewrites the customer only; a change touches only what changed", async () => {
    await apply(ada, 5_000, [seats, reports]);
    const ids = async () =>
      Object.fromEntries((await tables()).entitlements.map((r) => [r.featureCode, r._id]));
    const before = await ids();
    await apply(ada, 6_000, [reports, seats]);
    expect(await ids()).toEqual(before);
    await apply(ada, 7_000, [{ ...seats, limitMax: 20 }, reports]);
    const after = await ids();
    expect(after.reports).toBe(before.reports);
    expect(after.seats).not.toBe(before.seats);
    expect(
      await t.query(api.billing.getEntitlement, { kindeId: "kp_ada", feature: "seats" }),
    ).toEqual({ ...seats, limitMax: 20 });
  });

  test("never written for an owner not mirrored or deleted", async () => {
    expect(await apply({ kind: "user", kindeId: "kp_nobody" }, 5_000, [seats])).toEqual({
      outcome: "missing",
    });
    expect(await apply({ kind: "organization", orgCode: "org_nope" }, 5_000, [seats])).toEqual({
      outcome: "missing",
    });
    await t.run(async (ctx) => {
      await deleteUser(ctx, version(2_000), "kp_bob", KEEP_UNTIL);
    });
    expect(await apply({ kind: "user", kindeId: "kp_bob" }, 9_000, [seats])).toEqual({
      outcome: "missing",
    });
    expect(await tables()).toEqual({ customers: [], entitlements: [] });
  });

  test("deleting the owner deletes its customer; other customers stay", async () => {
    await apply(ada, 5_000, [seats, reports]);
    await apply(acme, 5_000, [seats]);
    await t.run(async (ctx) => {
      await deleteUser(ctx, version(6_000), "kp_ada", KEEP_UNTIL);
    });
    let rows = await tables();
    expect(rows.customers.map((c) => c.ownerId)).toEqual(["org_acme"]);
    expect(rows.entitlements.map((e) => e.ownerId)).toEqual(["org_acme"]);
    await t.run(async (ctx) => {
      await deleteOrganization(ctx, version(7_000), "org_acme", KEEP_UNTIL);
    });
    rows = await tables();
    expect(rows).toEqual({ customers: [], entitlements: [] });
  });

  test("past its bounds a fetch is refused whole, with the bound named", async () => {
    await apply(ada, 5_000, [seats]);
    const many = Array.from({ length: MAX_ENTITLEMENTS_PER_CUSTOMER + 1 }, (_, i) => ({
      featureCode: `feature-${i}`,
    }));
    await expect(apply(ada, 6_000, many)).rejects.toThrow(
      `has ${MAX_ENTITLEMENTS_PER_CUSTOMER + 1} entitlements: the mirror keeps at most ${MAX_ENTITLEMENTS_PER_CUSTOMER}`,
    );
    const long = { featureCode: "f".repeat(MAX_BILLING_CODE + 1) };
    await expect(apply(ada, 6_000, [long])).rejects.toThrow("a featureCode must have 1 to 256");
    await expect(apply(ada, 6_000, [seats], "")).rejects.toThrow("customer id must have");
    expect(await t.query(api.billing.getBilling, { owner: ada })).toMatchObject({
      entitlements: [seats],
      fetchedAt: 5_000,
    });
  });

  test("exactly the most entitlements fit one mutation, at the longest values", async () => {
    const most = Array.from({ length: MAX_ENTITLEMENTS_PER_CUSTOMER }, (_, i) => ({
      featureCode: `${i}-`.padEnd(MAX_BILLING_CODE, "é"),
      featureName: "名".repeat(1024),
      priceName: "€".repeat(1024),
      limitMin: 0,
      limitMax: Number.MAX_SAFE_INTEGER,
      unitAmount: 1,
      fixedCharge: 2,
    }));
    expect(await apply(ada, 5_000, most)).toEqual({ outcome: "applied" });
    const other = most.map((e) => ({ ...e, featureName: "другое".repeat(170) }));
    expect(await apply(ada, 6_000, other)).toEqual({ outcome: "applied" });
    expect((await t.query(api.billing.getBilling, { owner: ada }))!.entitlements).toHaveLength(
      MAX_ENTITLEMENTS_PER_CUSTOMER,
    );
    await t.run(async (ctx) => {
      await deleteUser(ctx, version(7_000), "kp_ada", KEEP_UNTIL);
    });
    expect(await tables()).toEqual({ customers: [], entitlements: [] });
  });
});

describe("checks", () => {
  beforeEach(async () => {
    await apply(ada, 5_000, [seats]);
    await apply(acme, 5_000, [reports]);
  });

  test("B2C: without an organization, the user's own customer", async () => {
    expect(await has("seats")).toBe(true);
    expect(await has("reports")).toBe(false);
    expect(await has("seats", undefined, "kp_bob")).toBe(false);
    expect(await has("seats", undefined, "kp_nobody")).toBe(false);
    expect(await has("")).toBe(false);
  });

  test("B2B: the organization's customer, for its members only", async () => {
    expect(await has("reports", "org_acme")).toBe(true);
    expect(await has("seats", "org_acme")).toBe(false);
    expect(await has("reports", "org_acme", "kp_bob")).toBe(false);
    expect(await has("reports", "org_other")).toBe(false);
  });

  test("a suspended user holds nothing, B2B or B2C", async () => {
    expect(await has("reports", "org_acme", "kp_cy")).toBe(false);
    await apply({ kind: "user", kindeId: "kp_cy" }, 5_000, [seats], "customer_cy");
    expect(await has("seats", undefined, "kp_cy")).toBe(false);
  });

  test("a deleted organization's entitlements stop passing at once", async () => {
    await t.run(async (ctx) => {
      await deleteOrganization(ctx, version(6_000), "org_acme", KEEP_UNTIL);
    });
    expect(await has("reports", "org_acme")).toBe(false);
  });

  test("the limits of a metered feature are read with getEntitlement", async () => {
    expect(
      await t.query(api.billing.getEntitlement, { kindeId: "kp_ada", feature: "seats" }),
    ).toEqual(seats);
    expect(
      await t.query(api.billing.getEntitlement, {
        kindeId: "kp_ada",
        orgCode: "org_acme",
        feature: "seats",
      }),
    ).toBeNull();
  });
});

describe("customer ids", () => {
  const set = (
    fetchedAt: number,
    customers: { owner: BillingOwner; customerId: string | null }[],
  ) => t.mutation(api.billing.setCustomerIds, { fetchedAt, customers });

  test("recorded for a page of owners, versioned by the read's start, never for an unknown one", async () => {
    expect(
      await set(1_000, [
        { owner: ada, customerId: "customer_ada" },
        { owner: acme, customerId: "customer_acme" },
        { owner: { kind: "user", kindeId: "kp_bob" }, customerId: null },
        { owner: { kind: "user", kindeId: "kp_nobody" }, customerId: "customer_x" },
      ]),
    ).toEqual({ applied: 3, stale: 0, missing: 1 });
    expect(await set(900, [{ owner: ada, customerId: "customer_old" }])).toEqual({
      applied: 0,
      stale: 1,
      missing: 0,
    });
    const { customers } = await tables();
    expect(customers.map((c) => [c.ownerId, c.customerId]).sort()).toEqual([
      ["kp_ada", "customer_ada"],
      ["org_acme", "customer_acme"],
    ]);
    // Known as a customer, not fetched yet: nothing to check.
    expect(await t.query(api.billing.getBilling, { owner: ada })).toBeNull();
    expect(await t.query(api.billing.findCustomer, { customerId: "customer_acme" })).toEqual({
      owner: acme,
    });
  });

  test("a customer id read since as another one: the old customer's data goes, its late fetch is stale", async () => {
    await apply(ada, 5_000, [seats]);
    await set(6_000, [{ owner: ada, customerId: "customer_ada_2" }]);
    expect(await has("seats")).toBe(false);
    expect(await t.query(api.billing.getBilling, { owner: ada })).toBeNull();
    // A fetch of the old customer that began before the new id was read.
    expect(await apply(ada, 5_500, [seats], "customer_ada")).toEqual({ outcome: "stale" });
    expect(await has("seats")).toBe(false);
    // The new customer's fetch replaces the old customer's rows.
    expect(await apply(ada, 7_000, [reports], "customer_ada_2")).toEqual({ outcome: "applied" });
    expect(await has("reports")).toBe(true);
    expect((await tables()).entitlements.map((e) => e.customerId)).toEqual(["customer_ada_2"]);
  });

  test("a page is bounded", async () => {
    const page = Array.from({ length: 501 }, () => ({ owner: ada, customerId: "customer_ada" }));
    await expect(set(1_000, page)).rejects.toThrow("501 owners in one call; at most 500");
  });
});

describe("the last fetch, for the doctor", () => {
  const lastFetch = () => t.query(api.billing.lastFetch, {});

  test("null when no customer was ever fetched, even with customer ids known", async () => {
    expect(await lastFetch()).toBeNull();
    await t.mutation(api.billing.setCustomerIds, {
      fetchedAt: 4_000,
      customers: [{ owner: ada, customerId: "customer_ada" }],
    });
    expect(await lastFetch()).toBeNull();
  });

  test("the newest fetch of any customer, a stale one changing nothing", async () => {
    await apply(acme, 5_000, [seats]);
    await apply(ada, 7_000, [reports]);
    await apply(acme, 6_000, [seats]);
    expect(await lastFetch()).toEqual({ owner: ada, customerId: "customer_ada", fetchedAt: 7_000 });
    await apply(ada, 6_500, []);
    expect(await lastFetch()).toMatchObject({ owner: ada, fetchedAt: 7_000 });
  });

  test("one document and one index range, with 10,000 customers beside it (half never fetched)", async () => {
    await apply(ada, 5_000, [seats]);
    for (let start = 0; start < 10_000; start += 1_000) {
      await t.run(async (ctx) => {
        for (let i = start; i < start + 1_000; i++) {
          await ctx.db.insert("billingCustomers", {
            ownerKind: "user",
            ownerId: `kp_${i}`,
            customerId: `customer_${i}`,
            customerIdFetchedAt: 1,
            ...(i % 2 ? { fetchedAt: i } : {}),
            plans: [],
          });
        }
      });
    }
    const cost = await t.run(async (ctx) => {
      const answer = await (
        lastFetchQuery as unknown as { _handler: (ctx: QueryCtx, args: object) => Promise<unknown> }
      )._handler(ctx, {});
      const metrics = await ctx.meta.getTransactionMetrics();
      return {
        answer,
        documents: metrics.documentsRead.used,
        ranges: metrics.databaseQueries.used,
      };
    });
    expect(cost).toEqual({
      answer: {
        owner: { kind: "user", kindeId: "kp_9999" },
        customerId: "customer_9999",
        fetchedAt: 9_999,
      },
      documents: 1,
      ranges: 1,
    });
  }, 60_000);
});

describe("cost of a check", () => {
  type Check = (
    ctx: QueryCtx,
    args: { kindeId: string; orgCode?: string; feature: string },
  ) => Promise<unknown>;
  const handlerOf = (fn: unknown) => (fn as { _handler: Check })._handler;

  /** `customers` more customers (B2C and B2B, 3 entitlements each), and the checked ones with `entitlements` each. */
  async function seed(customers: number, entitlements: number) {
    const features = Array.from({ length: entitlements }, (_, i) => ({
      featureCode: `feature-${String(i).padStart(5, "0")}`,
      limitMax: i,
    }));
    await apply(ada, 5_000, features);
    await apply(acme, 5_000, features);
    for (let start = 0; start < customers; start += 1_000) {
      await t.run(async (ctx) => {
        for (let i = start; i < Math.min(customers, start + 1_000); i++) {
          const ownerKind = i % 2 ? "user" : "organization";
          const ownerId = `${ownerKind === "user" ? "kp" : "org"}_${i}`;
          const customerId = `customer_${i}`;
          await ctx.db.insert("billingCustomers", {
            ownerKind,
            ownerId,
            customerId,
            customerIdFetchedAt: 1,
            fetchedAt: 1,
            plans: [],
          });
          for (const featureCode of ["feature-00000", "seats", "reports"]) {
            await ctx.db.insert("billingEntitlements", {
              ownerKind,
              ownerId,
              customerId,
              featureCode,
            });
          }
        }
      });
    }
  }

  async function measure(check: Check, args: { orgCode?: string; feature: string }) {
    return await t.run(async (ctx) => {
      const answer = await check(ctx, { kindeId: "kp_ada", ...args });
      const metrics = await ctx.meta.getTransactionMetrics();
      return {
        answer,
        documents: metrics.documentsRead.used,
        ranges: metrics.databaseQueries.used,
      };
    });
  }

  test.each([
    ["hasEntitlement", hasEntitlement],
    ["getEntitlement", getEntitlement],
  ])(
    "%s reads the same documents and index ranges with 100 and 10,000 customers, 1 and 500 entitlements",
    async (_, fn) => {
      const check = handlerOf(fn);
      const costs = [];
      for (const [customers, entitlements] of [
        [100, 1],
        [10_000, MAX_ENTITLEMENTS_PER_CUSTOMER],
      ] as const) {
        t = initComponentTest();
        await t.run(async (ctx) => {
          await applyOrganizationSnapshot(ctx, version(100), { code: "org_acme" });
          await applyUserSnapshot(
            ctx,
            version(1_000),
            userSnapshot("kp_ada", { organizations: [membership("org_acme")] }),
          );
        });
        await seed(customers, entitlements);
        costs.push({
          b2c: await measure(check, { feature: "feature-00000" }),
          b2b: await measure(check, { orgCode: "org_acme", feature: "feature-00000" }),
          missing: await measure(check, { orgCode: "org_acme", feature: "nope" }),
        });
      }
      const [small, large] = costs;
      expect(large).toEqual(small);
      expect(small!.b2c.answer).toBeTruthy();
      expect(small!.b2b.answer).toBeTruthy();
      expect(small!.missing.answer).toBeFalsy();
      // User, customer, one entitlement; B2B adds the organization's tombstone look-up.
      expect(small!.b2c).toMatchObject({ documents: 3, ranges: 3 });
      expect(small!.b2b).toMatchObject({ documents: 3, ranges: 4 });
    },
    120_000,
  );
});
