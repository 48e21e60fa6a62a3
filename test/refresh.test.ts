/**
 * kinde.refreshAction() end to end: the example app on convex-test with a
 * host module whose Kinde has enrichment on, against the Management API
 * stand-in over real HTTP. A user or organization is mirrored by its
 * webhook, then refreshed: what it reads, what it writes, and what it does
 * when Kinde rate-limits, fails, refuses, or deletes meanwhile.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { httpRouter, makeFunctionReference } from "convex/server";
import kindeTest, {
  makeTenant,
  organizationCreated,
  userCreated,
  userDeleted,
  userUpdated,
  withHostileEnrichment,
  type ManagementApiStandIn,
  type TenantUser,
} from "convex-kinde/test";
import { Kinde, type EnrichmentOptions, type RefreshResult } from "convex-kinde";
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
});

/** The example app, plus a host module whose Kinde keeps `enrichment`, and its refresh action. */
async function enrichedApp(
  enrichment: EnrichmentOptions = { userProperties: "all" },
  { triggers = false } = {},
) {
  kinde = await managementApi.serve(
    withHostileEnrichment(makeTenant({ users: 8, organizations: 2 })),
  );
  const enriched = new Kinde(components.kinde, { enrichment });
  const host = {
    refresh: enriched.refreshAction({
      retry: FAST_RETRY,
      onEvent: makeFunctionReference<"mutation">("host:onEvent") as never,
    }),
    // Records what a refresh tells the host, as a profile named after the change's origin.
    onEvent: enriched.events<DataModel>({
      "user.updated": async (ctx, { user, origin }) => {
        // Its own rows (`heard:` ids): the example's hook keeps one profile per user.
        await ctx.db.insert("profiles", {
          kindeId: `heard:${user.kindeId}`,
          displayName: `${origin.kind} ${user.picture ?? "no picture"}`,
        });
      },
    }),
  };
  // With `triggers`, the webhook route asks for refreshes, as `registerRoutes(http, { refresh })` does.
  const http = httpRouter();
  enriched.registerRoutes(http, {
    onEvent: internal.kinde.onKindeEvent,
    refresh: makeFunctionReference<"action">("host:refresh") as never,
  });
  const t = convexTest({
    schema,
    modules: {
      ...modules,
      "./host.ts": async () => host,
      ...(triggers ? { "./http.ts": async () => ({ default: http }) } : {}),
    },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  const refresh = (args: Record<string, unknown>) =>
    t.action(makeFunctionReference<"action">("host:refresh"), args) as Promise<RefreshResult>;
  const deliver = async (payload: object) =>
    (await postWebhook(t, await app.issuer.sign(payload))).text;
  const user = (kindeId: string) => t.query(internal.users.byKindeId, { kindeId });
  /** Mirrors a tenant user through its `user.created` webhook. */
  const mirror = async (tenantUser: TenantUser, at = anHourAgo()) => {
    expect(
      await deliver(
        userCreated(
          { id: tenantUser.id, email: tenantUser.email, first_name: tenantUser.first_name },
          { at },
        ),
      ),
    ).toMatch(/^applied/);
  };
  /** The profiles the host's hook wrote for `kindeId`, by display name. */
  const heard = async (kindeId: string) =>
    (await t.run((ctx) => ctx.db.query("profiles").collect()))
      .filter((p) => p.kindeId === `heard:${kindeId}`)
      .map((p) => p.displayName);
  const scheduled = () => t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect());
  return { t, refresh, deliver, user, mirror, scheduled, heard };
}

const apiPaths = () => kinde.requests.filter((r) => r.path !== "/oauth2/token").map((r) => r.path);

describe("a user's refresh", () => {
  test("details and the configured properties appear; two requests; the hook hears it", async () => {
    const host = await enrichedApp({ userProperties: ["kp_plan", "kp_region"] });
    const ada = kinde.tenant.users[4]!; // user 5: a picture, an email identity, kp_plan free, kp_region ""
    await host.mirror(ada);
    const before = await host.user(ada.id);
    expect(before).not.toHaveProperty("picture");

    const result = await host.refresh({ kind: "user", entityId: ada.id });
    expect(result).toMatchObject({ outcome: "refreshed", applied: 1, stale: 0, missing: 0 });
    expect(apiPaths()).toEqual(["/api/v1/user", `/api/v1/users/${ada.id}/properties`]);
    expect(kinde.requests.find((r) => r.path === "/api/v1/user")!.query).toEqual({
      id: ada.id,
      expand: "identities",
    });
    const after = await host.user(ada.id);
    expect(after).toMatchObject({
      kindeId: ada.id,
      email: ada.email,
      picture: ada.picture,
      createdAt: Date.UTC(2024, 0, 1),
      totalSignIns: 3,
      identities: [{ type: "email", identity: "user5@example.com" }],
      properties: { kp_plan: "free" },
    });
    expect(after!.lastSignedInAt).toBe(Date.UTC(2024, 4, 1, 7, 41, 45) + 592.145);
    // The refresh's hook heard user.updated.
    expect(await host.heard(ada.id)).toEqual([`refresh ${ada.picture}`]);
    // The same again changes nothing the host reads: no hook.
    await host.refresh({ kind: "user", entityId: ada.id });
    expect(await host.heard(ada.id)).toHaveLength(1);
  });

  test("properties added, changed and removed in Kinde follow on the next refresh", async () => {
    const host = await enrichedApp({ details: [], userProperties: "all" });
    const grace = kinde.tenant.users[6]!;
    await host.mirror(grace);
    await host.refresh({ kind: "user", entityId: grace.id });
    expect((await host.user(grace.id))!.properties).toEqual({ kp_plan: "pro" });
    // No details wanted: no user read at all.
    expect(apiPaths()).toEqual([`/api/v1/users/${grace.id}/properties`]);

    grace.properties = { kp_plan: "enterprise", kp_seats: "25", kp_region: "" };
    await host.refresh({ kind: "user", entityId: grace.id });
    expect((await host.user(grace.id))!.properties).toEqual({
      kp_plan: "enterprise",
      kp_seats: "25",
    });

    grace.properties = {};
    await host.refresh({ kind: "user", entityId: grace.id });
    expect((await host.user(grace.id))!.properties).toEqual({});
  });

  test("a hostile user: microsecond offsets, blanks, 130 properties, odd keys — within the caps", async () => {
    const host = await enrichedApp({ userProperties: "all" });
    const [offsets, blanks, many, odd] = kinde.tenant.users as [
      TenantUser,
      TenantUser,
      TenantUser,
      TenantUser,
    ];
    for (const u of [offsets, blanks, many, odd]) {
      await host.mirror(u);
      expect((await host.refresh({ kind: "user", entityId: u.id })).outcome).toBe("refreshed");
    }
    expect(await host.user(offsets.id)).toMatchObject({
      picture: "https://lh3.googleusercontent.com/a/ACg8ocJ=s96-c",
      createdAt: Date.UTC(2023, 11, 1, 5, 29, 59) + 999.999,
      totalSignIns: 0,
    });
    const blank = await host.user(blanks.id);
    expect(blank).not.toHaveProperty("picture");
    expect(blank).not.toHaveProperty("createdAt");
    expect(blank).not.toHaveProperty("totalSignIns");
    expect(blank!.identities).toEqual([]);
    expect(blank!.properties).toEqual({});
    const crowded = await host.user(many.id);
    expect(crowded).not.toHaveProperty("picture");
    expect(crowded!.identities).toHaveLength(20);
    expect(Object.keys(crowded!.properties!)).toHaveLength(100);
    expect((await host.user(odd.id))!.properties).toEqual({
      kp_plan: "pro",
      "kp.dotted key": "kept",
    });
  });

  test("not mirrored: nothing asked of Kinde", async () => {
    const host = await enrichedApp();
    const result = await host.refresh({ kind: "user", entityId: kinde.tenant.users[0]!.id });
    expect(result).toEqual({
      outcome: "not mirrored",
      applied: 0,
      stale: 0,
      missing: 0,
      requests: 0,
    });
    expect(kinde.requests).toEqual([]);
  });

  test("gone from Kinde (its user.deleted not yet here): nothing written", async () => {
    const host = await enrichedApp();
    const ghost = kinde.tenant.users[5]!;
    await host.mirror(ghost);
    kinde.tenant.users.splice(5, 1);
    const result = await host.refresh({ kind: "user", entityId: ghost.id });
    expect(result.outcome).toBe("gone");
    expect(await host.user(ghost.id)).not.toHaveProperty("picture");
    expect(await host.user(ghost.id)).not.toBeNull();
  });

  test("racing a delete: the user deleted while its fetch is in flight stays deleted", async () => {
    const host = await enrichedApp();
    const ada = kinde.tenant.users[4]!;
    const at = anHourAgo();
    await host.mirror(ada, at);
    let deleted = "";
    kinde.beforeSending(async (path) => {
      if (path === "/api/v1/user" && !deleted) {
        deleted = await host.deliver(userDeleted(ada.id, { at: at + 1000 }));
      }
    });
    const result = await host.refresh({ kind: "user", entityId: ada.id });
    expect(deleted).toMatch(/^applied/);
    expect(result).toMatchObject({ outcome: "refreshed", applied: 0, missing: 1 });
    expect(await host.user(ada.id)).toBeNull();
  });

  test("racing another refresh: the one begun first, answered with older data, is stale", async () => {
    const host = await enrichedApp({ details: ["picture"] });
    const ada = kinde.tenant.users[4]!;
    await host.mirror(ada);
    let second: RefreshResult | undefined;
    let raced = false;
    kinde.beforeSending(async (path) => {
      if (path !== "/api/v1/user" || raced) return;
      // The first refresh's answer (the old picture) is in flight: Kinde changes, a second refresh runs whole.
      raced = true;
      ada.picture = "https://example.com/new.png";
      second = await host.refresh({ kind: "user", entityId: ada.id });
    });
    const first = await host.refresh({ kind: "user", entityId: ada.id });
    expect(second).toMatchObject({ outcome: "refreshed", applied: 1 });
    expect(first).toMatchObject({ outcome: "refreshed", applied: 0, stale: 1 });
    expect((await host.user(ada.id))!.picture).toBe("https://example.com/new.png");
  });

  test("`entityId` is required for a user", async () => {
    const host = await enrichedApp();
    await expect(host.refresh({ kind: "user" })).rejects.toThrow(
      /needs the user's Kinde id as `entityId`/,
    );
  });
});

describe("Kinde failing during a refresh", () => {
  test("a 429 asking for 15 minutes: no sleep, the refresh runs again then with its tries", async () => {
    const host = await enrichedApp();
    const ada = kinde.tenant.users[4]!;
    await host.mirror(ada);
    kinde.rateLimitNext(1, 900, { header: "Retry-After" });
    const started = Date.now();
    const result = await host.refresh({ kind: "user", entityId: ada.id });
    expect(result.outcome).toBe("waiting");
    expect(result.resumesAt! - started).toBeGreaterThanOrEqual(900_000);
    const [again] = await host.scheduled();
    expect(again!.name).toBe("host:refresh");
    expect(again!.scheduledTime).toBe(result.resumesAt);
    expect(again!.args[0]).toEqual({
      kind: "user",
      entityId: ada.id,
      tries: { request: "GET /api/v1/user", failures: 0, rateLimited: 1 },
    });
    // The continuation, as the scheduler runs it at resumesAt:
    const resumed = await host.refresh(again!.args[0] as Record<string, unknown>);
    expect(resumed.outcome).toBe("refreshed");
    expect((await host.user(ada.id))!.picture).toBe(ada.picture);
  });

  test("429s past the limit, tries counted across the waits: logged and stopped, no loop", async () => {
    const host = await enrichedApp();
    const ada = kinde.tenant.users[4]!;
    await host.mirror(ada);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    kinde.rateLimitNext(1, 900);
    const tries = { request: "GET /api/v1/user", failures: 0, rateLimited: 9 };
    const result = await host.refresh({ kind: "user", entityId: ada.id, tries });
    expect(result).toMatchObject({
      outcome: "failed",
      error: "Kinde kept rate-limiting GET /api/v1/user (429 10 times)",
    });
    expect(await host.scheduled()).toEqual([]);
    expect(String(errors.mock.calls[0]![1])).toMatch(/refresh: user kp_\w+ failed/);
  });

  test("5xx: retried within the action", async () => {
    const host = await enrichedApp();
    const ada = kinde.tenant.users[4]!;
    await host.mirror(ada);
    kinde.failNext(2, 502);
    expect((await host.refresh({ kind: "user", entityId: ada.id })).outcome).toBe("refreshed");
    expect(apiPaths()).toEqual([
      "/api/v1/user",
      "/api/v1/user",
      "/api/v1/user",
      `/api/v1/users/${ada.id}/properties`,
    ]);
  });

  test("5xx past the retries: logged and stopped, nothing written, nothing scheduled", async () => {
    const host = await enrichedApp();
    const ada = kinde.tenant.users[4]!;
    await host.mirror(ada);
    vi.spyOn(console, "error").mockImplementation(() => {});
    kinde.failPath("/api/v1/users/", 500);
    const result = await host.refresh({ kind: "user", entityId: ada.id });
    expect(result).toMatchObject({ outcome: "failed" });
    expect(result.error).toMatch(
      /Kinde answered GET \/api\/v1\/users\/kp_\w+\/properties with 500 6 times/,
    );
    expect(await host.user(ada.id)).not.toHaveProperty("picture");
    expect(await host.scheduled()).toEqual([]);
  });

  test("a missing scope: the log names it", async () => {
    const host = await enrichedApp();
    const ada = kinde.tenant.users[4]!;
    await host.mirror(ada);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    kinde.revokeScope("read:user_properties");
    const result = await host.refresh({ kind: "user", entityId: ada.id });
    expect(result.outcome).toBe("failed");
    expect(errors.mock.calls.map((c) => String(c[1])).join("\n")).toMatch(
      /needs the scope `read:user_properties`/,
    );
  });
});

describe("an organization's refresh", () => {
  test("its configured properties; nothing when organization properties are not kept", async () => {
    const host = await enrichedApp({ organizationProperties: ["kp_tier"] });
    const org = kinde.tenant.organizations[1]!;
    expect(
      await host.deliver(
        organizationCreated({ code: org.code, name: org.name }, { at: anHourAgo() }),
      ),
    ).toMatch(/^applied/);
    const result = await host.refresh({ kind: "organization", entityId: org.code });
    expect(result).toMatchObject({ outcome: "refreshed", applied: 1 });
    expect(apiPaths()).toEqual([`/api/v1/organizations/${org.code}/properties`]);
    const mirrored = await host.t.query(internal.organizations.get, { code: org.code });
    expect(mirrored!.properties).toEqual({ kp_tier: "enterprise" });

    const plain = await enrichedApp({});
    expect((await plain.refresh({ kind: "organization", entityId: org.code })).outcome).toBe(
      "nothing to fetch",
    );
  });
});

describe('the sweep ({ kind: "all" })', () => {
  /** Mirrors the whole tenant with the example's plain backfill (no enrichment). */
  async function mirrorAll(host: Awaited<ReturnType<typeof enrichedApp>>) {
    const result = await host.t.action(internal.kinde.backfill, {});
    expect(result.continuing).toBe(false);
    kinde.requests.length = 0;
  }

  test("every user's details and properties and every organization's properties, a page per action", async () => {
    const host = await enrichedApp({ userProperties: ["kp_plan"], organizationProperties: "all" });
    kinde.capPageSize(3);
    await mirrorAll(host);
    const first = await host.refresh({ kind: "all" });
    expect(first).toMatchObject({ outcome: "continuing", applied: 3 });
    expect(apiPaths()).toEqual(["/api/v1/users"]);
    await host.t.finishAllScheduledFunctions(() => {});

    // 8 users in pages of 3; the search listing ends on an empty page; 2 organizations, one page.
    expect(apiPaths()).toEqual([
      ...Array(3).fill("/api/v1/users"),
      ...Array(4).fill("/api/v1/search/users"),
      "/api/v1/organizations",
      ...kinde.tenant.organizations.map((o) => `/api/v1/organizations/${o.code}/properties`),
    ]);
    expect(kinde.requests.find((r) => r.path === "/api/v1/users")!.query.expand).toBe("identities");
    for (const tenantUser of kinde.tenant.users.slice(4)) {
      const mirrored = await host.user(tenantUser.id);
      expect(mirrored).toMatchObject({
        totalSignIns: 3,
        properties: { kp_plan: tenantUser.properties!.kp_plan },
      });
      expect(mirrored!.picture).toBe(tenantUser.picture ?? undefined);
    }
    for (const org of kinde.tenant.organizations) {
      const mirrored = await host.t.query(internal.organizations.get, { code: org.code });
      expect(mirrored!.properties).toEqual(org.properties);
    }
    expect(await host.scheduled()).toSatisfy((all: { state: { kind: string } }[]) =>
      all.every((s) => s.state.kind === "success"),
    );
  });

  test("a long wait among the organizations: it goes on after the ones already done", async () => {
    const host = await enrichedApp({ details: [], organizationProperties: ["kp_tier"] });
    await mirrorAll(host);
    const [done, waiting] = kinde.tenant.organizations;
    kinde.beforeSending(async (path) => {
      if (path === `/api/v1/organizations/${done!.code}/properties`) {
        kinde.beforeSending(null);
        kinde.rateLimitNext(1, 900);
      }
    });
    const result = await host.refresh({ kind: "all" });
    expect(result).toMatchObject({ outcome: "waiting", applied: 0 });
    const [again] = await host.scheduled();
    expect(again!.args[0]).toMatchObject({
      kind: "all",
      sweep: { phase: "organizations", after: done!.code, pages: 0 },
      tries: { request: `GET /api/v1/organizations/${waiting!.code}/properties`, rateLimited: 1 },
    });
    const resumed = await host.refresh(again!.args[0] as Record<string, unknown>);
    expect(resumed).toMatchObject({ outcome: "swept", applied: 1 });
    const paths = apiPaths();
    expect(
      paths.filter((p) => p === `/api/v1/organizations/${done!.code}/properties`),
    ).toHaveLength(1);
    for (const org of [done!, waiting!]) {
      const mirrored = await host.t.query(internal.organizations.get, { code: org.code });
      expect(mirrored!.properties).toEqual({ kp_tier: org.properties!.kp_tier });
    }
  });
});

describe("refreshes after webhooks", () => {
  /** Runs the scheduled functions, moving the fake clock to each (the refresh waits 5 s for a burst). */
  const runScheduled = (host: Awaited<ReturnType<typeof enrichedApp>>) =>
    host.t.finishAllScheduledFunctions(() => vi.runOnlyPendingTimers());

  test("user.created, then user.updated with new properties in Kinde: each followed by a refresh", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const host = await enrichedApp({ userProperties: ["kp_plan"] }, { triggers: true });
    const ada = kinde.tenant.users[4]!;
    const at = anHourAgo();
    await host.mirror(ada, at);
    expect(await host.user(ada.id)).not.toHaveProperty("picture");
    await runScheduled(host);
    expect(await host.user(ada.id)).toMatchObject({
      picture: ada.picture,
      properties: { kp_plan: "free" },
    });
    expect(apiPaths()).toEqual(["/api/v1/user", `/api/v1/users/${ada.id}/properties`]);

    // Kinde: a new plan (no webhook for that) and a new name (a webhook).
    ada.properties = { kp_plan: "pro" };
    expect(
      await host.deliver(
        userUpdated({ id: ada.id, email: ada.email, first_name: "Ada" }, { at: at + 1000 }),
      ),
    ).toMatch(/^applied/);
    await runScheduled(host);
    expect(await host.user(ada.id)).toMatchObject({
      firstName: "Ada",
      properties: { kp_plan: "pro" },
    });
    expect(apiPaths()).toHaveLength(4);
  });

  test("a burst of webhooks for one user: one refresh", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const host = await enrichedApp({}, { triggers: true });
    const ada = kinde.tenant.users[4]!;
    const at = anHourAgo();
    await host.mirror(ada, at);
    for (let i = 1; i <= 3; i++) {
      await host.deliver(
        userUpdated({ id: ada.id, email: ada.email, last_name: `v${i}` }, { at: at + i }),
      );
    }
    await runScheduled(host);
    expect(apiPaths()).toEqual(["/api/v1/user"]);
    expect((await host.user(ada.id))!.picture).toBe(ada.picture);
  });

  test("Kinde rate-limiting the triggered refresh: it runs again after the wait and completes", async () => {
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"] });
    const host = await enrichedApp({ details: ["picture"] }, { triggers: true });
    const ada = kinde.tenant.users[4]!;
    await host.mirror(ada);
    kinde.rateLimitNext(2, 600);
    await runScheduled(host);
    expect(apiPaths()).toEqual(["/api/v1/user", "/api/v1/user", "/api/v1/user"]);
    expect((await host.user(ada.id))!.picture).toBe(ada.picture);
  });
});
