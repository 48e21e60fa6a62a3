/**
 * What billing's data path (#22) costs in Management API requests, against
 * the Management API stand-in on 127.0.0.1:
 *
 * 1. One refresh of a B2C customer (billing alone, and with enrichment's
 *    details, whose user read carries the customer id), of a B2B customer,
 *    of a user who is no customer: requests, the token's included.
 * 2. A backfill of the same tenant without and with billing: requests.
 *
 * Run alone: `npx vitest run --config vitest.bench.config.ts bench/billing.run.ts`.
 */
import { test, vi } from "vitest";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import kindeTest, {
  makeTenant,
  makeTenantBilling,
  startKindeManagementApi,
  tenantEntitlement,
  type Tenant,
  type TenantCustomer,
} from "convex-kinde/test";
import { Kinde, type BackfillResult, type KindeOptions, type RefreshResult } from "convex-kinde";
import { components, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import { modules as exampleModules } from "../test/setup.js";
import { num, section, table } from "./harness/report.js";

/** Users (over 10 organizations), every fourth a B2C customer, every organization a B2B one. */
const USERS = 200;
const ORGANIZATIONS = 10;

function billedTenant(): Tenant {
  const tenant = makeTenant({ users: USERS, organizations: ORGANIZATIONS });
  const billing = makeTenantBilling(tenant);
  const customer = (i: number, owner: TenantCustomer["owner"]): TenantCustomer => ({
    id: `customer_${String(i).padStart(32, "0")}`,
    owner,
    plans: [{ code: "pro", subscribed_on: null }],
    entitlements: [tenantEntitlement(0, { feature_code: "a" }), tenantEntitlement(1)],
  });
  tenant.users.forEach((user, i) => {
    if (i > 0 && i % 4 === 0) billing.customers.push(customer(i, { user: user.id }));
  });
  tenant.organizations.forEach((org, i) => {
    if (i > 0) billing.customers.push(customer(1000 + i, { organization: org.code }));
  });
  return { ...tenant, billing };
}

async function hostFor(tenant: Tenant, options: KindeOptions) {
  const kinde = await startKindeManagementApi(tenant);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", kinde.clientId);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", kinde.clientSecret);
  vi.stubEnv("KINDE_DOMAIN", kinde.url);
  const billed = new Kinde(components.kinde, options);
  const host = {
    backfill: billed.backfillAction({ onEvent: internal.kinde.onKindeEvent }),
    refresh: billed.refreshAction({ onEvent: internal.kinde.onKindeEvent }),
  };
  const t = convexTest({
    schema,
    modules: { ...exampleModules, "./host.ts": async () => host },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  const backfill = async () => {
    const result = (await t.action(
      makeFunctionReference<"action">("host:backfill"),
      {},
    )) as BackfillResult;
    if (result.run.status !== "done" || result.continuing) {
      throw new Error(`backfill ended ${result.run.status}`);
    }
    return result;
  };
  const refresh = (args: Record<string, unknown>) =>
    t.action(makeFunctionReference<"action">("host:refresh"), args) as Promise<RefreshResult>;
  return { kinde, backfill, refresh };
}

test("billing bench", async () => {
  const backfills: [string, number][] = [];
  const refreshes: [string, string, number][] = [];
  try {
    for (const [variant, options] of [
      ["no billing", {}],
      ["billing", { billing: true }],
      ["billing + enrichment details", { billing: true, enrichment: {} }],
    ] as [string, KindeOptions][]) {
      const tenant = billedTenant();
      const host = await hostFor(tenant, options);
      try {
        const result = await host.backfill();
        backfills.push([variant, result.requests]);
        if (!options.billing) continue;
        const b2c = tenant.users[4]!.id;
        const none = tenant.users[5]!.id;
        const b2b = tenant.organizations[1]!.code;
        for (const [what, args] of [
          ["a B2C customer (a user)", { kind: "user", entityId: b2c }],
          ["a user who is no customer", { kind: "user", entityId: none }],
          ["a B2B customer (an organization)", { kind: "organization", entityId: b2b }],
        ] as const) {
          const refreshed = await host.refresh(args);
          if (refreshed.outcome !== "refreshed") throw new Error(`${what}: ${refreshed.outcome}`);
          refreshes.push([variant, what, refreshed.requests]);
        }
      } finally {
        await host.kinde.close();
      }
    }
  } finally {
    vi.unstubAllEnvs();
  }
  // Every fourth user (the first included) and every organization.
  const customers = USERS / 4 + ORGANIZATIONS;
  console.log(
    [
      section(
        "B1. Refresh of one owner (Management API requests, the token's included when the action asked for one)",
        table(["options", "refresh of", "requests"], refreshes),
      ),
      section(
        `B2. Backfill (${num(USERS)} users, ${ORGANIZATIONS} organizations, ${customers} customers; requests, the token's included)`,
        table(
          ["options", "requests", "vs none"],
          backfills.map(([variant, requests]) => [
            variant,
            requests,
            `+${requests - backfills[0]![1]}`,
          ]),
        ),
      ),
    ].join("\n"),
  );
});
