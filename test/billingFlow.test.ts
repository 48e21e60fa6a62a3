/**
 * Kinde Billing's data path end to end (the `billing` option): the example
 * app on convex-test with a host module whose Kinde has billing on, real
 * signed webhooks, and the Management API stand-in over real HTTP serving
 * the billing endpoints on spec. A refresh reads an owner's customer and its
 * entitlements; a `customer.*` webhook schedules that refresh; the check
 * (`hasEntitlement`) follows.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { httpRouter, makeFunctionReference } from "convex/server";
import kindeTest, {
  customerEvent,
  makeTenant,
  makeTenantBilling,
  organizationCreated,
  readKindeScheduledFunctions,
  tenantEntitlement,
  userCreated,
  userDeleted,
  type ManagementApiStandIn,
  type TenantUser,
} from "convex-kinde/test";
import { Kinde, type EnrichmentOptions, type MirrorEvent, type RefreshResult } from "convex-kinde";
import { components, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import type { DataModel } from "../example/convex/_generated/dataModel.js";
import { anHourAgo, modules, postWebhook, useManagementApi, useWebhookTest } from "./setup.js";

const app = useWebhookTest();
const managementApi = useManagementApi();
let kinde: ManagementApiStandIn;

const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20 };

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

const heard: MirrorEvent[] = [];

/**
 * The example app plus a host module whose Kinde has `billing` on (and
 * `enrichment` if given), its refresh action, and the webhook route with the
 * refresh triggers. The tenant's first user is a B2C customer, its first
 * organization a B2B one (`makeTenantBilling`).
 */
async function billedApp({ enrichment }: { enrichment?: EnrichmentOptions } = {}) {
  heard.length = 0;
  const tenant = makeTenant({ users: 4, organizations: 2 });
  kinde = await managementApi.serve({ ...tenant, billing: makeTenantBilling(tenant) });
  const billed = new Kinde(components.kinde, { billing: true, enrichment });
  const host = {
    refresh: billed.refreshAction({
      retry: FAST_RETRY,
      onEvent: makeFunctionReference<"mutation">("host:onEvent") as never,
    }),
    onEvent: billed.events<DataModel>({
      "billing.updated": (_ctx, event) => {
        heard.push(event);
      },
      // A host's own handler of a billing type still runs beside the trigger.
      "customer.plan_changed": async (ctx, { data }) => {
        await ctx.db.insert("profiles", {
          kindeId: "heard:plan_changed",
          displayName: JSON.stringify(data),
        });
        return undefined;
      },
    }),
  };
  const http = httpRouter();
  billed.registerRoutes(http, {
    onEvent: makeFunctionReference<"mutation">("host:onEvent") as never,
    refresh: makeFunctionReference<"action">("host:refresh") as never,
  });
  const t = convexTest({
    schema,
    modules: {
      ...modules,
      "./host.ts": async () => host,
      "./http.ts": async () => ({ default: http }),
    },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  const refresh = (args: Record<string, unknown>) =>
    t.action(makeFunctionReference<"action">("host:refresh"), args) as Promise<RefreshResult>;
  const deliver = async (payload: object) =>
    (await postWebhook(t, await app.issuer.sign(payload))).text;
  const at = anHourAgo();
  let step = 0;
  /** Mirrors a tenant user through its `user.created` webhook, in these organizations. */
  const mirrorUser = async (user: TenantUser, orgCodes: string[] = []) => {
    expect(
      await deliver(
        userCreated(
          {
            id: user.id,
            email: user.email,
            organizations: orgCodes.map((code) => ({ code, roles: [], permissions: [] })),
          },
          { at: at + step++ },
        ),
      ),
    ).toMatch(/^applied/);
  };
  const mirrorOrganization = async (code: string) => {
    expect(await deliver(organizationCreated({ code, name: code }, { at: at + step++ }))).toMatch(
      /^applied/,
    );
  };
  const has = (kindeId: string, feature: string, orgCode?: string) =>
    t.query(components.kinde.billing.hasEntitlement, {
      kindeId,
      feature,
      ...(orgCode !== undefined && { orgCode }),
    });
  const billingOf = (
    owner: { kind: "user"; kindeId: string } | { kind: "organization"; orgCode: string },
  ) => t.query(components.kinde.billing.getBilling, { owner });
  const scheduled = () => t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
  /** The refreshes the component scheduled and that have not run, as `kind entityId`. */
  const refreshes = async () =>
    (await readKindeScheduledFunctions(t))
      .filter((job) => job.state === "pending")
      .map((job) => {
        const { kind, entityId } = job.args[0] as { kind: string; entityId: string };
        return `${job.name} ${kind} ${entityId}`;
      });
  const events = async () =>
    (
      await t.query(components.kinde.events.listEvents, {
        paginationOpts: { numItems: 100, cursor: null },
      })
    ).page;
  /** Runs the scheduled functions, moving the fake clock to each (a trigger waits 5 s). */
  const runScheduled = () => t.finishAllScheduledFunctions(() => vi.runOnlyPendingTimers());
  return {
    t,
    refresh,
    deliver,
    mirrorUser,
    mirrorOrganization,
    has,
    billingOf,
    scheduled,
    refreshes,
    events,
    runScheduled,
    at,
  };
}

const apiRequests = () => kinde.requests.filter((r) => r.path !== "/oauth2/token");
const apiPaths = () => apiRequests().map((r) => r.path);
const customerOf = (owner: { user: string } | { organization: string }) =>
  kinde.tenant.billing!.customers.find((c) => JSON.stringify(c.owner) === JSON.stringify(owner))!;

describe("a refresh with billing on", () => {
  test("B2C: the user's customer id, then its entitlements and plans; the hook hears billing.updated", async () => {
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(false);

    const result = await host.refresh({ kind: "user", entityId: ada.id });
    // Two API requests (and the token's).
    expect(result).toMatchObject({ outcome: "refreshed", billing: "applied", requests: 3 });
    expect(apiRequests().map((r) => [r.path, r.query])).toEqual([
      ["/api/v1/user", { id: ada.id, expand: "billing" }],
      [
        "/api/v1/billing/entitlements",
        { customer_id: customerOf({ user: ada.id }).id, page_size: "100", expand: "plans" },
      ],
    ]);
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(true);
    const billing = await host.billingOf({ kind: "user", kindeId: ada.id });
    expect(billing).toMatchObject({
      customerId: customerOf({ user: ada.id }).id,
      plans: [{ planCode: "personal", subscribedOn: "2024-11-18T13:32:03+11" }],
      entitlements: [{ featureCode: "CcdkvEXpbg6UY", featureName: "Pro Gym", fixedCharge: 35 }],
    });
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({
      type: "billing.updated",
      previous: null,
      origin: { kind: "refresh", fetchedAt: billing!.fetchedAt },
    });
  });

  test("with enrichment's details: the customer id comes with the same user read, no extra request", async () => {
    const host = await billedApp({ enrichment: { details: ["picture", "identities"] } });
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    const result = await host.refresh({ kind: "user", entityId: ada.id });
    expect(result).toMatchObject({ outcome: "refreshed", applied: 1, billing: "applied" });
    expect(apiRequests().map((r) => [r.path, r.query.expand])).toEqual([
      ["/api/v1/user", "identities,billing"],
      ["/api/v1/billing/entitlements", "plans"],
    ]);
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(true);
  });

  test("B2B: the organization's customer (GET /api/v1/organization?expand=billing) gates its members", async () => {
    const host = await billedApp();
    const org = kinde.tenant.organizations[0]!;
    const bob = kinde.tenant.users[1]!;
    await host.mirrorOrganization(org.code);
    await host.mirrorUser(bob, [org.code]);
    const result = await host.refresh({ kind: "organization", entityId: org.code });
    expect(result).toMatchObject({ outcome: "refreshed", billing: "applied", requests: 3 });
    expect(apiRequests()[0]).toMatchObject({
      path: "/api/v1/organization",
      query: { code: org.code, expand: "billing" },
    });
    expect(await host.has(bob.id, "csv-export", org.code)).toBe(true);
    expect(await host.has(bob.id, "seats", org.code)).toBe(true);
    // Not the user's own customer.
    expect(await host.has(bob.id, "csv-export")).toBe(false);
  });

  test("an owner who is no customer: its id read, nothing else asked", async () => {
    const host = await billedApp();
    const carol = kinde.tenant.users[2]!;
    await host.mirrorUser(carol);
    const result = await host.refresh({ kind: "user", entityId: carol.id });
    expect(result).toMatchObject({ outcome: "refreshed", billing: "no customer", requests: 2 });
    expect(apiPaths()).toEqual(["/api/v1/user"]);
    expect(await host.billingOf({ kind: "user", kindeId: carol.id })).toBeNull();
  });

  test("a cancelled plan: the refresh after it drops the entitlement, and the check stops passing", async () => {
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    await host.refresh({ kind: "user", entityId: ada.id });
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(true);
    const customer = customerOf({ user: ada.id });
    customer.plans = [];
    customer.entitlements = [];
    await host.refresh({ kind: "user", entityId: ada.id });
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(false);
    expect(heard.at(-1)).toMatchObject({ type: "billing.updated", billing: { entitlements: [] } });
  });

  test("racing another refresh: the one begun first, answered with the old plan, is stale", async () => {
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    const customer = customerOf({ user: ada.id });
    let second: RefreshResult | undefined;
    let raced = false;
    kinde.beforeSending(async (path) => {
      if (path !== "/api/v1/billing/entitlements" || raced) return;
      // The first refresh's entitlements read is in flight: Kinde upgrades, a second refresh runs whole.
      raced = true;
      const answeredFirst = structuredClone(customer.entitlements);
      customer.entitlements = [tenantEntitlement(9, { feature_code: "pro-feature" })];
      second = await host.refresh({ kind: "user", entityId: ada.id });
      // The first read still answers what Kinde had when it was made.
      customer.entitlements = answeredFirst;
    });
    const first = await host.refresh({ kind: "user", entityId: ada.id });
    expect(second).toMatchObject({ outcome: "refreshed", billing: "applied" });
    expect(first).toMatchObject({ outcome: "refreshed", billing: "stale" });
    expect(await host.has(ada.id, "pro-feature")).toBe(true);
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(false);
  });

  test("a user deleted while its refresh is in flight: nothing of its billing comes back", async () => {
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    let deleted = "";
    kinde.beforeSending(async (path) => {
      if (path === "/api/v1/billing/entitlements" && !deleted) {
        deleted = await host.deliver(userDeleted(ada.id, { at: host.at + 1000 }));
      }
    });
    const result = await host.refresh({ kind: "user", entityId: ada.id });
    expect(deleted).toMatch(/^applied/);
    expect(result).toMatchObject({ outcome: "refreshed", billing: "missing" });
    expect(await host.billingOf({ kind: "user", kindeId: ada.id })).toBeNull();
    expect(heard).toEqual([]);
  });

  test("a 429 on the entitlements read asking for 15 minutes: the refresh runs again then and completes", async () => {
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    // Once the user's read is answered, the next request (the entitlements) is rate-limited.
    kinde.beforeSending(async (path) => {
      if (path === "/api/v1/user") {
        kinde.beforeSending(null);
        kinde.rateLimitNext(1, 900, { header: "Retry-After" });
      }
    });
    const result = await host.refresh({ kind: "user", entityId: ada.id });
    expect(result.outcome).toBe("waiting");
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(false);
    const [again] = await host.scheduled();
    expect(again!.args[0]).toMatchObject({
      kind: "user",
      entityId: ada.id,
      tries: { request: "GET /api/v1/billing/entitlements", rateLimited: 1 },
    });
    const resumed = await host.refresh(again!.args[0] as Record<string, unknown>);
    expect(resumed).toMatchObject({ outcome: "refreshed", billing: "applied" });
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(true);
  });

  test("a customer past the mirror's bounds: logged, not retried, the stored customer left", async () => {
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    await host.refresh({ kind: "user", entityId: ada.id });
    const customer = customerOf({ user: ada.id });
    customer.entitlements = Array.from({ length: 501 }, (_, i) => tenantEntitlement(i));
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const result = await host.refresh({ kind: "user", entityId: ada.id });
    expect(result).toMatchObject({ outcome: "refreshed", billing: "failed" });
    expect(result.error).toMatch(/more than 500 entitlements/);
    expect(await host.scheduled()).toEqual([]);
    expect(errors.mock.calls.map((c) => c.join(" ")).join("\n")).toMatch(
      /refresh: user kp_\w+: billing customer customer_\w+ has more than 500/,
    );
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(true);
  });
});

describe("customer.* webhooks with billing on", () => {
  const fakeTimers = () => vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });

  test("B2C: an event naming the user refreshes it, and the check follows; a cancellation stops it passing", async () => {
    fakeTimers();
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    const customer = customerOf({ user: ada.id });
    // The mirror does not know the customer id yet: the event names the user.
    expect(
      await host.deliver(
        customerEvent("customer.agreement_created", { id: ada.id, shape: "user_id" }),
      ),
    ).toMatch(/^ignored/);
    expect(await host.refreshes()).toEqual([`host:refresh user ${ada.id}`]);
    await host.runScheduled();
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(true);

    // Kinde cancels the plan: the stand-in drops the entitlement, then the event names the customer.
    customer.plans = [];
    customer.entitlements = [];
    expect(
      await host.deliver(customerEvent("customer.agreement_cancelled", { id: customer.id })),
    ).toMatch(/^ignored/);
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(true); // until the refresh lands
    await host.runScheduled();
    expect(await host.has(ada.id, "CcdkvEXpbg6UY")).toBe(false);
    expect((await host.events()).every((e) => e.unmatchedKeys === undefined)).toBe(true);
  });

  test("B2B: data.org_code and data.customer.id find the organization; the host's own handler still runs", async () => {
    fakeTimers();
    const host = await billedApp();
    const org = kinde.tenant.organizations[0]!;
    const bob = kinde.tenant.users[1]!;
    await host.mirrorOrganization(org.code);
    await host.mirrorUser(bob, [org.code]);
    expect(
      await host.deliver(
        customerEvent(
          "customer.plan_changed",
          { id: org.code, shape: "org_code", fields: { plan_code: "team" } },
          { at: host.at + 100 },
        ),
      ),
    ).toMatch(/^delivered/);
    const handled = await host.t.run((ctx) => ctx.db.query("profiles").collect());
    expect(handled.filter((p) => p.kindeId === "heard:plan_changed")).toHaveLength(1);
    await host.runScheduled();
    expect(await host.has(bob.id, "csv-export", org.code)).toBe(true);

    const customer = customerOf({ organization: org.code });
    customer.entitlements = customer.entitlements.filter((e) => e.feature_code !== "csv-export");
    expect(
      await host.deliver(
        customerEvent(
          "customer.plan_changed",
          { id: customer.id, shape: "customer.id" },
          { at: host.at + 200 },
        ),
      ),
    ).toMatch(/^delivered/);
    expect(await host.refreshes()).toEqual([`host:refresh organization ${org.code}`]);
    await host.runScheduled();
    expect(await host.has(bob.id, "csv-export", org.code)).toBe(false);
    expect(await host.has(bob.id, "seats", org.code)).toBe(true);
  });

  test("a burst, duplicates and out-of-order events: one refresh, and it reads what Kinde has now", async () => {
    fakeTimers();
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    const customer = customerOf({ user: ada.id });
    customer.entitlements = [tenantEntitlement(7, { feature_code: "upgraded" })];
    const newer = customerEvent(
      "customer.plan_changed",
      { id: ada.id, shape: "user_id" },
      { at: host.at + 2000 },
    );
    const older = customerEvent(
      "customer.plan_assigned",
      { id: ada.id, shape: "user_id" },
      { at: host.at + 1000 },
    );
    expect(await host.deliver(newer)).toMatch(/^delivered/);
    expect(await host.deliver(older)).toMatch(/^ignored/);
    expect(await host.deliver(newer)).toMatch(/^duplicate/);
    expect(await host.refreshes()).toEqual([`host:refresh user ${ada.id}`]);
    await host.runScheduled();
    expect(apiPaths()).toEqual(["/api/v1/user", "/api/v1/billing/entitlements"]);
    expect(await host.has(ada.id, "upgraded")).toBe(true);
    // A duplicate after the refresh ran asks for nothing.
    expect(await host.deliver(older)).toMatch(/^duplicate/);
    expect(await host.refreshes()).toEqual([]);
  });

  test("expired and future-dated events ask for nothing", async () => {
    fakeTimers();
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    const ref = { id: ada.id, shape: "user_id" as const };
    expect(
      await host.deliver(
        customerEvent("customer.plan_assigned", ref, { at: Date.now() - 30 * 86_400_000 }),
      ),
    ).toMatch(/^expired/);
    expect(
      await host.deliver(
        customerEvent("customer.plan_assigned", ref, { at: Date.now() + 86_400_000 }),
      ),
    ).toMatch(/^future/);
    expect(await host.refreshes()).toEqual([]);
  });

  test("an unmatched customer: the event's keys are recorded, never its values; nothing is scheduled", async () => {
    fakeTimers();
    const host = await billedApp();
    const ada = kinde.tenant.users[0]!;
    await host.mirrorUser(ada);
    await host.deliver(userDeleted(kinde.tenant.users[3]!.id, { at: host.at + 10 }));
    const secret = "card_4242424242424242";
    const longKey = `k${"x".repeat(100)}`;
    const cases = [
      customerEvent("customer.payment_failed", {
        id: "customer_unknown000000000000000000000",
        fields: { payment_method: secret, [longKey]: 1 },
      }),
      // A user the mirror does not have (deleted), and an organization it never saw.
      customerEvent("customer.invoice_overdue", {
        id: kinde.tenant.users[3]!.id,
        shape: "user_id",
      }),
      customerEvent("customer.invoice_overdue", { id: "org_never", shape: "org_code" }),
      // No usable id at all.
      customerEvent("customer.meter_usage_updated", { id: "", fields: { usage: secret } }),
    ];
    for (const event of cases) expect(await host.deliver(event)).toMatch(/^ignored/);
    expect(await host.refreshes()).toEqual([]);
    const recorded = (await host.events()).filter((e) => e.type.startsWith("customer."));
    expect(recorded.map((e) => [e.type, e.outcome, e.unmatchedKeys])).toEqual(
      [
        [
          "customer.payment_failed",
          "ignored",
          ["payment_method", `k${"x".repeat(63)}`, "customer_id"],
        ],
        ["customer.invoice_overdue", "ignored", ["user_id"]],
        ["customer.invoice_overdue", "ignored", ["org_code"]],
        ["customer.meter_usage_updated", "ignored", ["usage", "customer_id"]],
      ].reverse(),
    );
    expect(JSON.stringify(recorded)).not.toContain(secret);
  });

  test("more than 20 keys: the first 20 are recorded", async () => {
    const host = await billedApp();
    const keys = Array.from({ length: 30 }, (_, i) => `key_${i}`);
    const event = customerEvent("customer.payment_succeeded", {
      id: "customer_unknown000000000000000000000",
      fields: Object.fromEntries(keys.map((k) => [k, k])),
    });
    expect(await host.deliver(event)).toMatch(/^ignored/);
    const [record] = await host.events();
    expect(record!.unmatchedKeys).toEqual(keys.slice(0, 20));
  });
});

describe("customer.* webhooks without billing", () => {
  test("record no keys and schedule nothing (billing off, enrichment on)", async () => {
    const tenant = makeTenant({ users: 2, organizations: 1 });
    kinde = await managementApi.serve({ ...tenant, billing: makeTenantBilling(tenant) });
    const enriched = new Kinde(components.kinde, { enrichment: {} });
    const http = httpRouter();
    enriched.registerRoutes(http, {
      onEvent: internal.kinde.onKindeEvent,
      refresh: makeFunctionReference<"action">("host:refresh") as never,
    });
    const t = convexTest({
      schema,
      modules: {
        ...modules,
        "./host.ts": async () => ({ refresh: enriched.refreshAction() }),
        "./http.ts": async () => ({ default: http }),
      },
      transactionLimits: true,
    });
    kindeTest.register(t, "kinde", { inspect: true });
    const ada = tenant.users[0]!;
    await postWebhook(t, await app.issuer.sign(userCreated({ id: ada.id }, { at: anHourAgo() })));
    const pending = async () =>
      (await readKindeScheduledFunctions(t)).filter((job) => job.state === "pending");
    const before = await pending();
    const answer = await postWebhook(
      t,
      await app.issuer.sign(
        customerEvent("customer.plan_changed", { id: ada.id, shape: "user_id" }),
      ),
    );
    expect(answer.text).toMatch(/^ignored/);
    expect(await pending()).toEqual(before);
    const { page } = await t.query(components.kinde.events.listEvents, {
      paginationOpts: { numItems: 1, cursor: null },
    });
    expect(page[0]).toMatchObject({ type: "customer.plan_changed", outcome: "ignored" });
    expect(page[0]).not.toHaveProperty("unmatchedKeys");
  });
});

describe('the sweep ({ kind: "all" }) with billing on', () => {
  test("billing alone: every user's customer from the users listing, each organization's, each customer read once", async () => {
    const host = await billedApp();
    const [ada, bob] = kinde.tenant.users;
    const [acme, other] = kinde.tenant.organizations;
    await host.mirrorOrganization(acme!.code);
    await host.mirrorOrganization(other!.code);
    await host.mirrorUser(ada!);
    await host.mirrorUser(bob!, [acme!.code]);
    const first = await host.refresh({ kind: "all" });
    expect(first.outcome).toBe("continuing");
    await host.t.finishAllScheduledFunctions(() => {});
    expect(await host.has(ada!.id, "CcdkvEXpbg6UY")).toBe(true);
    expect(await host.has(bob!.id, "csv-export", acme!.code)).toBe(true);
    expect(await host.billingOf({ kind: "user", kindeId: bob!.id })).toBeNull();
    expect(apiRequests().map((r) => [r.path, r.query.expand])).toEqual([
      ["/api/v1/users", "billing"],
      ["/api/v1/billing/entitlements", "plans"],
      ["/api/v1/organizations", undefined],
      ["/api/v1/organization", "billing"],
      ["/api/v1/billing/entitlements", "plans"],
      ["/api/v1/organization", "billing"],
    ]);
  });
});
