/**
 * The backfill with billing on, end to end against the Management API
 * stand-in: every user's and organization's customer id (users from the
 * listing itself, `expand=organizations,billing`; organizations one request
 * each), then one entitlements read per customer; a long wait on the way
 * resumes the run, which still fills every customer.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import kindeTest, {
  hostileCustomer,
  makeTenant,
  makeTenantBilling,
  tenantEntitlement,
  type Tenant,
  type TenantCustomer,
} from "convex-kinde/test";
import { Kinde, type BackfillActionOptions, type BackfillResult } from "convex-kinde";
import { components, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import { modules, useManagementApi, useWebhookTest } from "./setup.js";

useWebhookTest();
const managementApi = useManagementApi();

afterEach(() => {
  vi.useRealTimers();
});

/**
 * 9 users (three pages of 4) and 3 organizations; customers: users 1, 3, 6
 * and 9, organizations 1 and 3, one of them with 250 entitlements (three
 * pages of 100) and hostile values.
 */
function billedTenant(): Tenant {
  const tenant = makeTenant({ users: 9, organizations: 3 });
  const billing = makeTenantBilling(tenant);
  const customer = (i: number, owner: TenantCustomer["owner"]): TenantCustomer => ({
    id: `customer_${String(i).padStart(32, "0")}`,
    owner,
    plans: [{ code: `plan-${i}`, subscribed_on: null }],
    entitlements: [tenantEntitlement(i, { feature_code: `feature-of-${i}` })],
  });
  billing.customers.push(
    customer(3, { user: tenant.users[2]!.id }),
    customer(6, { user: tenant.users[5]!.id }),
    hostileCustomer({ user: tenant.users[8]!.id }, 250),
    customer(7, { organization: tenant.organizations[2]!.code }),
  );
  return { ...tenant, billing };
}

function backfillApp(options: BackfillActionOptions = {}) {
  const host = {
    backfill: new Kinde(components.kinde, { billing: true }).backfillAction({
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      onEvent: internal.kinde.onKindeEvent,
      ...options,
    }),
  };
  const t = convexTest({
    schema,
    modules: { ...modules, "./host.ts": async () => host },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  const run = async () => {
    const result = (await t.action(
      makeFunctionReference<"action">("host:backfill"),
      {},
    )) as BackfillResult;
    if (result.continuing) await t.finishAllScheduledFunctions(() => vi.runOnlyPendingTimers());
    return result;
  };
  const status = () => t.query(internal.diagnostics.backfillStatus, {});
  const billingOf = (owner: TenantCustomer["owner"]) =>
    t.query(components.kinde.billing.getBilling, {
      owner:
        "user" in owner
          ? { kind: "user", kindeId: owner.user }
          : { kind: "organization", orgCode: owner.organization },
    });
  return { t, run, status, billingOf };
}

/** Each tenant customer is mirrored with its id and every feature code it can hold. */
async function expectEveryCustomer(app: ReturnType<typeof backfillApp>, tenant: Tenant) {
  for (const customer of tenant.billing!.customers) {
    const billing = await app.billingOf(customer.owner);
    expect(billing, JSON.stringify(customer.owner)).not.toBeNull();
    expect(billing!.customerId).toBe(customer.id);
    const kept = customer.entitlements
      .map((e) => e.feature_code)
      .filter((code): code is string => code !== null && code.length <= 256);
    expect(new Set(billing!.entitlements.map((e) => e.featureCode))).toEqual(new Set(kept));
  }
}

describe("the backfill with billing", () => {
  test("fills every customer: user ids from the listing, one request per organization, one read per customer", async () => {
    const tenant = billedTenant();
    const kinde = await managementApi.serve(tenant);
    kinde.capPageSize(4);
    const app = backfillApp();
    await app.run();
    expect(await app.status()).toMatchObject({ status: "done" });
    await expectEveryCustomer(app, tenant);
    // Users who are no customer have none.
    expect(await app.billingOf({ user: tenant.users[1]!.id })).toBeNull();
    expect(await app.billingOf({ organization: tenant.organizations[1]!.code })).toBeNull();

    const api = kinde.requests.filter((r) => r.path !== "/oauth2/token");
    const listings = api.filter((r) => r.path === "/api/v1/users");
    expect(listings).toHaveLength(3);
    for (const listing of listings) expect(listing.query.expand).toBe("organizations,billing");
    expect(api.filter((r) => r.path === "/api/v1/user")).toEqual([]);
    expect(api.filter((r) => r.path === "/api/v1/organization").map((r) => r.query)).toEqual(
      tenant.organizations.map((o) => ({ code: o.code, expand: "billing" })),
    );
    // One read per customer, the hostile one's 250 entitlements in three pages.
    const reads = api.filter((r) => r.path === "/api/v1/billing/entitlements");
    expect(reads).toHaveLength(tenant.billing!.customers.length + 2);
  });

  test("a long wait among the entitlements reads: the run waits, resumes, and fills every customer", async () => {
    const tenant = billedTenant();
    const kinde = await managementApi.serve(tenant);
    kinde.capPageSize(4);
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const app = backfillApp({ timeBudgetMs: 0 });
    let limited = false;
    kinde.beforeSending(async (path) => {
      if (path === "/api/v1/billing/entitlements" && !limited) {
        limited = true;
        kinde.rateLimitNext(1, 900, { header: "Retry-After" });
      }
    });
    await app.run();
    expect(limited).toBe(true);
    expect(await app.status()).toMatchObject({ status: "done" });
    await expectEveryCustomer(app, tenant);
  });
});
