/**
 * Setup and the doctor against local stand-ins of Kinde (Management API,
 * discovery document, key set, all on 127.0.0.1) and the example app in
 * convex-test: what setup sends Kinde, that it never doubles a webhook, and
 * that each broken piece of a setup gives its own verdict and fix.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import kindeTest, {
  insertKindeDocument,
  KINDE_BILLING_EVENT_TYPE_CODES,
  kindeUserId,
  makeTenant,
  makeTenantBilling,
  startKindeManagementApi,
  userCreated,
  userUpdated,
  type ManagementApiStandIn,
  type TenantWebhook,
} from "convex-kinde/test";
import {
  BILLING_CHECK_NAMES,
  CHECK_NAMES,
  Kinde,
  MANAGEMENT_API_SCOPES,
  MIRRORED_EVENT_TYPES,
  type BackfillResult,
  type CheckName,
  type DoctorActionOptions,
  type DoctorCheck,
  type DoctorReport,
  type KindeOptions,
  type SetupActionOptions,
  type SetupResult,
} from "convex-kinde";
import { components, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import { modules, postWebhook, useWebhookTest } from "./setup.js";

const app = useWebhookTest();
let kinde: ManagementApiStandIn | undefined;

afterEach(async () => {
  await kinde?.close();
  kinde = undefined;
});

const SITE_URL = "https://happy-otter-123.convex.site";
const ENDPOINT = `${SITE_URL}/kinde/webhook`;
const ALL_TYPES = [...MIRRORED_EVENT_TYPES];
/** Retries back off for seconds in production; milliseconds are enough against a local stand-in. */
const FAST_RETRY = { baseDelayMs: 5, maxDelayMs: 20, attempts: 3 };

/** A Kinde tenant with a few users, its Management API on 127.0.0.1, and this deployment's environment. */
async function serve({ billing = false } = {}) {
  const tenant = makeTenant({ users: 4, organizations: 2 });
  if (billing) tenant.billing = makeTenantBilling(tenant);
  kinde = await startKindeManagementApi(tenant);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", kinde.clientId);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", kinde.clientSecret);
  vi.stubEnv("KINDE_DOMAIN", kinde.url);
  vi.stubEnv("CONVEX_SITE_URL", SITE_URL);
  vi.stubEnv("KINDE_CLIENT_ID", "kinde_app_client_id");
  return kinde;
}

/**
 * The example app with setup and doctor built as a host builds them, with
 * fast retries: `setup` and `doctor` run them as `npx convex run` would.
 */
function hostApp(
  options: { kinde?: KindeOptions; setup?: SetupActionOptions; doctor?: DoctorActionOptions } = {},
) {
  const kindeClient = new Kinde(components.kinde, options.kinde);
  const host = {
    setup: kindeClient.setupAction({ retry: FAST_RETRY, ...options.setup }),
    doctor: kindeClient.doctorAction({
      retry: FAST_RETRY,
      auth: { tokenType: "id" },
      ...options.doctor,
    }),
  };
  const t = convexTest({
    schema,
    modules: { ...modules, "./host.ts": async () => host },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  return {
    t,
    setup: (args: { dryRun?: boolean } = {}) =>
      t.action(makeFunctionReference<"action">("host:setup"), args) as Promise<SetupResult>,
    doctor: () =>
      t.action(makeFunctionReference<"action">("host:doctor"), {}) as Promise<DoctorReport>,
    backfill: () => t.action(internal.kinde.backfill, {}) as Promise<BackfillResult>,
    deliver: async (payload: object) =>
      (await postWebhook(t, await app.issuer.sign(payload))).status,
  };
}

/** The Management API writes the stand-in received (creates and updates). */
const writes = () =>
  kinde!.requests.filter(
    (r) => (r.method === "POST" && r.path !== "/oauth2/token") || r.method === "PATCH",
  );

const seedWebhook = (webhook: Partial<TenantWebhook> & { endpoint: string }) =>
  kinde!.webhooks.push({
    id: `webhook_seeded${kinde!.webhooks.length}`,
    name: "Added in the dashboard",
    description: null,
    event_types: ["user.created"],
    created_on: "2024-05-01T07:41:45.592145+00:00",
    ...webhook,
  });

describe("setup", () => {
  test("from an empty webhook list: exactly one webhook, this deployment's endpoint, every mirrored type", async () => {
    await serve();
    const host = hostApp();
    const result = await host.setup();
    expect(kinde!.webhooks).toHaveLength(1);
    const [webhook] = kinde!.webhooks;
    expect(webhook).toMatchObject({
      endpoint: ENDPOINT,
      event_types: ALL_TYPES,
      name: "Convex happy-otter-123 (convex-kinde)",
    });
    expect(result).toEqual({
      dryRun: false,
      action: "create",
      changed: true,
      endpoint: ENDPOINT,
      webhookId: webhook!.id,
      eventTypes: ALL_TYPES,
      added: ALL_TYPES,
      warnings: [],
      // token, list webhooks, list event types, create
      requests: 4,
    });
    expect(writes().map((r) => [r.method, r.path])).toEqual([["POST", "/api/v1/webhooks"]]);
  });

  test("eventTypes: the host's unmirrored types are registered when Kinde offers them; a malformed one fails at load", async () => {
    await serve();
    kinde!.eventTypes = [
      ...kinde!.eventTypes,
      { ...kinde!.eventTypes[0]!, id: "et_billing", code: "customer.plan_changed" },
    ];
    const setup = { eventTypes: ["customer.plan_changed", "customer.payment_failed"] };
    const result = await hostApp({ setup }).setup();
    expect(result).toMatchObject({ action: "create", changed: true });
    expect(kinde!.webhooks[0]!.event_types).toEqual([...ALL_TYPES, "customer.plan_changed"]);
    expect(result.warnings).toEqual([
      "Kinde does not offer customer.payment_failed in this environment; the webhook is registered without them.",
    ]);
    expect(() =>
      new Kinde(components.kinde).setupAction({ eventTypes: ["Customer plan"] }),
    ).toThrow(
      /eventTypes must be Kinde event types like "customer\.plan_changed": "Customer plan"/,
    );
  });

  test("billing: the customer.* types the environment offers are registered, a missing one left out with a warning", async () => {
    await serve({ billing: true });
    kinde!.eventTypes = kinde!.eventTypes.filter((t) => t.code !== "customer.plan_created");
    const result = await hostApp({ kinde: { billing: true } }).setup();
    const billingTypes = KINDE_BILLING_EVENT_TYPE_CODES.filter(
      (t) => t !== "customer.plan_created",
    );
    expect(kinde!.webhooks[0]!.event_types).toEqual([...ALL_TYPES, ...billingTypes]);
    expect(result).toMatchObject({
      action: "create",
      added: [...ALL_TYPES, ...billingTypes],
      warnings: [
        "Kinde does not offer customer.plan_created in this environment; the webhook is registered without them.",
      ],
      requests: 4,
    });
    // A webhook setup made before billing was turned on gets the billing types, and keeps its own.
    await kinde!.close();
    await serve({ billing: true });
    seedWebhook({ endpoint: ENDPOINT, event_types: [...ALL_TYPES, "subscriber.created"] });
    const update = await hostApp({ kinde: { billing: true } }).setup();
    expect(update).toMatchObject({
      action: "update",
      added: [...KINDE_BILLING_EVENT_TYPE_CODES],
      warnings: [],
    });
    expect(kinde!.webhooks[0]!.event_types).toEqual([
      ...ALL_TYPES,
      "subscriber.created",
      ...KINDE_BILLING_EVENT_TYPE_CODES,
    ]);
  });

  test("billing off, an environment with billing: nothing changes; billing on, an environment without it: a warning saying so", async () => {
    await serve({ billing: true });
    const off = await hostApp().setup();
    expect(off).toMatchObject({ eventTypes: ALL_TYPES, warnings: [] });
    await kinde!.close();
    await serve();
    const on = await hostApp({ kinde: { billing: true } }).setup();
    expect(on.eventTypes).toEqual(ALL_TYPES);
    expect(on.warnings).toEqual([
      `Kinde does not offer ${KINDE_BILLING_EVENT_TYPE_CODES.join(", ")} in this environment; the webhook is registered without them.`,
      expect.stringMatching(/billing option is on, but Kinde offers no customer\.\* event type/),
    ]);
  });

  test("a second run changes nothing", async () => {
    await serve();
    const host = hostApp();
    const first = await host.setup();
    const before = structuredClone(kinde!.webhooks);
    const writesBefore = writes().length;
    const second = await host.setup();
    expect(second).toMatchObject({
      action: "none",
      changed: false,
      webhookId: first.webhookId,
      added: [],
    });
    expect(writes()).toHaveLength(writesBefore);
    expect(kinde!.webhooks).toEqual(before);
  });

  test("an outdated webhook for this endpoint (spelled differently) is updated, its other types kept", async () => {
    await serve();
    seedWebhook({
      endpoint: "https://HAPPY-OTTER-123.convex.site:443/kinde/webhook",
      event_types: ["user.created", "user.updated", "subscriber.created"],
    });
    const result = await hostApp().setup();
    const missing = ALL_TYPES.filter((t) => t !== "user.created" && t !== "user.updated");
    expect(result).toMatchObject({ action: "update", changed: true, added: missing });
    expect(kinde!.webhooks).toHaveLength(1);
    expect(kinde!.webhooks[0]!.event_types).toEqual([
      "user.created",
      "user.updated",
      "subscriber.created",
      ...missing,
    ]);
    expect(writes()).toEqual([
      expect.objectContaining({
        method: "PATCH",
        path: "/api/v1/webhooks/webhook_seeded0",
        body: { event_types: kinde!.webhooks[0]!.event_types },
      }),
    ]);
  });

  test("dry run prints the plan and makes no writes", async () => {
    await serve();
    seedWebhook({ endpoint: ENDPOINT, event_types: ["user.created"] });
    const before = structuredClone(kinde!.webhooks);
    const logs = vi.spyOn(console, "info");
    const result = await hostApp().setup({ dryRun: true });
    expect(result).toMatchObject({ dryRun: true, action: "update", changed: false });
    expect(result.added).toHaveLength(ALL_TYPES.length - 1);
    expect(writes()).toEqual([]);
    expect(kinde!.webhooks).toEqual(before);
    expect(logs.mock.calls.flat().join("\n")).toMatch(
      /setup \(dry run, nothing changed\): would add user\.updated, .* to webhook webhook_seeded0/,
    );

    kinde!.webhooks.splice(0);
    const empty = await hostApp().setup({ dryRun: true });
    expect(empty).toMatchObject({ action: "create", changed: false, webhookId: null });
    expect(writes()).toEqual([]);
    expect(kinde!.webhooks).toEqual([]);
  });

  test("a missing scope is named, before anything is written", async () => {
    await serve();
    kinde!.revokeScope("create:webhooks");
    await expect(hostApp().setup()).rejects.toThrow(
      /Setup needs the scope `create:webhooks` on the Kinde Management API/,
    );
    const dry = await hostApp().setup({ dryRun: true });
    expect(dry.warnings.join("\n")).toMatch(/`create:webhooks`/);
    kinde!.revokeScope("read:webhooks");
    await expect(hostApp().setup()).rejects.toThrow(/scope `read:webhooks`/);
    expect(writes()).toEqual([]);
    expect(kinde!.webhooks).toEqual([]);
  });

  test("a token that does not list its scopes: Kinde's 403 names the scope", async () => {
    await serve();
    kinde!.omitTokenScopes();
    kinde!.revokeScope("create:webhooks");
    kinde!.revokeScope("read:event_types");
    await expect(hostApp().setup()).rejects.toThrow(
      /Kinde refused POST \/api\/v1\/webhooks \(403\): .* needs the scope `create:webhooks`/,
    );
    expect(kinde!.webhooks).toEqual([]);
  });

  test("429s and 5xx on reads are retried", async () => {
    await serve();
    kinde!.rateLimitNext(2, 0);
    const limited = await hostApp().setup({ dryRun: true });
    expect(limited.action).toBe("create");
    kinde!.failNext(2, 503);
    const failed = await hostApp().setup();
    expect(failed.changed).toBe(true);
    expect(kinde!.webhooks).toHaveLength(1);
    const lists = kinde!.requests.filter(
      (r) => r.method === "GET" && r.path === "/api/v1/webhooks",
    );
    // two 429s + one answer for the dry run; two 503s + one answer for the real run
    expect(lists).toHaveLength(6);
  });

  test("a create refused with a 5xx before Kinde acted is sent again: one webhook", async () => {
    await serve();
    kinde!.failNext(1, 502, "POST");
    const result = await hostApp().setup();
    expect(result.changed).toBe(true);
    expect(writes().filter((r) => r.method === "POST")).toHaveLength(2);
    expect(kinde!.webhooks).toHaveLength(1);
    expect(result.webhookId).toBe(kinde!.webhooks[0]!.id);
  });

  test("a create whose answer is lost after Kinde acted is not sent again: one webhook", async () => {
    await serve();
    kinde!.failAfterWriting(1);
    const result = await hostApp().setup();
    expect(writes().filter((r) => r.method === "POST")).toHaveLength(1);
    expect(kinde!.webhooks).toHaveLength(1);
    expect(result).toMatchObject({ action: "create", webhookId: kinde!.webhooks[0]!.id });
    expect((await hostApp().setup()).action).toBe("none");
  });

  test("an update that fails with 5xx is retried; one that keeps failing fails the run, naming the status", async () => {
    await serve();
    seedWebhook({ endpoint: ENDPOINT, event_types: ["user.created"] });
    kinde!.failNext(2, 500, "PATCH");
    expect((await hostApp().setup()).action).toBe("update");
    expect(kinde!.webhooks[0]!.event_types).toHaveLength(ALL_TYPES.length);

    kinde!.webhooks[0]!.event_types = ["user.created"];
    kinde!.failNext(5, 500, "PATCH");
    await expect(hostApp().setup()).rejects.toThrow(
      /Kinde answered PATCH \/api\/v1\/webhooks\/webhook_seeded0 with 500 3 times/,
    );
    expect(kinde!.webhooks[0]!.event_types).toEqual(["user.created"]);
  });

  test("a local deployment is refused before any request: Kinde delivers to HTTPS only", async () => {
    await serve();
    vi.stubEnv("CONVEX_SITE_URL", "http://127.0.0.1:3211");
    await expect(hostApp().setup()).rejects.toThrow(/HTTPS endpoints only/);
    expect(kinde!.requests).toEqual([]);
  });

  test("a custom route path; a .convex.cloud webhook is reported, not reused", async () => {
    await serve();
    seedWebhook({
      endpoint: `${SITE_URL.replace(".site", ".cloud")}/hooks/kinde`,
      event_types: ALL_TYPES,
    });
    const result = await hostApp({ setup: { path: "/hooks/kinde" } }).setup();
    expect(result).toMatchObject({ action: "create", endpoint: `${SITE_URL}/hooks/kinde` });
    expect(result.warnings).toEqual([
      expect.stringMatching(/webhook_seeded0 .*\.convex\.cloud host.*delete it in Kinde/),
    ]);
    expect(kinde!.webhooks.map((w) => w.endpoint)).toEqual([
      `${SITE_URL.replace(".site", ".cloud")}/hooks/kinde`,
      `${SITE_URL}/hooks/kinde`,
    ]);
  });

  test("event types the tenant does not offer are left out, so Kinde does not refuse the webhook", async () => {
    await serve();
    kinde!.eventTypes = kinde!.eventTypes.filter((t) => !t.code.startsWith("permission."));
    const result = await hostApp().setup();
    expect(result.eventTypes).toEqual(ALL_TYPES.filter((t) => !t.startsWith("permission.")));
    expect(result.warnings[0]).toMatch(/does not offer permission\.created/);
    expect(kinde!.webhooks).toHaveLength(1);
  });
});

test("the doctor's scope table is exactly what setup and the backfill request", async () => {
  await serve();
  const host = hostApp();
  await host.setup();
  kinde!.webhooks[0]!.event_types = ["user.created"];
  expect((await host.setup()).action).toBe("update");
  await host.t.action(internal.kinde.backfill, { exactPermissions: true });
  await host.doctor();
  const requested = new Set(kinde!.requests.flatMap((r) => (r.scope ? [r.scope] : [])));
  expect([...requested].sort()).toEqual(MANAGEMENT_API_SCOPES.flatMap((f) => f.scopes).sort());
});

/** The verdict of every check, by id. */
const verdicts = (report: DoctorReport) =>
  Object.fromEntries(report.checks.map((c) => [c.name, c.verdict])) as Record<CheckName, string>;

/** Every check `ok` except those in `expected`, which have the verdict given. */
function expectVerdicts(report: DoctorReport, expected: Partial<Record<CheckName, string>>) {
  const all = Object.fromEntries(report.checks.map((c) => [c.name, "ok"]));
  expect(verdicts(report)).toEqual({ ...all, ...expected });
}

const check = (report: DoctorReport, name: CheckName) =>
  report.checks.find((c) => c.name === name)!;

/** The quick start, done: setup, backfill, and a delivered event. */
async function healthyApp(options?: Parameters<typeof hostApp>[0]) {
  await serve();
  const host = hostApp(options);
  await host.setup();
  await host.backfill();
  expect(await host.deliver(userCreated({ id: kindeUserId(), email: "ada@example.com" }))).toBe(
    200,
  );
  return host;
}

/** The doctor's checks with the billing option: its two after `backfill`. */
const BILLING_NAMES = [
  ...CHECK_NAMES.filter((n) => n !== "auth-config"),
  ...BILLING_CHECK_NAMES,
  "auth-config",
];

describe("doctor, with the billing option", () => {
  test("setup → backfill → a customer fetched → all green; before the fetch, the refresh check says how to run one", async () => {
    await serve({ billing: true });
    const host = hostApp({ kinde: { billing: true } });
    await host.setup();
    await host.backfill();
    expect(await host.deliver(userCreated({ id: kindeUserId(), email: "ada@example.com" }))).toBe(
      200,
    );
    const before = await host.doctor();
    expect(before.checks.map((c) => c.name)).toEqual(BILLING_NAMES);
    expectVerdicts(before, { "billing-refresh": "warn" });
    expect(check(before, "billing-refresh").fix).toMatch(/^npx convex run kinde:backfill /);
    expect(check(before, "management-scopes").found).toBe(
      "the application has every scope the component uses (12)",
    );

    const user = kinde!.tenant.users[0]!;
    const fetchedAt = Date.now() - 120_000;
    await host.t.mutation(components.kinde.billing.applyCustomer, {
      owner: { kind: "user", kindeId: user.id },
      customerId: "customer_ada",
      fetchedAt,
      plans: [{ planCode: "pro" }],
      entitlements: [{ featureCode: "reports" }],
    });
    const after = await host.doctor();
    expectVerdicts(after, {});
    expect(after).toMatchObject({ healthy: true, summary: "13 ok, 0 warnings, 0 failures" });
    expect(check(after, "billing-refresh").found).toBe(
      `the last billing refresh began 2 minutes ago (customer customer_ada, of user ${user.id})`,
    );
    // token, webhooks, and Kinde's event types (for the billing types the webhook should carry);
    // the billing checks read the log the event checks read, and one index entry.
    expect(after.requests).toBe(3);
  });

  test("a webhook set up before billing was turned on: a warning, with setup as the fix", async () => {
    await serve({ billing: true });
    await hostApp().setup();
    const host = hostApp({ kinde: { billing: true } });
    const before = await host.doctor();
    expect(check(before, "webhook")).toMatchObject({
      verdict: "warn",
      fix: "npx convex run kinde:setup",
    });
    expect(check(before, "webhook").found).toMatch(
      new RegExp(
        `, but not ${KINDE_BILLING_EVENT_TYPE_CODES.join(", ")}, which the billing option`,
      ),
    );
    await host.setup();
    expect(check(await host.doctor(), "webhook").verdict).toBe("ok");
  });

  test("an unmatched billing event in the log: a warning naming its keys; without billing, no billing check at all", async () => {
    const host = await healthyApp({ kinde: { billing: true } });
    const now = Date.now();
    await insertKindeDocument(host.t, {
      table: "webhookEvents",
      document: {
        eventId: "event_0195ac80a14e8d71f42b98e75d3c61ad",
        type: "customer.plan_changed",
        occurredAt: now,
        outcome: "ignored",
        unmatchedKeys: ["subscription_ref", "plan"],
        expiresAt: now + 86_400_000,
      },
    });
    const report = await host.doctor();
    expectVerdicts(report, { "billing-refresh": "warn", "billing-events": "warn" });
    expect(check(report, "billing-events").found).toMatch(
      /: 1 billing event\(s\) whose customer was not found, so they refreshed nothing \(newest: customer\.plan_changed event_0195ac80a14e8d71f42b98e75d3c61ad\); their data had the keys subscription_ref, plan$/,
    );
    const off = await hostApp().doctor();
    expect(off.checks.map((c) => c.name)).toEqual(CHECK_NAMES);
  });

  test("read:billing_entitlements missing: management-scopes fails naming the option, and the refresh's fix starts there", async () => {
    await serve({ billing: true });
    kinde!.revokeScope("read:billing_entitlements");
    const report = await hostApp({ kinde: { billing: true } }).doctor();
    expect(check(report, "management-scopes")).toMatchObject({
      verdict: "fail",
      found: "missing `read:billing_entitlements` (the billing option's entitlements and plans)",
    });
    expect(check(report, "billing-refresh").fix).toMatch(
      /^fix `management-scopes` first, then npx convex run kinde:backfill/,
    );
    // The backfill does not need it: its check's fix does not start there.
    expect(check(report, "backfill").fix).toBe("npx convex run kinde:backfill");
  });
});

describe("doctor", () => {
  test("from an empty Kinde webhook list: setup → backfill → a delivered event → all green", async () => {
    await serve();
    const host = hostApp();
    expect(kinde!.webhooks).toEqual([]);
    const before = await host.doctor();
    expect(check(before, "webhook")).toMatchObject({
      verdict: "fail",
      fix: "npx convex run kinde:setup",
    });
    expect(check(before, "backfill")).toMatchObject({
      verdict: "warn",
      fix: "npx convex run kinde:backfill",
    });
    // No webhook, so nothing can arrive: the fix is the webhook's, not Kinde's delivery log.
    expect(check(before, "last-event")).toMatchObject({
      verdict: "warn",
      fix: "fix `webhook` first, then make a change in Kinde (edit a user's name) and run the doctor again",
    });

    await host.setup();
    await host.backfill();
    expect(await host.deliver(userCreated({ id: kindeUserId(), email: "ada@example.com" }))).toBe(
      200,
    );

    const logs = vi.spyOn(console, "info");
    const report = await host.doctor();
    expect(report.checks.map((c) => c.name)).toEqual(CHECK_NAMES);
    expect(report.checks.filter((c) => c.verdict !== "ok")).toEqual([]);
    expect(report).toMatchObject({ healthy: true, summary: "11 ok, 0 warnings, 0 failures" });
    // token and one webhook list; the issuer's documents are not Management API requests
    expect(report.requests).toBe(2);
    expect(check(report, "last-event").found).toMatch(
      /^user\.created event_\w+ received \d+ seconds? ago \(applied\)$/,
    );
    expect(check(report, "auth-config").found).toBe(
      `convex/auth.config.ts must hold { domain: "${app.issuer.url}", applicationID: "kinde_app_client_id" } (the ID token's iss and aud)`,
    );
    const printed = logs.mock.calls.flat().join("\n");
    expect(printed).toMatch(/doctor: 11 ok, 0 warnings, 0 failures\n {2}✓ issuer-url /);
  });

  test("the example app's own exports: setup, doctor", async () => {
    await serve();
    await app.t.action(internal.kinde.setup, {});
    expect(kinde!.webhooks.map((w) => w.endpoint)).toEqual([ENDPOINT]);
    const report = (await app.t.action(internal.kinde.doctor, {})) as DoctorReport;
    expectVerdicts(report, { "last-event": "warn", backfill: "warn" });
  });

  // Each failing check in isolation: a healthy setup with one thing broken.
  test("KINDE_ISSUER_URL unset: issuer-url fails; what needs the issuer is not checked", async () => {
    const host = await healthyApp();
    vi.stubEnv("KINDE_ISSUER_URL", "");
    const report = await host.doctor();
    expectVerdicts(report, {
      "issuer-url": "fail",
      "issuer-discovery": "warn",
      "key-set": "warn",
      "auth-config": "warn",
    });
    expect(check(report, "issuer-url").fix).toBe(
      "npx convex env set KINDE_ISSUER_URL https://<your-subdomain>.kinde.com",
    );
    // auth-config needs issuer-discovery's issuer, but points at the failure, not at a check
    // that was not run either.
    for (const name of ["issuer-discovery", "key-set", "auth-config"] as const) {
      expect(check(report, name)).toMatchObject({
        found: "not checked: no issuer URL",
        fix: "fix `issuer-url` first",
      });
    }
  });

  test("the issuer given in code with a path: issuer-url names the `issuerUrl` option, not KINDE_ISSUER_URL, and fixes it there", async () => {
    await healthyApp();
    const host = hostApp({ kinde: { issuerUrl: `${app.issuer.url}/oauth2` } });
    const report = await host.doctor();
    expect(check(report, "issuer-url")).toEqual({
      name: "issuer-url",
      verdict: "fail",
      found: `the \`issuerUrl\` option is ${app.issuer.url}/oauth2, which has a path: the issuer is the bare domain`,
      fix: `pass { issuerUrl: "${app.issuer.url}" } to new Kinde(components.kinde, …) in convex/kinde.ts`,
    });
  });

  test("KINDE_ISSUER_URL not a URL: issuer-url fails", async () => {
    const host = await healthyApp();
    vi.stubEnv("KINDE_ISSUER_URL", "acme.kinde.com");
    const report = await host.doctor();
    expect(check(report, "issuer-url")).toMatchObject({
      verdict: "fail",
      found: "KINDE_ISSUER_URL is not a URL: acme.kinde.com",
    });
  });

  test("the discovery document names another issuer (custom domain): issuer-discovery fails with the exact value", async () => {
    const host = await healthyApp();
    app.issuer.setDiscoveryIssuer("https://auth.acme.com");
    try {
      const report = await host.doctor();
      expectVerdicts(report, { "issuer-discovery": "fail", "auth-config": "warn" });
      expect(check(report, "auth-config")).toMatchObject({
        found: "not checked: the token issuer is not known",
        fix: "fix `issuer-discovery` first",
      });
      // KINDE_DOMAIN is set: the Management API does not move with the issuer.
      expect(check(report, "issuer-discovery").fix).toBe(
        "npx convex env set KINDE_ISSUER_URL https://auth.acme.com (and use it as `domain` in convex/auth.config.ts)",
      );
    } finally {
      app.issuer.setDiscoveryIssuer(null);
    }
  });

  test.each([
    ["down", /could not be read/],
    ["garbage", /is not a key set/],
  ] as const)("the key set %s: key-set fails", async (mode, found) => {
    const host = await healthyApp();
    app.issuer.setMode(mode);
    const report = await host.doctor();
    expectVerdicts(report, { "key-set": "fail" });
    expect(check(report, "key-set").found).toMatch(found);
  });

  test("no M2M credentials: management-credentials warns; token, scopes and webhook are not checked", async () => {
    const host = await healthyApp();
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", "");
    const report = await host.doctor();
    expectVerdicts(report, {
      "management-credentials": "warn",
      "management-token": "warn",
      "management-scopes": "warn",
      webhook: "warn",
    });
    expect(check(report, "management-credentials")).toMatchObject({
      found: expect.stringMatching(
        /^KINDE_MANAGEMENT_CLIENT_SECRET is not set \(KINDE_MANAGEMENT_CLIENT_ID is\)/,
      ),
      fix: expect.stringMatching(/^npx convex env set KINDE_MANAGEMENT_CLIENT_SECRET </),
    });
    expect(check(report, "webhook")).toMatchObject({
      found: "not checked: no credentials",
      fix: "fix `management-credentials` first",
    });
    expect(report.requests).toBe(0);
  });

  test.each([
    ["unset", ""],
    ["not a URL", "acme.kinde.com"],
    ["with a path", "https://acme.kinde.com/oauth2"],
  ])(
    "KINDE_ISSUER_URL %s and no KINDE_DOMAIN, M2M credentials set: management-credentials ok; token, scopes and webhook not checked, pointing at issuer-url",
    async (_, issuerUrl) => {
      const host = await healthyApp();
      vi.stubEnv("KINDE_ISSUER_URL", issuerUrl);
      vi.stubEnv("KINDE_DOMAIN", "");
      const report = await host.doctor();
      expectVerdicts(report, {
        "issuer-url": "fail",
        "issuer-discovery": "warn",
        "key-set": "warn",
        "management-token": "warn",
        "management-scopes": "warn",
        webhook: "warn",
        "auth-config": "warn",
      });
      for (const name of ["management-token", "management-scopes", "webhook"] as const) {
        expect(check(report, name)).toMatchObject({
          found:
            "not checked: no Management API host: KINDE_DOMAIN is not set, and the issuer URL it falls back to did not pass",
          fix: "fix `issuer-url` first",
        });
      }
      expect(report.requests).toBe(0);
    },
  );

  test("before the first backfill, with no way to run one: the backfill's fix starts at the check that blocks it", async () => {
    await serve();
    const host = hostApp();
    await host.setup();
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", "");
    expect(check(await host.doctor(), "backfill").fix).toBe(
      "fix `management-credentials` first, then npx convex run kinde:backfill",
    );
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", kinde!.clientId);
    kinde!.revokeScope("read:roles");
    const report = await host.doctor();
    expectVerdicts(report, {
      "management-scopes": "fail",
      "last-event": "warn",
      backfill: "warn",
    });
    expect(check(report, "backfill").fix).toBe(
      "fix `management-scopes` first, then npx convex run kinde:backfill",
    );
  });

  test("no webhook and no create:webhooks: the webhook's fix grants the scope before running setup", async () => {
    await serve();
    kinde!.revokeScope("create:webhooks");
    const report = await hostApp().doctor();
    expect(check(report, "management-scopes")).toMatchObject({
      verdict: "warn",
      found: expect.stringContaining("`create:webhooks`"),
    });
    expect(check(report, "webhook")).toMatchObject({
      verdict: "fail",
      fix: "fix `management-scopes` first, then npx convex run kinde:setup",
    });
  });

  test("a wrong client secret: management-token fails", async () => {
    const host = await healthyApp();
    vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", "not-the-secret");
    const report = await host.doctor();
    expectVerdicts(report, {
      "management-token": "fail",
      "management-scopes": "warn",
      webhook: "warn",
    });
    expect(check(report, "management-token").found).toMatch(/refused the client credentials.*401/);
    expect(check(report, "management-token").fix).toMatch(
      new RegExp(`and that KINDE_DOMAIN \\(${kinde!.url}\\) is your Kinde subdomain`),
    );
    expect(check(report, "management-token").fix).not.toMatch(/set KINDE_DOMAIN/);
  });

  test("no KINDE_DOMAIN, and the issuer does not serve the Management API: management-token fails, naming the host it asked and asking for KINDE_DOMAIN", async () => {
    const host = await healthyApp();
    vi.stubEnv("KINDE_DOMAIN", "");
    const report = await host.doctor();
    expectVerdicts(report, {
      "management-token": "fail",
      "management-scopes": "warn",
      webhook: "warn",
    });
    const token = check(report, "management-token");
    expect(token.found).toContain(`${app.issuer.url}/oauth2/token (404)`);
    expect(token.fix).toContain(
      `Kinde was asked at ${app.issuer.url}, the issuer URL, as KINDE_DOMAIN is not set: if that is a custom domain, set KINDE_DOMAIN to your https://<your-subdomain>.kinde.com`,
    );
  });

  test("a backfill scope revoked: management-scopes fails, naming it and what it disables", async () => {
    const host = await healthyApp();
    kinde!.revokeScope("read:users");
    const report = await host.doctor();
    expectVerdicts(report, { "management-scopes": "fail" });
    expect(check(report, "management-scopes").found).toBe("missing `read:users` (backfill)");
  });

  test("an optional scope revoked: management-scopes warns, naming the feature", async () => {
    const host = await healthyApp();
    kinde!.revokeScope("read:organization_user_permissions");
    const report = await host.doctor();
    expectVerdicts(report, { "management-scopes": "warn" });
    expect(check(report, "management-scopes").found).toMatch(/the backfill's exactPermissions/);
  });

  test("read:webhooks revoked: scopes fail and the webhook is not checked", async () => {
    const host = await healthyApp();
    kinde!.revokeScope("read:webhooks");
    const report = await host.doctor();
    expectVerdicts(report, { "management-scopes": "fail", webhook: "warn" });
  });

  test("the webhook deleted in Kinde: webhook fails with setup as the fix", async () => {
    const host = await healthyApp();
    kinde!.webhooks.splice(0);
    const report = await host.doctor();
    expectVerdicts(report, { webhook: "fail" });
    expect(check(report, "webhook")).toMatchObject({ fix: "npx convex run kinde:setup" });
  });

  test("event types unticked in Kinde: webhook fails, naming them", async () => {
    const host = await healthyApp();
    kinde!.webhooks[0]!.event_types = ALL_TYPES.filter((t) => !t.startsWith("organization."));
    const report = await host.doctor();
    expectVerdicts(report, { webhook: "fail" });
    expect(check(report, "webhook").found).toMatch(
      /lacks organization\.created, organization\.updated, organization\.deleted/,
    );
  });

  test("a second webhook on the .convex.cloud host: webhook warns", async () => {
    const host = await healthyApp();
    seedWebhook({ endpoint: ENDPOINT.replace(".site", ".cloud"), event_types: ALL_TYPES });
    expectVerdicts(await host.doctor(), { webhook: "warn" });
  });

  test("no event ever delivered: last-event warns", async () => {
    await serve();
    const host = hostApp();
    await host.setup();
    await host.backfill();
    const report = await host.doctor();
    expectVerdicts(report, { "last-event": "warn" });
    expect(check(report, "last-event").found).toBe("no event received within the retention window");
  });

  test("an event delivered after the retention window: event-log warns, backfill as the fix", async () => {
    const host = await healthyApp();
    const tenDaysAgo = Date.now() - 10 * 86_400_000;
    expect(await host.deliver(userUpdated({ id: kindeUserId() }, { at: tenDaysAgo }))).toBe(200);
    const report = await host.doctor();
    expectVerdicts(report, { "event-log": "warn" });
    expect(check(report, "event-log").found).toMatch(/1 expired/);
  });

  test("the backfill failed: backfill fails with its error", async () => {
    await serve();
    const host = hostApp();
    await host.setup();
    expect(await host.deliver(userCreated({ id: kindeUserId() }))).toBe(200);
    kinde!.failPath("/api/v1/users", 400);
    await expect(host.backfill()).rejects.toThrow();
    const report = await host.doctor();
    expectVerdicts(report, { backfill: "fail" });
    expect(check(report, "backfill").found).toMatch(
      /failed at phase users: Kinde answered GET \/api\/v1\/users with 400/,
    );
  });

  test("KINDE_CLIENT_ID unset with ID tokens: auth-config warns", async () => {
    const host = await healthyApp();
    vi.stubEnv("KINDE_CLIENT_ID", "");
    expectVerdicts(await host.doctor(), { "auth-config": "warn" });
  });

  test("without the auth option there is no auth-config line", async () => {
    const host = await healthyApp({ doctor: { auth: undefined } });
    const report = await host.doctor();
    expect(report.checks.map((c) => c.name)).not.toContain("auth-config");
    expect(report.healthy).toBe(true);
  });
});

describe("doctor, in every environment", () => {
  /** The variables the doctor reads that a developer sets, and each one's value when set. */
  const VARIABLES = {
    KINDE_ISSUER_URL: () => app.issuer.url,
    KINDE_DOMAIN: () => kinde!.url,
    KINDE_MANAGEMENT_CLIENT_ID: () => kinde!.clientId,
    KINDE_MANAGEMENT_CLIENT_SECRET: () => kinde!.clientSecret,
    KINDE_CLIENT_ID: () => "kinde_app_client_id",
  };
  type Variable = keyof typeof VARIABLES;
  const names = Object.keys(VARIABLES) as Variable[];
  const environments = Array.from({ length: 2 ** names.length }, (_, bits) =>
    names.filter((_, i) => bits & (2 ** i)),
  );

  /**
   * What each check needs to have passed before it can run, in this environment: written out
   * from the docs, not read from the doctor. The Management API's host is KINDE_DOMAIN, else
   * the issuer URL.
   */
  function prerequisites(set: Variable[]): Partial<Record<CheckName, CheckName[]>> {
    const token: CheckName[] = [
      "management-credentials",
      ...(set.includes("KINDE_DOMAIN") ? [] : ["issuer-url" as const]),
    ];
    return {
      "issuer-discovery": ["issuer-url"],
      "key-set": ["issuer-url"],
      "management-token": token,
      "management-scopes": [...token, "management-token"],
      webhook: [...token, "management-token"],
      "auth-config": ["issuer-url", "issuer-discovery"],
    };
  }

  /** The variables a fix asks to set: `set A`, `env set A`, `set A and B`, `set A, B or C`. */
  function askedToSet(fix: string): string[] {
    const lists = fix.matchAll(/\bset ([A-Z][A-Z_]+(?:(?:, | and | or )[A-Z][A-Z_]+)*)/g);
    return [...lists].flatMap((m) => m[1]!.split(/, | and | or /));
  }

  // Each environment without and with the billing option (whose checks' fixes start at the
  // check keeping the backfill or a refresh from running).
  test.each(
    environments.flatMap((set) => {
      const label = set.join(", ") || "nothing";
      return [[label, set, false] as const, [`${label}, with billing`, set, true] as const];
    }),
  )(
    "set: %s — no fix asks to set a set variable; what could not run says not checked, naming a real finding",
    async (_, set, billing) => {
      await serve({ billing });
      for (const name of names) vi.stubEnv(name, set.includes(name) ? VARIABLES[name]() : "");
      const report = await hostApp({ kinde: { billing } }).doctor();
      expect(report.checks.map((c) => c.name)).toEqual(billing ? BILLING_NAMES : CHECK_NAMES);
      const byName = new Map(report.checks.map((c) => [c.name as CheckName, c]));
      const isNotChecked = (c: DoctorCheck) => c.found.startsWith("not checked");

      for (const c of report.checks) {
        expect(c.verdict === "ok", `${c.name}: a fix exactly when not ok`).toBe(
          c.fix === undefined,
        );
        const asked = askedToSet(c.fix ?? "");
        expect(
          asked.filter((v) => set.includes(v as Variable)),
          `${c.name}: ${c.fix}`,
        ).toEqual([]);
        // Any fix that starts elsewhere names a check that did not pass, and did not pass on
        // a finding of its own: not one that was not run either.
        for (const [, blocker] of (c.fix ?? "").matchAll(/fix `([a-z-]+)` first/g)) {
          const named = byName.get(blocker as CheckName);
          expect(named, `${c.name} names ${blocker}`).toBeDefined();
          expect(named!.verdict, `${c.name} names ${blocker}`).not.toBe("ok");
          expect(isNotChecked(named!), `${c.name} names ${blocker}: ${named!.found}`).toBe(false);
        }
      }

      for (const [name, needs] of Object.entries(prerequisites(set)) as [
        CheckName,
        CheckName[],
      ][]) {
        const c = byName.get(name)!;
        const unmet = needs.filter((n) => byName.get(n)!.verdict !== "ok");
        if (unmet.length === 0) {
          expect(isNotChecked(c), `${name}: its prerequisites passed: ${c.found}`).toBe(false);
          continue;
        }
        expect(isNotChecked(c), `${name} needs ${unmet.join(", ")}: ${c.found}`).toBe(true);
        const blocker = /^fix `([a-z-]+)` first$/.exec(c.fix ?? "")?.[1] as CheckName | undefined;
        expect(blocker && needs.includes(blocker), `${name}: ${c.fix}`).toBe(true);
      }
    },
  );
});

/**
 * Setup and the doctor are one-shot commands: when Kinde asks for a wait
 * longer than they may sleep (a 15-minute Retry-After, a token endpoint's
 * absurd RateLimit-Reset, backoffs past a few seconds), they answer at once,
 * saying when to run them again, instead of sleeping until Convex kills them.
 * The clock is frozen, so "at once" is measured by the requests they made and
 * the time they name.
 */
describe("a wait longer than a one-shot command sleeps", () => {
  const freezeClock = () => vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
  /** How long from now the answer says to retry after. */
  const retryAfterIn = (text: string) => {
    const at = /retry after (\d{4}-\d\d-\d\dT[\d:.]+Z)/.exec(text)?.[1];
    expect(at, text).toBeDefined();
    return Date.parse(at!) - Date.now();
  };
  const failureOf = (promise: Promise<unknown>) =>
    promise.then(
      () => new Error("it succeeded"),
      (error: unknown) => error as Error,
    );

  test("setup, Kinde rate-limiting the webhook list for 15 minutes: it answers after that one request, changing nothing; run again after, it registers the webhook", async () => {
    await serve();
    freezeClock();
    kinde!.rateLimitNext(1, 900, { header: "Retry-After" });
    const { message } = await failureOf(hostApp().setup());
    expect(message).toMatch(
      /^Kinde rate-limited the Management API \(429 on GET \/api\/v1\/webhooks, asked to wait 900 s\); retry after \S+Z\. Running setup again then is safe: it never creates a second webhook\.$/,
    );
    expect(retryAfterIn(message)).toBeGreaterThanOrEqual(900_000);
    expect(retryAfterIn(message)).toBeLessThanOrEqual(900_250);
    expect(kinde!.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /oauth2/token",
      "GET /api/v1/webhooks",
    ]);
    expect(kinde!.webhooks).toEqual([]);

    vi.setSystemTime(Date.now() + 900_250);
    expect(await hostApp().setup()).toMatchObject({ action: "create", changed: true });
    expect(kinde!.webhooks).toHaveLength(1);
  });

  test("setup, the token endpoint asking for 10⁹ s: capped at an hour, answered after the one token request", async () => {
    await serve();
    freezeClock();
    kinde!.rateLimitNext(1, 1e9, { endpoint: "token" });
    const { message } = await failureOf(hostApp().setup());
    expect(message).toMatch(
      /^Kinde rate-limited the Management API \(429 on POST \/oauth2\/token, asked to wait 1000000000 s\); retry after /,
    );
    expect(retryAfterIn(message)).toBeGreaterThanOrEqual(60 * 60_000);
    expect(retryAfterIn(message)).toBeLessThanOrEqual(60 * 60_000 + 250);
    expect(kinde!.requests.map((r) => r.path)).toEqual(["/oauth2/token"]);
  });

  /** Backoffs of 6 s and more: each is longer than a one-shot command sleeps. */
  const SLOW_RETRY = { attempts: 3, baseDelayMs: 6_000, maxDelayMs: 60_000 };

  test("setup, Kinde answering 503 with backoffs past a few seconds: it answers after the first, saying when to retry", async () => {
    await serve();
    freezeClock();
    kinde!.failNext(2, 503);
    const { message } = await failureOf(hostApp({ setup: { retry: SLOW_RETRY } }).setup());
    expect(message).toMatch(
      /^Kinde's Management API kept failing \(503 on GET \/api\/v1\/webhooks; try 1 of 3\); retry after /,
    );
    expect(retryAfterIn(message)).toBeGreaterThanOrEqual(6_000);
    expect(retryAfterIn(message)).toBeLessThanOrEqual(12_000);
    expect(kinde!.requests.filter((r) => r.path === "/api/v1/webhooks")).toHaveLength(1);
  });

  test("setup, a create refused with a 5xx whose backoff is long: it answers at once; run again, it creates exactly one webhook", async () => {
    await serve();
    freezeClock();
    kinde!.failNext(1, 502, "POST");
    const { message } = await failureOf(hostApp({ setup: { retry: SLOW_RETRY } }).setup());
    expect(message).toMatch(
      /^Kinde's Management API kept failing \(creating the webhook: Kinde answered POST \/api\/v1\/webhooks with 502 1 times: INTERNAL: Temporary failure; try 1 of 3\); retry after \S+Z\. Running setup again then is safe/,
    );
    // It looked for the webhook before answering: Kinde had not created it.
    expect(kinde!.requests.map((r) => `${r.method} ${r.path}`).slice(-2)).toEqual([
      "POST /api/v1/webhooks",
      "GET /api/v1/webhooks",
    ]);
    expect(kinde!.webhooks).toEqual([]);

    vi.setSystemTime(Date.now() + 12_000);
    expect(await hostApp({ setup: { retry: SLOW_RETRY } }).setup()).toMatchObject({
      action: "create",
    });
    expect(kinde!.webhooks).toHaveLength(1);
  });

  test("the doctor, Kinde rate-limiting the token request for 15 minutes: the token check says when to run it again, the checks that need a token wait for it", async () => {
    const host = await healthyApp();
    freezeClock();
    kinde!.rateLimitNext(1, 900, { header: "Retry-After", endpoint: "token" });
    const before = kinde!.requests.length;
    const report = await host.doctor();
    expectVerdicts(report, {
      "management-token": "warn",
      "management-scopes": "warn",
      webhook: "warn",
    });
    const token = check(report, "management-token");
    expect(token.found).toMatch(
      /^not checked: Kinde rate-limited the Management API \(429 on POST \/oauth2\/token, asked to wait 900 s\); retry after \S+Z$/,
    );
    expect(retryAfterIn(token.found)).toBeGreaterThanOrEqual(900_000);
    expect(token.fix).toMatch(/^run the doctor again after \S+Z$/);
    expect(report.requests).toBe(1);
    expect(kinde!.requests).toHaveLength(before + 1);
  });

  test("the doctor, Kinde rate-limiting the webhook list: the webhook check says when to run it again", async () => {
    const host = await healthyApp();
    freezeClock();
    kinde!.rateLimitNext(1, 900, { header: "Retry-After" });
    const report = await host.doctor();
    expectVerdicts(report, { webhook: "warn" });
    expect(check(report, "webhook").found).toMatch(
      /^not checked: Kinde rate-limited the Management API \(429 on GET \/api\/v1\/webhooks, asked to wait 900 s\); retry after /,
    );
    expect(report.requests).toBe(2);
  });

  test("the doctor, a backfill waiting 15 minutes for Kinde: ok and until when, ten minutes on; stopped only once 3 minutes past its wait", async () => {
    await serve();
    const host = hostApp();
    await host.setup();
    expect(await host.deliver(userCreated({ id: kindeUserId() }))).toBe(200);
    // The continuation the backfill schedules stays on the fake clock: this test checks the wait.
    vi.useFakeTimers({ toFake: ["Date", "setTimeout", "clearTimeout"], now: Date.now() });
    kinde!.rateLimitNext(1, 900, { header: "Retry-After" });
    const waiting = await host.backfill();
    expect(waiting).toMatchObject({ continuing: true, run: { waiting: expect.anything() } });
    const resumesAt = waiting.run.waiting!.resumesAt;

    vi.setSystemTime(Date.now() + 10 * 60_000);
    const report = await host.doctor();
    expectVerdicts(report, {});
    expect(check(report, "backfill").found).toBe(
      `run ${waiting.run.runId} is waiting until ${new Date(resumesAt).toISOString()}, then continues by itself (phase roles, 0 pages so far): Kinde rate-limited the Management API (429 on GET /api/v1/roles, asked to wait 900 s)`,
    );

    vi.setSystemTime(resumesAt + 3 * 60_000 + 1_000);
    expect(check(await host.doctor(), "backfill")).toMatchObject({
      verdict: "warn",
      found: expect.stringMatching(/stopped at phase roles/),
    });
  });
});
