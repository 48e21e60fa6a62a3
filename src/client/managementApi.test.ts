/**
 * The Management API client against the stand-in, on its own: which waits it
 * sleeps, which end the action with a `WaitRequired` (and when it resumes),
 * and that a request's tries count across the actions a wait spans.
 */
import { afterEach, describe, expect, test } from "vitest";
import {
  makeTenant,
  startKindeManagementApi,
  type ManagementApiStandIn,
} from "../testing/managementApi.js";
import {
  DEFAULT_RETRY,
  ManagementApi,
  ManagementApiError,
  retryPolicy,
  type WaitOptions,
} from "./managementApi.js";
import { WaitRequired } from "./waits.js";

let kinde: ManagementApiStandIn | undefined;
afterEach(async () => {
  await kinde?.close();
  kinde = undefined;
});

async function serve() {
  kinde = await startKindeManagementApi(makeTenant({ users: 3, organizations: 1 }));
  return kinde;
}

function client(retry = DEFAULT_RETRY, waits: WaitOptions = {}) {
  const { url, clientId, clientSecret } = kinde!;
  return new ManagementApi({ domain: url, clientId, clientSecret }, retry, waits);
}

const listRoles = (api: ManagementApi) => api.get("/api/v1/roles", {}, "read:roles");
const paths = () => kinde!.requests.map((r) => r.path);

/** What `promise` threw, which must be a `WaitRequired`. */
async function waitOf(promise: Promise<unknown>): Promise<WaitRequired> {
  const thrown = await promise.then(
    () => new Error("resolved: no wait was required"),
    (error: unknown) => error,
  );
  if (!(thrown instanceof WaitRequired)) throw thrown;
  return thrown;
}

describe("a wait longer than an action may sleep", () => {
  test("Retry-After: 900 on a listing: one request, no sleep, resume in 900 s with the 429 counted", async () => {
    await serve();
    kinde!.rateLimitNext(1, 900, { header: "Retry-After" });
    const before = Date.now();
    const wait = await waitOf(listRoles(client(DEFAULT_RETRY, { deadline: before + 300_000 })));
    expect(paths()).toEqual(["/oauth2/token", "/api/v1/roles"]);
    expect(wait.resumesAt - before).toBeGreaterThanOrEqual(900_000);
    expect(wait.resumesAt - Date.now()).toBeLessThanOrEqual(900_250);
    expect(wait.reason).toBe(
      "Kinde rate-limited the Management API (429 on GET /api/v1/roles, asked to wait 900 s)",
    );
    expect(wait.tries).toEqual({ request: "GET /api/v1/roles", failures: 0, rateLimited: 1 });
  });

  test("the token endpoint's RateLimit-Reset is capped at maxRateLimitWaitMs, and not slept", async () => {
    await serve();
    kinde!.rateLimitNext(1, 1e9, { endpoint: "token" });
    const before = Date.now();
    const wait = await waitOf(listRoles(client()));
    expect(paths()).toEqual(["/oauth2/token"]);
    expect(wait.resumesAt - before).toBeGreaterThanOrEqual(DEFAULT_RETRY.maxRateLimitWaitMs);
    expect(wait.resumesAt - Date.now()).toBeLessThanOrEqual(DEFAULT_RETRY.maxRateLimitWaitMs + 250);
    expect(wait.tries).toEqual({ request: "POST /oauth2/token", failures: 0, rateLimited: 1 });

    // Once the wait is over, the same client's next try gets a token and the listing.
    const retried = client(DEFAULT_RETRY, { tries: wait.tries });
    expect(await listRoles(retried)).toMatchObject({ roles: expect.any(Array) });
  });

  test("a backoff that would end past the action's slice ends the action, however short", async () => {
    await serve();
    kinde!.failNext(1, 503);
    const retry = retryPolicy({ baseDelayMs: 5, maxDelayMs: 20 });
    const wait = await waitOf(listRoles(client(retry, { deadline: Date.now() })));
    expect(wait.reason).toBe(
      "Kinde's Management API kept failing (503 on GET /api/v1/roles; try 1 of 6)",
    );
    expect(wait.tries).toEqual({ request: "GET /api/v1/roles", failures: 1, rateLimited: 0 });
    // With time left in the slice, the same backoff is slept.
    kinde!.failNext(1, 503);
    expect(await listRoles(client(retry))).toMatchObject({ roles: expect.any(Array) });
  });
});

describe("a request's tries count across the actions its waits span", () => {
  /** Backoffs of 6 s and more: every one is longer than an action sleeps. */
  const SLOW = retryPolicy({ attempts: 3, baseDelayMs: 6_000, maxDelayMs: 60_000 });

  test("Kinde answering 503 for good fails the request at `attempts` tries in all, not per action", async () => {
    await serve();
    kinde!.failPath("/api/v1/roles", 503);
    const first = await waitOf(listRoles(client(SLOW)));
    expect(first.tries).toMatchObject({ failures: 1 });
    expect(first.resumesAt - Date.now()).toBeGreaterThan(5_000);
    const second = await waitOf(listRoles(client(SLOW, { tries: first.tries })));
    expect(second.tries).toMatchObject({ failures: 2 });
    await expect(listRoles(client(SLOW, { tries: second.tries }))).rejects.toThrow(
      new ManagementApiError(
        "Kinde answered GET /api/v1/roles with 503 3 times: INTERNAL: Down",
        503,
      ),
    );
    expect(paths().filter((p) => p === "/api/v1/roles")).toHaveLength(3);
  });

  test("429s count against rateLimitAttempts across actions too", async () => {
    await serve();
    kinde!.rateLimitNext(5, 60, { header: "Retry-After" });
    const retry = retryPolicy({ rateLimitAttempts: 2 });
    const wait = await waitOf(listRoles(client(retry)));
    await expect(listRoles(client(retry, { tries: wait.tries }))).rejects.toThrow(
      /Kinde kept rate-limiting GET \/api\/v1\/roles \(429 2 times\)/,
    );
  });

  test("carried tries count only for the request they belong to", async () => {
    await serve();
    kinde!.failNext(1, 503);
    const carried = { request: "GET /api/v1/users", failures: 2, rateLimited: 0 };
    // GET /api/v1/roles starts from no tries: its first 503 is try 1 of 3, not 3 of 3.
    const wait = await waitOf(listRoles(client(SLOW, { tries: carried })));
    expect(wait.tries).toEqual({ request: "GET /api/v1/roles", failures: 1, rateLimited: 0 });
  });
});

test("grantedScopes leaves a wait for the token to its caller, rather than reporting no scopes", async () => {
  await serve();
  kinde!.rateLimitNext(1, 900, { endpoint: "token" });
  const wait = await waitOf(client().grantedScopes({ fresh: true }));
  expect(wait.tries).toMatchObject({ request: "POST /oauth2/token", rateLimited: 1 });
});

describe("refused client credentials", () => {
  const refusal = async (domainFrom: "KINDE_DOMAIN" | "issuer" | undefined) => {
    const { url, clientId } = await serve();
    const api = new ManagementApi({ domain: url, domainFrom, clientId, clientSecret: "wrong" });
    const thrown = await listRoles(api).then(
      () => new Error("resolved: the credentials were accepted"),
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(ManagementApiError);
    await kinde!.close();
    kinde = undefined;
    return (thrown as ManagementApiError).message;
  };

  test("name the setting the host came from: KINDE_DOMAIN, or the issuer URL it fell back to", async () => {
    const fromDomain = await refusal("KINDE_DOMAIN");
    expect(fromDomain).toMatch(
      /\(401\).*Check KINDE_MANAGEMENT_CLIENT_ID and KINDE_MANAGEMENT_CLIENT_SECRET .* and KINDE_DOMAIN\.$/,
    );
    expect(fromDomain).not.toMatch(/issuer/);

    const fromIssuer = await refusal("issuer");
    expect(fromIssuer).toMatch(
      /and the host http:\/\/127\.0\.0\.1:\d+, taken from the issuer URL because KINDE_DOMAIN is unset \(with a custom sign-in domain, set KINDE_DOMAIN to https:\/\/<your-subdomain>\.kinde\.com\)\.$/,
    );
  });
});

describe("a request Kinde never answers", () => {
  const stallFirst = (path: string, ms: number) => {
    let stalled = false;
    kinde!.beforeSending(async (requested) => {
      if (requested !== path || stalled) return;
      stalled = true;
      await new Promise((resolve) => setTimeout(resolve, ms));
    });
  };
  const patient = { ...DEFAULT_RETRY, baseDelayMs: 10, maxDelayMs: 20, requestTimeoutMs: 200 };

  test("is abandoned after requestTimeoutMs and sent again", async () => {
    await serve();
    stallFirst("/api/v1/roles", 3_000);
    const started = Date.now();
    const body = await listRoles(client(patient));
    expect(Array.isArray(body.roles)).toBe(true);
    expect(paths()).toEqual(["/oauth2/token", "/api/v1/roles", "/api/v1/roles"]);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  test("fails the request, saying so, when every try goes unanswered", async () => {
    await serve();
    kinde!.beforeSending(async (path) => {
      if (path === "/api/v1/roles") await new Promise((resolve) => setTimeout(resolve, 1_000));
    });
    await expect(listRoles(client({ ...patient, attempts: 2 }))).rejects.toThrow(
      "GET /api/v1/roles failed 2 times: no answer within 0.2 s",
    );
  });
});
