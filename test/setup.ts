/// <reference types="vite/client" />
/**
 * The one setup of the end-to-end suites in test/: they drive the example app
 * (example/convex, with its schema, hooks and routes) on convex-test, the
 * component registered as an app's tests register it. Not a test file itself:
 * importing it also installs the value-limit guard after every test.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, vi } from "vitest";
import { convexTest } from "convex-test";
import { httpRouter, makeFunctionReference } from "convex/server";
import kindeTest, {
  findKindeValueLimitViolations,
  readKindeTables,
  startKindeManagementApi,
  startKindeTestIssuer,
  trackInspectedKindeTests,
  type KindeTestIssuer,
  type ManagementApiStandIn,
  type Tenant,
  type ValueLimitRule,
  type ValueLimitViolation,
} from "convex-kinde/test";
import schema from "../example/convex/schema.js";
import { kinde } from "../example/convex/kinde.js";

/**
 * The example app's functions, keyed relative to example/convex (`./kinde.ts`, `./_generated/api.js`):
 * convex-test takes the folder holding `_generated` as the functions root, and a test that swaps in
 * its own module (`"./http.ts"`, `"./testHooks.ts"`) names it as the app would.
 */
export const modules: Record<string, () => Promise<unknown>> = Object.fromEntries(
  Object.entries(import.meta.glob("../example/convex/**/*.*s")).map(([path, load]) => [
    path.replace(/^\.\.\/example\/convex\//, "./"),
    load,
  ]),
);

/** A violation a test is known to produce: the table, the rule and the path in the document. */
type KnownViolation = { table: string; rule: ValueLimitRule; path: string; why: string };

/**
 * Documents that existing tests write and a Convex deployment would refuse,
 * keyed by the test's full name (file > describe > test). Each entry is a
 * known gap in the product, not in the test: the guard below still checks
 * these tests and reports what it finds, but does not fail them for a
 * violation listed here. Any other violation fails the test, and so does an
 * entry its test no longer produces, so the list stays exact.
 *
 * Empty: with the guard on, no existing test writes a document a deployment
 * would refuse. The largest are the hostile.test.ts users in 1,000
 * organizations (about 49 KB of the 1 MiB).
 */
export const KNOWN_VALUE_LIMIT_VIOLATIONS: Record<string, KnownViolation[]> = {};

const takeInspectedTests = trackInspectedKindeTests();

/**
 * Checks every document of every convex-test instance registered (with
 * `inspect: true`) since the last check against the limits a deployment
 * enforces on one document, and throws, naming table, document, path and
 * limit, for any violation not in `known`, and for any entry of `known` that
 * did not occur. Returns the known violations it found.
 */
export async function checkWrittenValues(
  testName: string,
  known: KnownViolation[] = KNOWN_VALUE_LIMIT_VIOLATIONS[testName] ?? [],
): Promise<ValueLimitViolation[]> {
  const found: ValueLimitViolation[] = [];
  for (const { t, name } of takeInspectedTests()) {
    found.push(...(await findKindeValueLimitViolations(t, name)));
  }
  const matches = (k: KnownViolation, v: ValueLimitViolation) =>
    k.table === v.table && k.rule === v.rule && k.path === v.path;
  const refused = found.filter((v) => !known.some((k) => matches(k, v)));
  if (refused.length > 0) {
    const shown = refused.slice(0, 10).map((v) => `  ${v.message}`);
    if (refused.length > 10) shown.push(`  … and ${refused.length - 10} more`);
    throw new Error(
      `This test wrote ${refused.length} document value(s) a Convex deployment would refuse ` +
        `(convex-test does not check these limits):\n${shown.join("\n")}`,
    );
  }
  const stale = known.filter((k) => !found.some((v) => matches(k, v)));
  if (stale.length > 0) {
    throw new Error(
      `${testName} no longer writes what KNOWN_VALUE_LIMIT_VIOLATIONS lists for it; remove: ` +
        stale.map((k) => `${k.table} ${k.rule} at ${k.path}`).join(", "),
    );
  }
  return found;
}

// Every test of a file that imports this setup: what it wrote must fit in a deployment.
afterEach(async ({ task }) => {
  const known = await checkWrittenValues(task.fullName);
  if (known.length > 0) {
    console.warn(
      `[value-limits] ${task.fullName}: ${known.length} known violation(s), ` +
        `e.g. ${known[0]!.message}`,
    );
  }
});

/** A fresh example app with the component registered, Convex's transaction limits enforced. */
export function initConvexTest(extraModules: Record<string, () => Promise<unknown>> = {}) {
  const t = convexTest({
    schema,
    modules: { ...modules, ...extraModules },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  return t;
}

export type ExampleTest = ReturnType<typeof initConvexTest>;

/**
 * The example app with its webhook route running `hooks.onKindeEvent` (made
 * by `kinde.events`) instead of the app's own hooks.
 */
export function initConvexTestWithHooks(hooks: { onKindeEvent: unknown }) {
  const http = httpRouter();
  kinde.registerRoutes(http, {
    onEvent: makeFunctionReference<"mutation">("testHooks:onKindeEvent") as never,
  });
  const t = convexTest({
    schema,
    modules: {
      ...modules,
      "./http.ts": async () => ({ default: http }),
      "./testHooks.ts": async () => hooks,
    },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  return t;
}

/** What the webhook answered. */
export interface WebhookAnswer {
  status: number;
  text: string;
}

/**
 * POSTs `body` to the webhook route of `t` as Kinde does (`application/jwt`).
 * For a test that builds its own app (other hooks, other routes, a console
 * stubbed before the app exists); the rest use `app.post`.
 */
export async function postWebhook(
  t: ExampleTest,
  body: BodyInit,
  headers: Record<string, string> = {},
): Promise<WebhookAnswer> {
  const response = await t.fetch("/kinde/webhook", {
    method: "POST",
    headers: { "content-type": "application/jwt", ...headers },
    body,
  });
  return { status: response.status, text: await response.text() };
}

/**
 * The outcome word a 200 answer starts with (`applied`, `stale`, `duplicate`,
 * …): the webhook answers `<outcome> <eventId>`, and tests compare outcomes.
 */
export function outcomeOf(answer: { text: string }): string {
  return answer.text.split(" ")[0]!;
}

/** An hour in milliseconds, the unit tests date their events in. */
export const HOUR = 60 * 60_000;
/** A day in milliseconds: retention is counted in days. */
export const DAY = 24 * HOUR;

/**
 * A moment an hour ago: a time to date events at that is recent enough to be
 * inside the retention window (events older than 7 days are `expired`, not
 * applied) and old enough that later events can follow it without reaching
 * the future.
 */
export function anHourAgo(): number {
  return Date.now() - HOUR;
}

/**
 * Moves the clock jose reads for the key set's cache age and its 30 s refetch
 * cooldown, without faking the timers the webhook's fetch needs.
 * `useWebhookTest` restores the real clock after each test.
 */
export function advanceClock(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + ms);
}

/** The names of the component tables in `tables` (from `readKindeTables`) that hold rows. */
export function tablesWithRows(tables: Record<string, unknown[]>): string[] {
  return Object.entries(tables)
    .filter(([, rows]) => rows.length > 0)
    .map(([name]) => name);
}

/**
 * Asserts every component table of `t` is empty: what a refused delivery, or
 * one whose transaction was rolled back, must leave behind.
 */
export async function expectNothingWritten(t: ExampleTest): Promise<void> {
  expect(tablesWithRows(await readKindeTables(t))).toEqual([]);
}

export interface WebhookTestOptions {
  /**
   * `"perFile"` (the default): one issuer for the whole file. `"perTest"`: a
   * fresh issuer for each test, for tests that count key set requests or
   * break the key server: the webhook caches the key set per issuer URL in
   * module scope, so with a shared issuer one test's fetch serves the next.
   */
  issuer?: "perFile" | "perTest";
}

/**
 * Sets up a webhook test file: a local Kinde issuer (key pair + JWKS server
 * on 127.0.0.1), one for the file or one per test, and for each test a fresh
 * example app whose `KINDE_ISSUER_URL` points at it. Read `t` and `issuer`
 * inside tests.
 */
export function useWebhookTest({ issuer: scope = "perFile" }: WebhookTestOptions = {}) {
  let issuer: KindeTestIssuer | undefined;
  let t: ExampleTest | undefined;
  beforeAll(async () => {
    if (scope === "perFile") issuer = await startKindeTestIssuer();
  });
  afterAll(async () => {
    if (scope === "perFile") await issuer?.close();
  });
  beforeEach(async () => {
    if (scope === "perTest") issuer = await startKindeTestIssuer();
    vi.stubEnv("KINDE_ISSUER_URL", issuer!.url);
    t = initConvexTest();
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    vi.useRealTimers();
    if (scope === "perTest") await issuer?.close();
    else issuer!.setMode("ok");
  });

  const app = {
    get t(): ExampleTest {
      return t!;
    },
    get issuer(): KindeTestIssuer {
      return issuer!;
    },
    /** POSTs `body` to the webhook route as Kinde does. */
    async post(body: BodyInit, headers: Record<string, string> = {}): Promise<WebhookAnswer> {
      return await postWebhook(app.t, body, headers);
    },
    /** Signs `payload` with the issuer's key and POSTs it. */
    async deliver(payload: object, headers?: Record<string, string>): Promise<WebhookAnswer> {
      return await app.post(await app.issuer.sign(payload), headers);
    },
  };
  return app;
}

/**
 * Runs `use` with an issuer of its own, `KINDE_ISSUER_URL` pointing at it
 * (until `useWebhookTest` unstubs the environment after the test), and closes
 * it after. For the few tests of a file that need a cold key set cache (the
 * webhook caches the key set per issuer URL): an issuer costs an RSA key
 * pair, too slow to give every test of a large file one.
 */
export async function withFreshIssuer<T>(use: (issuer: KindeTestIssuer) => Promise<T>): Promise<T> {
  const issuer = await startKindeTestIssuer();
  try {
    vi.stubEnv("KINDE_ISSUER_URL", issuer.url);
    return await use(issuer);
  } finally {
    await issuer.close();
  }
}

/**
 * Sets up a backfill test file: `serve(tenant)` starts a Management API
 * stand-in for the test and points the backfill's environment at it. Call
 * after `useWebhookTest()`.
 */
export function useManagementApi() {
  let standIn: ManagementApiStandIn | undefined;
  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
  });
  return {
    async serve(tenant: Tenant): Promise<ManagementApiStandIn> {
      standIn = await startKindeManagementApi(tenant);
      vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", standIn.clientId);
      vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", standIn.clientSecret);
      vi.stubEnv("KINDE_DOMAIN", standIn.url);
      return standIn;
    },
  };
}
