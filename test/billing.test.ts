// Kinde Billing through the host's API: kinde.getBilling / hasEntitlement / getEntitlement /
// requireEntitlement, the custom functions' { entitlement }, userQueries' can, and the
// billing.updated hook, on the example app with users and organizations from signed webhooks.
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import {
  createFunctionHandle,
  makeFunctionReference,
  mutationGeneric,
  queryGeneric,
} from "convex/server";
import { v } from "convex/values";
import {
  kindeOrgCode,
  kindeUserId,
  organizationCreated,
  startKindeTestIssuer,
  userDeleted,
  userUpdated,
  type KindeTestIssuer,
} from "convex-kinde/test";
import {
  isKindeAuthorizationError,
  vEntitlement,
  vPlan,
  type KindeEntitlement,
  type MirrorEvent,
} from "convex-kinde";
import { api } from "../example/convex/_generated/api.js";
import { kinde } from "../example/convex/kinde.js";
import { initConvexTest, postWebhook, type ExampleTest } from "./setup.js";

const heard: MirrorEvent[] = [];

/** Host functions of a test app: what a host's code would write around the billing API. */
const hostModule = {
  onKindeEvent: kinde.events({
    "billing.updated": (_ctx, event) => {
      heard.push(event);
    },
  }),
  /** What the integration's refresh will do: hand one customer's fetch to the component, with the hook. */
  applyFetch: mutationGeneric({
    args: {
      orgCode: v.optional(v.string()),
      kindeId: v.optional(v.string()),
      fetchedAt: v.number(),
      plans: v.array(vPlan),
      entitlements: v.array(vEntitlement),
    },
    handler: async (ctx, { orgCode, kindeId, ...fetch }) => {
      const onEvent = await createFunctionHandle(
        makeFunctionReference<"mutation">("host:onKindeEvent"),
      );
      return await ctx.runMutation(kinde.component.billing.applyCustomer, {
        owner:
          orgCode !== undefined
            ? { kind: "organization", orgCode }
            : { kind: "user", kindeId: kindeId! },
        customerId: `customer_${orgCode ?? kindeId}`,
        ...fetch,
        hook: { onEvent, origin: { kind: "backfill", runId: "run_test" } },
      });
    },
  }),
  has: queryGeneric({
    args: { feature: v.string(), orgCode: v.optional(v.union(v.string(), v.null())) },
    handler: async (ctx, { feature, orgCode }) =>
      await kinde.hasEntitlement(ctx, { feature, ...(orgCode !== undefined && { orgCode }) }),
  }),
  require: queryGeneric({
    args: { feature: v.string(), orgCode: v.optional(v.string()) },
    handler: async (ctx, args) => await kinde.requireEntitlement(ctx, args),
  }),
  limits: queryGeneric({
    args: { feature: v.string(), orgCode: v.optional(v.string()) },
    handler: async (ctx, args) => await kinde.getEntitlement(ctx, args),
  }),
  billingOf: queryGeneric({
    args: { orgCode: v.optional(v.string()), kindeId: v.optional(v.string()) },
    handler: async (ctx, { orgCode, kindeId }) =>
      await kinde.getBilling(ctx, orgCode !== undefined ? { orgCode } : { kindeId: kindeId! }),
  }),
  exportCsv: kinde.customQuery(queryGeneric)({
    entitlement: "csv-export",
    args: {},
    handler: async (ctx) => ({ orgCode: ctx.kinde.orgCode, kindeId: ctx.kinde.user.kindeId }),
  }),
};

const host = {
  applyFetch: makeFunctionReference<"mutation">("host:applyFetch"),
  has: makeFunctionReference<"query">("host:has"),
  require: makeFunctionReference<"query">("host:require"),
  limits: makeFunctionReference<"query">("host:limits"),
  billingOf: makeFunctionReference<"query">("host:billingOf"),
  exportCsv: makeFunctionReference<"query">("host:exportCsv"),
};

let issuer: KindeTestIssuer;
let t: ExampleTest;
beforeAll(async () => {
  issuer = await startKindeTestIssuer();
});
afterAll(async () => {
  await issuer.close();
});

const csv: KindeEntitlement = { featureCode: "csv-export", featureName: "CSV export" };
const seats: KindeEntitlement = {
  featureCode: "seats",
  limitMin: 1,
  limitMax: 25,
  unitAmount: 900,
};
const pro = [{ planCode: "pro", subscribedOn: "2025-01-02T03:04:05+00" }];

let acme: string;
let ada: string;
let bob: string;

async function deliver(payload: object) {
  const answer = await postWebhook(t, await issuer.sign(payload));
  expect(answer.status, answer.text).toBe(200);
}

/** The refusal a call ended in (its data), or null if it succeeded. */
async function refusal(call: Promise<unknown>) {
  return await call.then(
    () => null,
    (error: unknown) => (isKindeAuthorizationError(error) ? error.data : error),
  );
}

// Acme is a B2B customer with csv-export; Ada is its member and a B2C customer herself with seats;
// Bob is in no organization.
beforeEach(async () => {
  heard.length = 0;
  vi.stubEnv("KINDE_ISSUER_URL", issuer.url);
  t = initConvexTest({ "./host.ts": async () => hostModule });
  acme = kindeOrgCode();
  ada = kindeUserId();
  bob = kindeUserId();
  await deliver(organizationCreated({ code: acme, name: "Acme" }));
  await deliver(
    userUpdated({ id: ada, organizations: [{ code: acme, roles: [], permissions: [] }] }),
  );
  await deliver(userUpdated({ id: bob }));
  await t.mutation(host.applyFetch, {
    orgCode: acme,
    fetchedAt: 1_000,
    plans: pro,
    entitlements: [csv],
  });
  await t.mutation(host.applyFetch, {
    kindeId: ada,
    fetchedAt: 1_000,
    plans: [],
    entitlements: [seats],
  });
});

describe("checks through the Kinde class", () => {
  test("B2B from the token's org_code, B2C without one, orgCode: null for the user's own", async () => {
    const inAcme = t.withIdentity({ subject: ada, org_code: acme });
    const noOrg = t.withIdentity({ subject: ada });
    expect(await inAcme.query(host.has, { feature: "csv-export" })).toBe(true);
    expect(await inAcme.query(host.has, { feature: "seats" })).toBe(false);
    expect(await noOrg.query(host.has, { feature: "seats" })).toBe(true);
    expect(await noOrg.query(host.has, { feature: "csv-export" })).toBe(false);
    expect(await inAcme.query(host.has, { feature: "seats", orgCode: null })).toBe(true);
    expect(await noOrg.query(host.has, { feature: "csv-export", orgCode: acme })).toBe(true);
    expect(await t.query(host.has, { feature: "csv-export", orgCode: acme })).toBe(false);
    expect(await inAcme.query(host.limits, { feature: "seats", orgCode: undefined })).toBeNull();
    expect(await noOrg.query(host.limits, { feature: "seats" })).toEqual(seats);
  });

  test("membership of the organization is required: another user's token naming it holds nothing", async () => {
    const bobInAcme = t.withIdentity({ subject: bob, org_code: acme });
    expect(await bobInAcme.query(host.has, { feature: "csv-export" })).toBe(false);
    expect(await refusal(bobInAcme.query(host.require, { feature: "csv-export" }))).toEqual({
      kind: "forbidden",
      message: `This needs membership of organization ${acme}.`,
      orgCode: acme,
    });
  });

  test("refusals: unauthenticated, forbidden, notEntitled (the organization's or the user's own)", async () => {
    expect(await refusal(t.query(host.require, { feature: "csv-export" }))).toMatchObject({
      kind: "unauthenticated",
    });
    const inAcme = t.withIdentity({ subject: ada, org_code: acme });
    expect(await refusal(inAcme.query(host.require, { feature: "seats" }))).toEqual({
      kind: "notEntitled",
      message: `This needs the feature "seats" in the plan of organization ${acme}.`,
      feature: "seats",
      orgCode: acme,
    });
    expect(
      await refusal(t.withIdentity({ subject: bob }).query(host.require, { feature: "seats" })),
    ).toEqual({
      kind: "notEntitled",
      message: 'This needs the feature "seats" in your plan.',
      feature: "seats",
    });
    expect(await inAcme.query(host.require, { feature: "csv-export" })).toEqual(csv);
  });

  test("a suspended user is refused what their organization is entitled to", async () => {
    await deliver(
      userUpdated({
        id: ada,
        is_suspended: true,
        organizations: [{ code: acme, roles: [], permissions: [] }],
      }),
    );
    const inAcme = t.withIdentity({ subject: ada, org_code: acme });
    expect(await inAcme.query(host.has, { feature: "csv-export" })).toBe(false);
    expect(await refusal(inAcme.query(host.require, { feature: "csv-export" }))).toMatchObject({
      kind: "forbidden",
    });
  });

  test("a cancelled plan stops passing once the newer fetch lands; an older one cannot bring it back", async () => {
    const inAcme = t.withIdentity({ subject: ada, org_code: acme });
    await t.mutation(host.applyFetch, {
      orgCode: acme,
      fetchedAt: 2_000,
      plans: [],
      entitlements: [],
    });
    expect(await inAcme.query(host.has, { feature: "csv-export" })).toBe(false);
    expect(
      await t.mutation(host.applyFetch, {
        orgCode: acme,
        fetchedAt: 1_500,
        plans: pro,
        entitlements: [csv],
      }),
    ).toEqual({ outcome: "stale" });
    expect(await inAcme.query(host.has, { feature: "csv-export" })).toBe(false);
  });

  test("a deleted user's customer is gone, and a fetch in flight does not bring it back", async () => {
    await deliver(userDeleted(ada));
    expect(await t.query(host.billingOf, { kindeId: ada })).toBeNull();
    expect(
      await t.mutation(host.applyFetch, {
        kindeId: ada,
        fetchedAt: 9_000,
        plans: pro,
        entitlements: [seats],
      }),
    ).toEqual({ outcome: "missing" });
    expect(await t.query(host.billingOf, { kindeId: ada })).toBeNull();
  });
});

describe("the client's functions", () => {
  test("customQuery with { entitlement }: the same refusals as requireEntitlement", async () => {
    const inAcme = t.withIdentity({ subject: ada, org_code: acme });
    expect(await inAcme.query(host.exportCsv, {})).toEqual({ orgCode: acme, kindeId: ada });
    expect(await refusal(t.withIdentity({ subject: ada }).query(host.exportCsv, {}))).toMatchObject(
      {
        kind: "notEntitled",
        feature: "csv-export",
      },
    );
    expect(
      await refusal(t.withIdentity({ subject: bob, org_code: acme }).query(host.exportCsv, {})),
    ).toMatchObject({ kind: "forbidden", orgCode: acme });
    expect(await refusal(t.query(host.exportCsv, {}))).toMatchObject({ kind: "unauthenticated" });
  });

  test("userQueries' can takes { entitlement }, and exactly one thing to check", async () => {
    const inAcme = t.withIdentity({ subject: ada, org_code: acme });
    expect(await inAcme.query(api.kindeUser.can, { entitlement: "csv-export" })).toBe(true);
    expect(await inAcme.query(api.kindeUser.can, { entitlement: "seats" })).toBe(false);
    expect(
      await t.withIdentity({ subject: ada }).query(api.kindeUser.can, { entitlement: "seats" }),
    ).toBe(true);
    await expect(
      inAcme.query(api.kindeUser.can, { entitlement: "seats", permission: "read:docs" }),
    ).rejects.toThrow("exactly one of `permission`, `role` and `entitlement`");
  });
});

describe("hooks", () => {
  test("billing.updated with previous when plans or entitlements change; nothing when a fetch changes nothing", async () => {
    expect(heard.map((e) => e.type)).toEqual(["billing.updated", "billing.updated"]);
    expect(heard[0]).toMatchObject({
      billing: { customerId: `customer_${acme}`, owner: { kind: "organization", orgCode: acme } },
      previous: null,
      origin: { kind: "backfill", runId: "run_test" },
    });
    heard.length = 0;
    await t.mutation(host.applyFetch, {
      orgCode: acme,
      fetchedAt: 2_000,
      plans: pro,
      entitlements: [csv],
    });
    expect(heard).toEqual([]);
    await t.mutation(host.applyFetch, {
      orgCode: acme,
      fetchedAt: 3_000,
      plans: [],
      entitlements: [],
    });
    expect(heard).toHaveLength(1);
    const [cancelled] = heard as Extract<MirrorEvent, { type: "billing.updated" }>[];
    expect(cancelled!.previous).toMatchObject({
      plans: pro,
      entitlements: [csv],
      fetchedAt: 2_000,
    });
    expect(cancelled!.billing).toMatchObject({ plans: [], entitlements: [], fetchedAt: 3_000 });
  });
});
