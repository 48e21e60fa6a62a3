/**
 * The backfill with enrichment on, end to end against the Management API
 * stand-in: pictures and custom properties appear; details cost no request
 * more than the backfill without them (identities ride on the users
 * listing's `expand`); user properties cost one search listing, organization
 * properties one request per organization; and a run stopped part-way
 * resumes without losing them.
 */
import { describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import kindeTest, {
  makeTenant,
  PROPERTY_PAGE_SIZE,
  withHostileEnrichment,
  type ManagementApiStandIn,
  type Tenant,
} from "convex-kinde/test";
import {
  Kinde,
  type BackfillActionOptions,
  type BackfillResult,
  type EnrichmentOptions,
} from "convex-kinde";
import { components, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import { modules, useManagementApi, useWebhookTest } from "./setup.js";

useWebhookTest();
const managementApi = useManagementApi();

const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20 };

/** A tenant of two users' pages when pages hold 4: 9 users, 3 organizations, the first four hostile. */
const tenantOf = () => withHostileEnrichment(makeTenant({ users: 9, organizations: 3 }));

/** The example app with a backfill whose Kinde keeps `enrichment` (none: the plain backfill). */
function backfillApp(enrichment?: EnrichmentOptions, options: BackfillActionOptions = {}) {
  const host = {
    backfill: new Kinde(components.kinde, enrichment ? { enrichment } : {}).backfillAction({
      retry: FAST_RETRY,
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
  /**
   * Runs the backfill as `npx convex run` would, then its scheduled
   * continuations, moving a fake clock (if the test uses one) to each.
   * Not `vi.runAllTimers`: fetch's own timers re-arm themselves each tick.
   */
  const run = async (args: Record<string, unknown> = {}) => {
    const result = (await t.action(
      makeFunctionReference<"action">("host:backfill"),
      args,
    )) as BackfillResult;
    if (result.continuing) await t.finishAllScheduledFunctions(() => vi.runOnlyPendingTimers());
    return result;
  };
  const user = (kindeId: string) => t.query(internal.users.byKindeId, { kindeId });
  const organization = (code: string) => t.query(internal.organizations.get, { code });
  const status = () => t.query(internal.diagnostics.backfillStatus, {});
  return { t, run, user, organization, status };
}

/** The API requests (not the token's) a backfill of `tenant` makes, by path. */
async function requestsOf(tenant: Tenant, enrichment?: EnrichmentOptions, pageSize = 4) {
  const kinde = await managementApi.serve(tenant);
  kinde.capPageSize(pageSize);
  const app = backfillApp(enrichment);
  await app.run();
  expect(await app.status()).toMatchObject({ status: "done" });
  const api = kinde.requests.filter((r) => r.path !== "/oauth2/token");
  await kinde.close();
  return { app, kinde, api };
}

const count = (requests: { path: string }[], match: RegExp) =>
  requests.filter((r) => match.test(r.path)).length;

describe("the backfill with enrichment", () => {
  test("pictures, identities and sign-ins appear at no request more than without them", async () => {
    const plain = await requestsOf(tenantOf());
    const enriched = await requestsOf(tenantOf(), {});
    expect(enriched.api.map((r) => r.path)).toEqual(plain.api.map((r) => r.path));
    expect(enriched.api.length).toBe(plain.api.length);
    const listings = enriched.api.filter((r) => r.path === "/api/v1/users");
    expect(listings).toHaveLength(3); // 9 users in pages of 4
    for (const listing of listings) expect(listing.query.expand).toBe("organizations,identities");
    expect(plain.api.find((r) => r.path === "/api/v1/users")!.query.expand).toBe("organizations");

    const tenant = enriched.kinde.tenant;
    const [offsets, blanks, many] = tenant.users;
    expect(await enriched.app.user(offsets!.id)).toMatchObject({
      picture: "https://lh3.googleusercontent.com/a/ACg8ocJ=s96-c",
      createdAt: Date.UTC(2023, 11, 1, 5, 29, 59) + 999.999,
      totalSignIns: 0,
      identities: [
        { type: "email", identity: "user1@example.com" },
        { type: "oauth2:google", identity: "user1@gmail.com" },
      ],
    });
    const blank = await enriched.app.user(blanks!.id);
    expect(blank).not.toHaveProperty("picture");
    expect(blank).not.toHaveProperty("createdAt");
    expect((await enriched.app.user(many!.id))!.identities).toHaveLength(20);
    const ninth = tenant.users[8]!;
    expect(await enriched.app.user(ninth.id)).toMatchObject({
      picture: ninth.picture,
      totalSignIns: 3,
      createdAt: Date.UTC(2024, 0, 1),
    });
    // No properties asked for: none kept.
    expect(await enriched.app.user(ninth.id)).not.toHaveProperty("properties");
    // The plain run keeps no enrichment at all.
    expect(await plain.app.user(ninth.id)).not.toHaveProperty("picture");
  });

  test("user properties: one search listing, never a request per user; organization properties: one request each", async () => {
    const plain = await requestsOf(tenantOf());
    const { app, kinde, api } = await requestsOf(tenantOf(), {
      details: [],
      userProperties: ["kp_plan", "kp_custom_000"],
      organizationProperties: "all",
    });
    const searches = api.filter((r) => r.path === "/api/v1/search/users");
    // 9 users in pages of 4, and the empty page that ends the listing.
    expect(searches.map((r) => r.query.starting_after ?? null)).toEqual([
      null,
      kinde.tenant.users[3]!.id,
      kinde.tenant.users[7]!.id,
      kinde.tenant.users[8]!.id,
    ]);
    for (const search of searches) {
      expect(search.query).toMatchObject({ query: "*", expand: "properties" });
    }
    expect(count(api, /^\/api\/v1\/users\/[^/]+\/properties$/)).toBe(0);
    expect(count(api, /^\/api\/v1\/organizations\/[^/]+\/properties$/)).toBe(3);
    expect(api.length).toBe(plain.api.length + 4 + 3);

    const [, blanks, many, odd] = kinde.tenant.users;
    expect((await app.user(blanks!.id))!.properties).toEqual({});
    expect((await app.user(many!.id))!.properties).toEqual({ kp_custom_000: "value 129" });
    expect((await app.user(odd!.id))!.properties).toEqual({ kp_plan: "pro" });
    expect((await app.user(kinde.tenant.users[5]!.id))!.properties).toEqual({ kp_plan: "free" });
    expect(await app.user(kinde.tenant.users[5]!.id)).not.toHaveProperty("picture");
    const org = kinde.tenant.organizations[2]!;
    expect((await app.organization(org.code))!.properties).toEqual({
      kp_tier: "team",
      kp_seats: "30",
    });
  });

  test(`more properties than a page (${PROPERTY_PAGE_SIZE}) of an organization: every page read`, async () => {
    const tenant = tenantOf();
    const org = tenant.organizations[0]!;
    org.properties = Object.fromEntries(
      Array.from({ length: 120 }, (_, i) => [`kp_${String(i).padStart(3, "0")}`, `v${i}`]),
    );
    const { app, api } = await requestsOf(
      tenant,
      { details: [], organizationProperties: "all" },
      500,
    );
    expect(count(api, new RegExp(`^/api/v1/organizations/${org.code}/properties$`))).toBe(3);
    const mirrored = (await app.organization(org.code))!.properties!;
    expect(Object.keys(mirrored)).toHaveLength(100);
    expect(mirrored.kp_099).toBe("v99");
  });

  test("a run that fails in the properties listing resumes there, keeping what it wrote", async () => {
    const tenant = tenantOf();
    const kinde: ManagementApiStandIn = await managementApi.serve(tenant);
    kinde.capPageSize(4);
    const app = backfillApp({ userProperties: "all" });
    vi.spyOn(console, "error").mockImplementation(() => {});
    kinde.failPath("/api/v1/search/users", 500);
    await expect(app.run()).rejects.toThrow(/search\/users with 500 6 times/);
    expect(await app.status()).toMatchObject({
      status: "failed",
      phase: "users",
      cursor: "properties:",
    });
    // The users and their details are written already; the properties are not.
    const ninth = tenant.users[8]!;
    expect(await app.user(ninth.id)).toMatchObject({ picture: ninth.picture });
    expect(await app.user(ninth.id)).not.toHaveProperty("properties");

    kinde.failPath(null);
    const before = kinde.requests.length;
    const resumed = await app.run();
    expect(resumed.outcome).toBe("resumed");
    const again = kinde.requests.slice(before).filter((r) => r.path !== "/oauth2/token");
    expect(count(again, /^\/api\/v1\/users$/)).toBe(0);
    expect(count(again, /^\/api\/v1\/search\/users$/)).toBe(4);
    expect(await app.status()).toMatchObject({ status: "done" });
    expect((await app.user(ninth.id))!.properties).toEqual({ kp_plan: "free" });
  });

  test("a long wait in the properties listing: the run waits and goes on by itself", async () => {
    const tenant = tenantOf();
    const kinde = await managementApi.serve(tenant);
    kinde.capPageSize(4);
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const app = backfillApp({ details: ["picture"], userProperties: "all" }, { timeBudgetMs: 0 });
    let limited = false;
    kinde.beforeSending(async (path) => {
      if (path === "/api/v1/search/users" && !limited) {
        limited = true;
        kinde.rateLimitNext(1, 900, { header: "Retry-After" });
      }
    });
    await app.run();
    expect(limited).toBe(true);
    expect(await app.status()).toMatchObject({ status: "done" });
    expect(count(kinde.requests, /^\/api\/v1\/search\/users$/)).toBe(5);
    expect((await app.user(tenant.users[8]!.id))!.properties).toEqual({ kp_plan: "free" });
    expect((await app.user(tenant.users[6]!.id))!.properties).toEqual({ kp_plan: "pro" });
  });
});
