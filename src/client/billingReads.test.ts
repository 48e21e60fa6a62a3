/**
 * Billing's Management API reads against the stand-in: a customer's
 * entitlements and plans over several pages, Kinde's nulls and hostile
 * values, 429s and 5xx on the way, loops in Kinde's paging, and whose
 * customer is whose.
 */
import { afterEach, describe, expect, test } from "vitest";
import {
  makeTenant,
  startKindeManagementApi,
  type ManagementApiStandIn,
} from "../testing/managementApi.js";
import { hostileCustomer, makeTenantBilling, tenantEntitlement } from "../testing/billing.js";
import { MAX_ENTITLEMENTS_PER_CUSTOMER } from "../shared/billing.js";
import { DEFAULT_RETRY, ManagementApi, ManagementApiError } from "./managementApi.js";
import {
  BillingLimitError,
  customerIdsOfListed,
  ENTITLEMENTS_PAGE_SIZE,
  ENTITLEMENTS_PATH,
  readCustomer,
  readOrganizationCustomerId,
  readUserCustomerId,
  toEntitlement,
} from "./billingReads.js";

let kinde: ManagementApiStandIn | undefined;
afterEach(async () => {
  await kinde?.close();
  kinde = undefined;
});

async function serve() {
  const tenant = makeTenant({ users: 3, organizations: 2 });
  tenant.billing = makeTenantBilling(tenant);
  kinde = await startKindeManagementApi(tenant);
  return kinde;
}

/** A client that sleeps short waits (so a few 429s of 1 s are slept, not scheduled). */
function client() {
  const { url, clientId, clientSecret } = kinde!;
  return new ManagementApi(
    { domain: url, clientId, clientSecret },
    { ...DEFAULT_RETRY, baseDelayMs: 1, maxDelayMs: 5 },
  );
}

const entitlementRequests = () => kinde!.requests.filter((r) => r.path === ENTITLEMENTS_PATH);

describe("mapping Kinde's entitlements", () => {
  test("snake_case to camelCase, nulls absent, a code too long or missing left out and named", () => {
    const dropped: string[] = [];
    expect(
      toEntitlement(
        tenantEntitlement(0, {
          feature_code: "seats",
          feature_name: "",
          entitlement_limit_min: 0,
          entitlement_limit_max: 25,
          unit_amount: 900,
        }),
        dropped,
      ),
    ).toEqual({ featureCode: "seats", limitMin: 0, limitMax: 25, unitAmount: 900 });
    expect(
      toEntitlement(tenantEntitlement(1, { feature_code: "x".repeat(257) }), dropped),
    ).toBeNull();
    expect(toEntitlement(tenantEntitlement(2, { feature_code: null }), dropped)).toBeNull();
    expect(toEntitlement("not an object", dropped)).toBeNull();
    expect(dropped).toEqual([
      "an entitlement whose feature_code has 257 characters (over 256)",
      expect.stringContaining("an entitlement without a feature_code (entitlement_"),
      "an entitlement that is not an object",
    ]);
  });

  test("customer ids of a users page with expand=billing: null for a user who is none", () => {
    expect(
      customerIdsOfListed([
        { id: "kp_1", billing: { customer_id: "customer_1" } },
        { id: "kp_2", billing: null },
        { id: "kp_3" },
        { id: "kp_4", billing: { customer_id: "" } },
        { billing: { customer_id: "customer_orphan" } },
      ]),
    ).toEqual([
      { kindeId: "kp_1", customerId: "customer_1" },
      { kindeId: "kp_2", customerId: null },
      { kindeId: "kp_3", customerId: null },
      { kindeId: "kp_4", customerId: null },
    ]);
  });
});

describe("a customer's entitlements and plans", () => {
  test("one request for a small customer, plans with it, on spec", async () => {
    await serve();
    const read = await readCustomer(client(), "customer_0195ac80a14e8d71f42b98e75d3c61ae");
    expect(read).toEqual({
      plans: [
        { planCode: "team", subscribedOn: "2025-01-02T03:04:05+00" },
        { planCode: "addon-export" },
      ],
      entitlements: [
        {
          featureCode: "seats",
          featureName: "Seats",
          limitMin: 1,
          limitMax: 25,
          priceName: "Per seat",
          unitAmount: 900,
        },
        { featureCode: "csv-export", featureName: "CSV export" },
      ],
      dropped: [],
      pages: 1,
    });
    expect(entitlementRequests()).toEqual([
      expect.objectContaining({
        query: {
          customer_id: "customer_0195ac80a14e8d71f42b98e75d3c61ae",
          page_size: String(ENTITLEMENTS_PAGE_SIZE),
          expand: "plans",
        },
        scope: "read:billing_entitlements",
      }),
    ]);
  });

  test("a hostile customer over three pages, through 429s and a 500", async () => {
    await serve();
    kinde!.tenant.billing!.customers.push(hostileCustomer({ user: "kp_x" }, 250));
    kinde!.rateLimitNext(2, 0);
    kinde!.failNext(1, 502, "GET");
    const api = client();
    const read = await readCustomer(api, "customer_hostile0000000000000000001");
    expect(read.pages).toBe(3);
    // 250 listed, one code too long and one missing: 248 kept, the twice-listed feature twice.
    expect(read.entitlements).toHaveLength(248);
    expect(read.entitlements.filter((e) => e.featureCode === "feature-5")).toHaveLength(2);
    expect(read.entitlements.find((e) => e.featureCode === "feature-3")).toEqual({
      featureCode: "feature-3",
    });
    expect(read.plans).toEqual([
      { planCode: "plan-with-a-long-history", subscribedOn: "2024-11-18T13:32:03+11" },
    ]);
    expect(read.dropped).toEqual([
      "a plan without a code",
      "an entitlement whose feature_code has 300 characters (over 256)",
      expect.stringContaining("without a feature_code"),
      "feature_name of 5000 characters (over 1024)",
    ]);
    const pages = entitlementRequests().map((r) => r.query.starting_after);
    expect(pages.filter((p) => p !== undefined)).toEqual([
      tenantEntitlement(99).id,
      tenantEntitlement(199).id,
    ]);
    // The token, two 429s, the 502, three pages.
    expect(api.requests).toBe(1 + 2 + 1 + 3);
  });

  test("a transient 500 is retried; a missing scope names it", async () => {
    await serve();
    kinde!.failNext(1, 503);
    expect(
      (await readCustomer(client(), "customer_0195ac80a14e8d71f42b98e75d3c61ad")).entitlements,
    ).toHaveLength(1);
    kinde!.revokeScope("read:billing_entitlements");
    await expect(
      readCustomer(client(), "customer_0195ac80a14e8d71f42b98e75d3c61ad"),
    ).rejects.toThrow("needs the scope `read:billing_entitlements`");
  });

  test("paging that loops back ends; more entitlements than the mirror keeps is refused", async () => {
    await serve();
    const customer = hostileCustomer({ user: "kp_x" }, 300);
    kinde!.tenant.billing!.customers.push(customer);
    // The second page ends with the first page's last entitlement: following it blindly never ends.
    customer.entitlements[199] = customer.entitlements[99]!;
    const read = await readCustomer(client(), customer.id);
    expect(read.pages).toBe(2);
    expect(read.dropped.at(-1)).toBe(
      `${ENTITLEMENTS_PATH} listed entitlement ${customer.entitlements[99]!.id} again; ended there`,
    );

    customer.entitlements = Array.from({ length: MAX_ENTITLEMENTS_PER_CUSTOMER + 1 }, (_, i) =>
      tenantEntitlement(i),
    );
    await expect(readCustomer(client(), customer.id)).rejects.toThrow(BillingLimitError);
    await expect(readCustomer(client(), customer.id)).rejects.toThrow(
      `more than ${MAX_ENTITLEMENTS_PER_CUSTOMER} entitlements`,
    );
  });
});

describe("whose customer", () => {
  test("a user's and an organization's customer id, null for none, null when Kinde has no such owner", async () => {
    const { tenant } = await serve();
    const api = client();
    expect(await readUserCustomerId(api, tenant.users[0]!.id)).toEqual({
      customerId: "customer_0195ac80a14e8d71f42b98e75d3c61ad",
    });
    expect(await readUserCustomerId(api, tenant.users[1]!.id)).toEqual({ customerId: null });
    expect(await readUserCustomerId(api, "kp_gone")).toBeNull();
    expect(await readOrganizationCustomerId(api, tenant.organizations[0]!.code)).toEqual({
      customerId: "customer_0195ac80a14e8d71f42b98e75d3c61ae",
    });
    expect(await readOrganizationCustomerId(api, tenant.organizations[1]!.code)).toEqual({
      customerId: null,
    });
    expect(await readOrganizationCustomerId(api, "org_gone")).toBeNull();
    const listed = await api.get(
      "/api/v1/users",
      { expand: "billing", page_size: "500" },
      "read:users",
    );
    expect(customerIdsOfListed(listed.users)).toEqual(
      tenant.users.map((u, i) => ({
        kindeId: u.id,
        customerId: i === 0 ? "customer_0195ac80a14e8d71f42b98e75d3c61ad" : null,
      })),
    );
    kinde!.failNext(10, 500);
    await expect(
      readUserCustomerId(
        new ManagementApi(
          { domain: kinde!.url, clientId: kinde!.clientId, clientSecret: kinde!.clientSecret },
          { ...DEFAULT_RETRY, attempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
        ),
        tenant.users[0]!.id,
      ),
    ).rejects.toThrow(ManagementApiError);
  });
});
