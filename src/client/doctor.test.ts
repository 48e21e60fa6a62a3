import { describe, expect, test } from "vitest";
import type { BackfillStatus } from "../shared/backfill.js";
import type { EventRecord } from "../shared/events.js";
import { enrichmentOf, issuerSettingOf, parseIssuerUrl } from "./config.js";
import {
  ago,
  checkAuthConfig,
  checkBackfill,
  checkBillingEvents,
  checkBillingRefresh,
  checkDiscovery,
  checkEventLog,
  checkIssuerUrl,
  checkKeySet,
  checkLastEvent,
  checkManagementCredentials,
  checkScopes,
  checkWebhook,
  MANAGEMENT_API_SCOPES,
  formatReport,
  managementConfigOrBlocker,
  managementTokenFix,
  summarize,
} from "./doctor.js";
import { MIRRORED_EVENT_TYPES } from "./setup.js";

const ISSUER = "https://acme.kinde.com";
/** Where the issuer URL is read: the environment variable, or the option passed in code. */
const FROM_ENV = issuerSettingOf({});
const FROM_OPTION = issuerSettingOf({ issuerUrl: ISSUER });
const KINDE_KID = "4c:fa:9e:d6:47:23:b7:39:c7:8f:97:28:45:a1:84:35";
const rsaKey = (kid: string, extra: object = {}) => ({
  kty: "RSA",
  n: "x",
  e: "AQAB",
  kid,
  ...extra,
});

describe("checkIssuerUrl", () => {
  test("set and a bare domain: ok, trailing slashes dropped", () => {
    expect(checkIssuerUrl(parseIssuerUrl(`${ISSUER}/`), FROM_ENV)).toMatchObject({
      issuerUrl: ISSUER,
      check: { name: "issuer-url", verdict: "ok" },
    });
  });
  test.each([
    [undefined, /not set/, /npx convex env set KINDE_ISSUER_URL/],
    ["  ", /not set/, /npx convex env set KINDE_ISSUER_URL/],
    ["acme.kinde.com", /not a URL/, /npx convex env set KINDE_ISSUER_URL/],
    [`${ISSUER}/oauth2`, /has a path/, /KINDE_ISSUER_URL https:\/\/acme\.kinde\.com$/],
  ])("%j fails with its fix", (raw, found, fix) => {
    const { check, issuerUrl } = checkIssuerUrl(parseIssuerUrl(raw), FROM_ENV);
    expect(issuerUrl).toBeUndefined();
    expect(check.verdict).toBe("fail");
    expect(check.found).toMatch(found);
    expect(check.fix).toMatch(fix);
  });
  test("given in code (the `issuerUrl` option, which hides KINDE_ISSUER_URL): named so, fixed there", () => {
    const { check } = checkIssuerUrl(parseIssuerUrl(`${ISSUER}/oauth2`), FROM_OPTION);
    expect(check.found).toBe(
      "the `issuerUrl` option is https://acme.kinde.com/oauth2, which has a path: the issuer is the bare domain",
    );
    expect(check.fix).toBe(
      'pass { issuerUrl: "https://acme.kinde.com" } to new Kinde(components.kinde, …) in convex/kinde.ts',
    );
    expect(checkIssuerUrl(parseIssuerUrl(ISSUER), FROM_OPTION).check.found).toBe(
      "the `issuerUrl` option is https://acme.kinde.com",
    );
  });
});

describe("checkDiscovery", () => {
  test("the same issuer: ok", () => {
    expect(checkDiscovery(ISSUER, { issuer: ISSUER }, false, FROM_ENV).check.verdict).toBe("ok");
  });
  test("a custom domain where the subdomain is configured: fail, naming the token's issuer", () => {
    const { check, issuer } = checkDiscovery(
      ISSUER,
      { issuer: "https://auth.acme.com" },
      false,
      FROM_ENV,
    );
    expect(issuer).toBeUndefined();
    expect(check).toMatchObject({ verdict: "fail" });
    expect(check.found).toMatch(/names the issuer https:\/\/auth\.acme\.com, not https:\/\/acme/);
    expect(check.fix).toMatch(
      /KINDE_ISSUER_URL https:\/\/auth\.acme\.com .*if https:\/\/auth\.acme\.com is a custom domain, also set KINDE_DOMAIN/,
    );
  });
  test("the same, with KINDE_DOMAIN set: the fix does not ask to set it", () => {
    const { check } = checkDiscovery(ISSUER, { issuer: "https://auth.acme.com" }, true, FROM_ENV);
    expect(check.fix).toBe(
      "npx convex env set KINDE_ISSUER_URL https://auth.acme.com (and use it as `domain` in convex/auth.config.ts)",
    );
  });
  test("only a trailing slash apart: a warning about auth.config.ts's exact domain", () => {
    const { check, issuer } = checkDiscovery(ISSUER, { issuer: `${ISSUER}/` }, false, FROM_ENV);
    expect(issuer).toBe(`${ISSUER}/`);
    expect(check.verdict).toBe("warn");
    expect(check.fix).toMatch(/exactly "https:\/\/acme\.kinde\.com\/"/);
  });
  test("the issuer given in code: the fixes change the `issuerUrl` option, not KINDE_ISSUER_URL", () => {
    const other = checkDiscovery(ISSUER, { issuer: "https://auth.acme.com" }, true, FROM_OPTION);
    expect(other.check.fix).toMatch(
      /^pass \{ issuerUrl: "https:\/\/auth\.acme\.com" \} to new Kinde/,
    );
    const none = checkDiscovery(ISSUER, {}, true, FROM_OPTION);
    expect(none.check.fix).toMatch(/^pass \{ issuerUrl: /);
    const slash = checkDiscovery(ISSUER, { issuer: `${ISSUER}/` }, true, FROM_OPTION);
    expect(slash.check.found).toMatch(/trailing slash the `issuerUrl` option does not have$/);
    for (const { check } of [other, none, slash]) {
      expect(`${check.found} ${check.fix}`).not.toContain("KINDE_ISSUER_URL");
    }
    const notKeys = checkKeySet(`${ISSUER}/.well-known/jwks`, {}, FROM_OPTION);
    expect(notKeys.fix).toMatch(/^check the `issuerUrl` option:/);
  });
  test("no issuer at all: fail", () => {
    expect(checkDiscovery(ISSUER, { jwks_uri: "x" }, false, FROM_ENV).check.verdict).toBe("fail");
    expect(checkDiscovery(ISSUER, null, false, FROM_ENV).check.verdict).toBe("fail");
  });
});

describe("checkKeySet", () => {
  const url = `${ISSUER}/.well-known/jwks`;
  test("RS256 keys with Kinde-style kids: ok", () => {
    const check = checkKeySet(
      url,
      { keys: [rsaKey(KINDE_KID, { alg: "RS256", use: "sig" })] },
      FROM_ENV,
    );
    expect(check).toMatchObject({ verdict: "ok" });
    expect(check.found).toContain(KINDE_KID);
  });
  test("RSA keys whose kids are not Kinde's: a warning", () => {
    expect(checkKeySet(url, { keys: [rsaKey("key-1")] }, FROM_ENV).verdict).toBe("warn");
  });
  test.each([
    ["no keys array", { keys: "nope" }],
    ["no RSA key", { keys: [{ kty: "EC", crv: "P-256", kid: KINDE_KID }] }],
    ["only an encryption key", { keys: [rsaKey(KINDE_KID, { use: "enc" })] }],
    ["only another algorithm", { keys: [rsaKey(KINDE_KID, { alg: "RS512" })] }],
  ])("%s: fail", (_, body) => {
    expect(checkKeySet(url, body, FROM_ENV).verdict).toBe("fail");
  });
});

describe("checkManagementCredentials", () => {
  const ID = "KINDE_MANAGEMENT_CLIENT_ID";
  const SECRET = "KINDE_MANAGEMENT_CLIENT_SECRET";
  test("both set: ok", () => {
    expect(checkManagementCredentials("m2m_id", "m2m_secret")).toMatchObject({
      verdict: "ok",
      found: `${ID} and ${SECRET} are set`,
    });
  });
  test("neither: a warning whose fix creates the application and sets both", () => {
    const check = checkManagementCredentials(undefined, "");
    expect(check.verdict).toBe("warn");
    expect(check.found).toMatch(new RegExp(`^${ID} and ${SECRET} are not set`));
    expect(check.fix).toMatch(/^create a machine-to-machine application/);
    expect(check.fix).toContain(`set ${ID} and ${SECRET}`);
  });
  test.each([
    ["m2m_id", undefined, SECRET, ID],
    [undefined, "m2m_secret", ID, SECRET],
  ])(
    "only one set (%j, %j): the fix sets %s alone; the application exists",
    (id, secret, missing, present) => {
      const check = checkManagementCredentials(id, secret);
      expect(check.verdict).toBe("warn");
      expect(check.found).toMatch(new RegExp(`^${missing} is not set \\(${present} is\\)`));
      expect(check.fix).toMatch(new RegExp(`^npx convex env set ${missing} <`));
      expect(check.fix).not.toMatch(new RegExp(`set ${present}|create`));
    },
  );
});

describe("managementConfigOrBlocker", () => {
  const fromDomain = { domain: "https://acme.kinde.com", from: "KINDE_DOMAIN" as const };
  const fromIssuer = { domain: "https://acme.kinde.com", from: "issuer" as const };
  test("credentials and a host: the config", () => {
    expect(managementConfigOrBlocker("id", "secret", fromDomain, false)).toEqual({
      config: {
        domain: "https://acme.kinde.com",
        domainFrom: "KINDE_DOMAIN",
        clientId: "id",
        clientSecret: "secret",
      },
      domain: fromDomain,
    });
    expect(managementConfigOrBlocker("id", "secret", fromIssuer, true).blocker).toBeUndefined();
  });
  test("no credentials: blocked by management-credentials, whatever the host", () => {
    for (const domain of [fromDomain, fromIssuer, null]) {
      expect(managementConfigOrBlocker("id", undefined, domain, true).blocker?.check).toBe(
        "management-credentials",
      );
    }
  });
  test("no host (KINDE_DOMAIN unset, the issuer URL unset or not passing): blocked by issuer-url", () => {
    for (const domain of [null, fromIssuer]) {
      expect(managementConfigOrBlocker("id", "secret", domain, false).blocker).toEqual({
        check: "issuer-url",
        why: "no Management API host: KINDE_DOMAIN is not set, and the issuer URL it falls back to did not pass",
      });
    }
  });
});

test("managementTokenFix names the host asked, and asks for KINDE_DOMAIN only when it is unset", () => {
  const set = managementTokenFix({ domain: ISSUER, from: "KINDE_DOMAIN" });
  expect(set).toMatch(/^check KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET /);
  expect(set).toContain(`and that KINDE_DOMAIN (${ISSUER}) is your Kinde subdomain`);
  expect(set).not.toMatch(/set KINDE_DOMAIN/);
  const unset = managementTokenFix({ domain: "https://auth.acme.com", from: "issuer" });
  expect(unset).toContain("Kinde was asked at https://auth.acme.com, the issuer URL");
  expect(unset).toMatch(
    /if that is a custom domain, set KINDE_DOMAIN to your https:\/\/<your-subdomain>\.kinde\.com$/,
  );
});

describe("checkScopes", () => {
  const all = MANAGEMENT_API_SCOPES.flatMap((f) => f.scopes);
  test("every scope: ok", () => {
    expect(checkScopes(all).verdict).toBe("ok");
  });
  test("a backfill scope missing: fail, naming the scope and the feature", () => {
    const check = checkScopes(all.filter((s) => s !== "read:users"));
    expect(check.verdict).toBe("fail");
    expect(check.found).toBe("missing `read:users` (backfill)");
    expect(check.fix).toMatch(/Scopes: add read:users$/);
  });
  test("only optional features disabled: a warning naming each", () => {
    const check = checkScopes(
      all.filter((s) => s !== "read:organization_user_permissions" && s !== "update:webhooks"),
    );
    expect(check.verdict).toBe("warn");
    expect(check.found).toMatch(/`update:webhooks` \(setup \(creating and updating/);
    expect(check.found).toMatch(
      /`read:organization_user_permissions` \(the backfill's exactPermissions\)/,
    );
  });
  test("a token that does not list its scopes: a warning", () => {
    expect(checkScopes(undefined).verdict).toBe("warn");
  });
  test("enrichment naming properties: their scopes are required, and named when missing", () => {
    const properties = enrichmentOf({
      enrichment: { userProperties: "all", organizationProperties: ["tier"] },
    });
    const check = checkScopes(all, properties);
    expect(check.verdict).toBe("fail");
    expect(check.found).toBe(
      "missing `read:user_properties` (enrichment's userProperties); `read:organization_properties` (enrichment's organizationProperties)",
    );
    expect(check.fix).toMatch(/Scopes: add read:user_properties, read:organization_properties$/);
    const both = [...all, "read:user_properties", "read:organization_properties"];
    expect(checkScopes(both, properties)).toMatchObject({
      verdict: "ok",
      found: `the application has every scope the component uses (${all.length + 2})`,
    });
    const userOnly = enrichmentOf({ enrichment: { userProperties: ["plan"] } });
    expect(checkScopes([...all, "read:user_properties"], userOnly).verdict).toBe("ok");
  });
  test("billing: its scopes are required and named with the option; without it, none asked", () => {
    const withBilling = [...all, "read:billing_entitlements"];
    expect(checkScopes(all, null, false).verdict).toBe("ok");
    expect(checkScopes(withBilling, null, true)).toMatchObject({
      verdict: "ok",
      found: `the application has every scope the component uses (${all.length + 1})`,
    });
    const check = checkScopes(all, null, true);
    expect(check).toMatchObject({
      verdict: "fail",
      found: "missing `read:billing_entitlements` (the billing option's entitlements and plans)",
    });
    expect(check.fix).toMatch(/Scopes: add read:billing_entitlements$/);
    // A scope billing shares with the backfill: named with both, asked for once.
    const noOrganizations = checkScopes(
      withBilling.filter((s) => s !== "read:organizations"),
      null,
      true,
    );
    expect(noOrganizations.found).toBe(
      "missing `read:organizations` (backfill); `read:organizations` (the billing option's customer ids (expand=billing))",
    );
    expect(noOrganizations.fix).toMatch(/Scopes: add read:organizations$/);
  });
  test("enrichment of details only, or none: no scope beyond the backfill's", () => {
    expect(checkScopes(all, enrichmentOf({ enrichment: {} })).verdict).toBe("ok");
    expect(checkScopes(all, enrichmentOf({})).verdict).toBe("ok");
    const check = checkScopes(
      all.filter((s) => s !== "read:users"),
      enrichmentOf({ enrichment: {} }),
    );
    expect(check.found).toBe("missing `read:users` (backfill)");
  });
});

describe("checkWebhook", () => {
  const endpoint = "https://happy-otter-123.convex.site/kinde/webhook";
  const all = [...MIRRORED_EVENT_TYPES];
  test("billing: a webhook without the billing types the environment offers is a warning, setup the fix", () => {
    const billing = ["customer.plan_changed", "customer.agreement_cancelled"];
    const without = checkWebhook(
      endpoint,
      [{ id: "w1", endpoint, eventTypes: all }],
      undefined,
      billing,
    );
    expect(without).toMatchObject({ verdict: "warn", fix: "npx convex run kinde:setup" });
    expect(without.found).toMatch(
      /, but not customer\.plan_changed, customer\.agreement_cancelled, which the billing option refreshes on/,
    );
    const granted = MANAGEMENT_API_SCOPES.flatMap((f) => f.scopes).filter(
      (s) => s !== "update:webhooks",
    );
    expect(
      checkWebhook(endpoint, [{ id: "w1", endpoint, eventTypes: all }], granted, billing).fix,
    ).toBe("fix `management-scopes` first, then npx convex run kinde:setup");
    const complete = [{ id: "w1", endpoint, eventTypes: [...all, ...billing] }];
    expect(checkWebhook(endpoint, complete, undefined, billing).verdict).toBe("ok");
    // None offered (billing not enabled in Kinde): nothing to ask for.
    expect(
      checkWebhook(endpoint, [{ id: "w1", endpoint, eventTypes: all }], undefined, []).verdict,
    ).toBe("ok");
  });
  test("complete: ok; none, or types missing: fail with setup as the fix", () => {
    expect(checkWebhook(endpoint, [{ id: "w1", endpoint, eventTypes: all }]).verdict).toBe("ok");
    const none = checkWebhook(endpoint, []);
    expect(none).toMatchObject({ verdict: "fail", fix: "npx convex run kinde:setup" });
    const partial = checkWebhook(endpoint, [
      { id: "w1", endpoint, eventTypes: all.filter((t) => !t.startsWith("role.")) },
    ]);
    expect(partial.verdict).toBe("fail");
    expect(partial.found).toMatch(/lacks role\.created, role\.updated, role\.deleted/);
  });
  test("setup, the fix, comes after management-scopes when the token lacks the write scope it needs", () => {
    const all = MANAGEMENT_API_SCOPES.flatMap((f) => f.scopes);
    const without = (scope: string) => all.filter((s) => s !== scope);
    const partial = [{ id: "w1", endpoint, eventTypes: ["user.created"] }];
    expect(checkWebhook(endpoint, [], without("create:webhooks")).fix).toBe(
      "fix `management-scopes` first, then npx convex run kinde:setup",
    );
    expect(checkWebhook(endpoint, partial, without("update:webhooks")).fix).toBe(
      "fix `management-scopes` first, then npx convex run kinde:setup",
    );
    // The scope the plan does not need, or a token that does not list its scopes: setup alone.
    expect(checkWebhook(endpoint, [], without("update:webhooks")).fix).toBe(
      "npx convex run kinde:setup",
    );
    expect(checkWebhook(endpoint, partial, undefined).fix).toBe("npx convex run kinde:setup");
  });
  test("complete, but a .convex.cloud twin too: a warning", () => {
    const check = checkWebhook(endpoint, [
      { id: "w1", endpoint, eventTypes: all },
      { id: "w2", endpoint: endpoint.replace(".site", ".cloud"), eventTypes: all },
    ]);
    expect(check.verdict).toBe("warn");
    expect(check.found).toMatch(/w2 .*\.convex\.cloud/);
  });
});

const record = (outcome: EventRecord["outcome"], receivedAt = 0): EventRecord => ({
  eventId: `event_${outcome}`,
  type: "user.updated",
  occurredAt: receivedAt,
  receivedAt,
  outcome,
});

test("ago", () => {
  expect(ago(0, 1_000)).toBe("1 second ago");
  expect(ago(0, 5 * 60_000)).toBe("5 minutes ago");
  expect(ago(0, 3 * 3600_000)).toBe("3 hours ago");
  expect(ago(0, 3 * 86400_000)).toBe("3 days ago");
});

test("checkLastEvent: an event, how long ago; none: a warning on how to trigger one", () => {
  expect(checkLastEvent(record("applied", 0), 120_000)).toMatchObject({
    verdict: "ok",
    found: "user.updated event_applied received 2 minutes ago (applied)",
  });
  expect(checkLastEvent(null, 0)).toMatchObject({ verdict: "warn" });
  expect(checkLastEvent(null, 0).fix).toMatch(/open the webhook in Kinde/);
});

test("checkLastEvent: with no webhook (or no issuer, no key set), the fix starts there", () => {
  const check = checkLastEvent(null, 0, "webhook");
  expect(check.fix).toBe(
    "fix `webhook` first, then make a change in Kinde (edit a user's name) and run the doctor again",
  );
  // An event did arrive: the blocker is not this check's finding.
  expect(checkLastEvent(record("applied", 0), 1_000, "webhook").verdict).toBe("ok");
});

test("checkEventLog: outcomes counted; expired events are a warning with the backfill as fix", () => {
  const healthy = checkEventLog([record("applied"), record("applied"), record("ignored")]);
  expect(healthy.verdict).toBe("ok");
  expect(healthy.found).toMatch(/the last 3 event\(s\): 2 applied, 1 ignored\. Refused deliveries/);
  const late = checkEventLog([record("applied"), record("expired")]);
  expect(late).toMatchObject({ verdict: "warn" });
  expect(late.fix).toMatch(/^npx convex run kinde:backfill/);
  expect(checkEventLog([record("expired")], "management-credentials").fix).toMatch(
    /^fix `management-credentials` first, then npx convex run kinde:backfill/,
  );
});

describe("the billing option's checks", () => {
  const billingEvent = (
    eventId: string,
    unmatchedKeys?: string[],
    type = "customer.plan_changed",
  ): EventRecord => ({
    eventId,
    type,
    occurredAt: 0,
    receivedAt: 0,
    outcome: "ignored",
    ...(unmatchedKeys && { unmatchedKeys }),
  });

  test("checkBillingRefresh: the last one and how long ago; none ever: a warning saying how to run one", () => {
    const last = {
      owner: { kind: "organization" as const, orgCode: "org_acme" },
      customerId: "customer_acme",
      fetchedAt: 0,
    };
    expect(checkBillingRefresh(last, 180_000)).toEqual({
      name: "billing-refresh",
      verdict: "ok",
      found:
        "the last billing refresh began 3 minutes ago (customer customer_acme, of organization org_acme)",
    });
    const never = checkBillingRefresh(null, 0);
    expect(never).toMatchObject({
      verdict: "warn",
      found:
        "no customer's plans and entitlements were ever fetched: every entitlement check answers false",
    });
    expect(never.fix).toMatch(/^npx convex run kinde:backfill \(with billing on/);
    expect(never.fix).toContain(
      `npx convex run kinde:refresh '{"kind": "user", "entityId": "kp_…"}'`,
    );
    expect(checkBillingRefresh(null, 0, "management-scopes").fix).toMatch(
      /^fix `management-scopes` first, then npx convex run kinde:backfill/,
    );
    // A refresh landed: what would keep one from running is not this check's finding.
    expect(checkBillingRefresh(last, 0, "management-scopes").verdict).toBe("ok");
  });

  test("checkBillingEvents: every billing event matched, or none at all: ok, counted", () => {
    expect(checkBillingEvents([record("applied")])).toMatchObject({
      verdict: "ok",
      found: "the last 1 event(s): no billing (customer.*) event",
    });
    expect(
      checkBillingEvents([billingEvent("event_1"), record("applied"), billingEvent("event_2")]),
    ).toMatchObject({
      verdict: "ok",
      found: "the last 3 event(s): 2 billing event(s), each with its customer found",
    });
  });

  test("checkBillingEvents: unmatched ones are a warning naming the newest and every key once, never a value", () => {
    const check = checkBillingEvents([
      billingEvent("event_new", ["subscription", "account_ref"]),
      billingEvent("event_ok"),
      billingEvent("event_old", ["account_ref", "amount"], "customer.payment_failed"),
    ]);
    expect(check).toMatchObject({ name: "billing-events", verdict: "warn" });
    expect(check.found).toBe(
      "the last 3 event(s): 2 billing event(s) whose customer was not found, so they refreshed nothing (newest: customer.plan_changed event_new); their data had the keys subscription, account_ref, amount",
    );
    expect(check.fix).toMatch(
      /^npx convex run kinde:backfill, so the mirror knows every customer id/,
    );
    expect(check.fix).toMatch(/report the keys \(never the values\)/);
    expect(checkBillingEvents([billingEvent("e", ["a"])], "management-credentials").fix).toMatch(
      /^fix `management-credentials` first, then npx convex run kinde:backfill/,
    );
  });

  test("checkBillingEvents: many keys are cut at 20, saying how many more", () => {
    const keys = Array.from({ length: 25 }, (_, i) => `key_${i}`);
    const check = checkBillingEvents([
      billingEvent("e1", keys.slice(0, 20)),
      billingEvent("e2", keys.slice(5)),
    ]);
    expect(check.found).toMatch(/their data had the keys key_0, .*, key_19 and 5 more$/);
    // An unmatched event with an empty data object still says so.
    expect(checkBillingEvents([billingEvent("e", [])]).found).toMatch(/had the keys none$/);
  });
});

describe("checkBackfill", () => {
  const run: BackfillStatus = {
    runId: "run1",
    status: "done",
    phase: "done",
    reconcile: false,
    startedAt: 0,
    heartbeatAt: 60_000,
    finishedAt: 60_000,
    pages: 3,
    counts: {
      roles: 1,
      permissions: 2,
      organizations: 3,
      users: 4,
      memberships: 5,
      unchanged: 0,
      skipped: 0,
      removed: 0,
    },
  };
  test("done: ok; never: a warning; failed: fail with its error", () => {
    expect(checkBackfill(run, 360_000).found).toBe(
      "run run1 finished 5 minutes ago: 4 users, 3 organizations, 5 memberships, 1 roles, 2 permissions",
    );
    expect(checkBackfill(null, 0).verdict).toBe("warn");
    const failed = checkBackfill({ ...run, status: "failed", phase: "users", lastError: "403" }, 0);
    expect(failed).toMatchObject({ verdict: "fail" });
    expect(failed.found).toMatch(/failed at phase users: 403/);
  });
  test("a backfill that cannot run (no credentials, token or scope): the fix starts there", () => {
    expect(checkBackfill(null, 0, "management-scopes").fix).toBe(
      "fix `management-scopes` first, then npx convex run kinde:backfill",
    );
    const failed = { ...run, status: "failed" as const, phase: "users" as const };
    expect(checkBackfill(failed, 0).fix).toMatch(/^fix the cause, then/);
    expect(checkBackfill(failed, 0, "management-token").fix).toBe(
      "fix `management-token` first, then npx convex run kinde:backfill (it resumes where it stopped)",
    );
    const stalled = { ...run, status: "running" as const, phase: "users" as const };
    expect(checkBackfill(stalled, 60_000 + 190_000, "issuer-url").fix).toMatch(
      /^fix `issuer-url` first, then npx convex run kinde:backfill/,
    );
  });
  test("running: ok while it makes progress, a warning once silent for 3 minutes", () => {
    const running = { ...run, status: "running" as const, phase: "users" as const };
    expect(checkBackfill(running, 60_000 + 170_000).verdict).toBe("ok");
    expect(checkBackfill(running, 60_000 + 190_000).verdict).toBe("warn");
  });
  test("waiting for Kinde: ok, saying until when, however long ago its last progress; stopped only 3 minutes past its wait", () => {
    const resumesAt = Date.UTC(2026, 0, 5, 12, 15, 0);
    const waiting = {
      ...run,
      status: "running" as const,
      phase: "users" as const,
      heartbeatAt: resumesAt - 15 * 60_000,
      waiting: {
        resumesAt,
        reason:
          "Kinde rate-limited the Management API (429 on GET /api/v1/users, asked to wait 900 s)",
        tries: { request: "GET /api/v1/users", failures: 0, rateLimited: 1 },
      },
    };
    expect(checkBackfill(waiting, resumesAt - 60_000)).toEqual({
      name: "backfill",
      verdict: "ok",
      found:
        "run run1 is waiting until 2026-01-05T12:15:00.000Z, then continues by itself (phase users, 3 pages so far): Kinde rate-limited the Management API (429 on GET /api/v1/users, asked to wait 900 s)",
    });
    expect(checkBackfill(waiting, resumesAt + 170_000)).toMatchObject({
      verdict: "ok",
      found: "run run1 is running (phase users, 3 pages so far)",
    });
    expect(checkBackfill(waiting, resumesAt + 190_000)).toMatchObject({
      verdict: "warn",
      found: expect.stringMatching(/stopped at phase users: no progress for 18 minutes/),
    });
  });
});

test("checkAuthConfig: the snippet for the token kind; unknown client id: a warning", () => {
  expect(checkAuthConfig({ tokenType: "id" }, ISSUER, "client123")).toMatchObject({
    verdict: "ok",
    found: `convex/auth.config.ts must hold { domain: "${ISSUER}", applicationID: "client123" } (the ID token's iss and aud)`,
  });
  expect(
    checkAuthConfig({ tokenType: "access", audience: "convex" }, ISSUER, undefined).found,
  ).toMatch(/applicationID: "convex" \} \(the access token's/);
  expect(checkAuthConfig({ tokenType: "id" }, ISSUER, undefined).verdict).toBe("warn");
  const blocked = { check: "issuer-url" as const, why: "no issuer URL" };
  expect(checkAuthConfig({ tokenType: "id" }, blocked, "client123")).toMatchObject({
    verdict: "warn",
    found: "not checked: no issuer URL",
    fix: "fix `issuer-url` first",
  });
});

test("checkAuthConfig's fix asks for what is missing for the token kind, never for what is set", () => {
  // Access tokens: the aud is the API's audience; KINDE_CLIENT_ID has nothing to do with it.
  const noAudience = checkAuthConfig({ tokenType: "access", audience: " " }, ISSUER, "client123");
  expect(noAudience.verdict).toBe("warn");
  expect(noAudience.fix).toMatch(/^pass auth\.audience to doctorAction/);
  expect(noAudience.fix).not.toContain("KINDE_CLIENT_ID");
  // ID tokens: a blank applicationID is no client id; KINDE_CLIENT_ID, set, is used.
  expect(
    checkAuthConfig({ tokenType: "id", applicationID: "" }, ISSUER, "client123"),
  ).toMatchObject({
    verdict: "ok",
    found: expect.stringContaining('applicationID: "client123"'),
  });
  expect(
    checkAuthConfig({ tokenType: "id", applicationID: "app456" }, ISSUER, "client123").found,
  ).toContain('applicationID: "app456"');
});

test("the report as log lines", () => {
  const checks = [
    { name: "issuer-url", verdict: "ok" as const, found: "KINDE_ISSUER_URL is x" },
    {
      name: "webhook",
      verdict: "fail" as const,
      found: "no webhook",
      fix: "npx convex run kinde:setup",
    },
  ];
  const summary = summarize(checks);
  expect(summary).toBe("1 ok, 0 warnings, 1 failure");
  expect(formatReport({ summary, checks }).split("\n")).toEqual([
    "doctor: 1 ok, 0 warnings, 1 failure",
    "  ✓ issuer-url  KINDE_ISSUER_URL is x",
    "  ✗ webhook     no webhook",
    "                fix: npx convex run kinde:setup",
  ]);
});
