/**
 * A small client for Kinde's Management API, made for long backfills: an M2M
 * token from the client-credentials grant, cached in memory only; 429s
 * honoured with `RateLimit-Reset` / `Retry-After`; 5xx and network errors
 * retried with capped exponential backoff and jitter; and errors that say
 * what to fix (wrong credentials, a missing scope). A wait longer than an
 * action may sleep ends the request with a `WaitRequired` (./waits.ts).
 */
import { decodeJwt, type JWTPayload } from "jose";
import { messageOf } from "../shared/errors.js";
import { ONE_SHOT_WAIT_BUDGET_MS, waitOrThrow, WaitRequired, type RequestTries } from "./waits.js";

/** Credentials and host of the Management API, from the host's environment. */
export interface ManagementApiConfig {
  /** e.g. `https://acme.kinde.com`: the Kinde subdomain, even when sign-in uses a custom domain. */
  domain: string;
  clientId: string;
  clientSecret: string;
  /**
   * Where `domain` came from: `KINDE_DOMAIN`, or the issuer URL when it is
   * unset. Said in the error when Kinde refuses the credentials, since a
   * custom sign-in domain does not serve the Management API.
   */
  domainFrom?: typeof MANAGEMENT_ENV.domain | "issuer";
}

/** A failure a retry will not fix; its message names the cause. */
export class ManagementApiError extends Error {
  override name = "ManagementApiError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * How hard one Management API request tries before it fails the run. Its
 * tries count across actions: a wait too long to sleep ends the action, and
 * the request is made again after it with the tries it has spent.
 */
export interface RetryPolicy {
  /** Tries per request on 5xx answers and network errors, the first included. */
  attempts: number;
  /** The first backoff window; it doubles with each retry. */
  baseDelayMs: number;
  /** The largest backoff window. */
  maxDelayMs: number;
  /** Tries per request while Kinde answers 429. */
  rateLimitAttempts: number;
  /**
   * The longest wait for one 429, whatever `RateLimit-Reset` or `Retry-After`
   * asks for. A wait is slept only when short; a longer one is scheduled, so
   * this bounds how long a run waits on one answer, not how long an action lives.
   */
  maxRateLimitWaitMs: number;
  /**
   * How long one request may go unanswered before it is abandoned and counted
   * as a failure (then retried like a 5xx): a connection Kinde never answers
   * must not hold an action until Convex ends it.
   */
  requestTimeoutMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  attempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  rateLimitAttempts: 10,
  maxRateLimitWaitMs: 60 * 60_000,
  requestTimeoutMs: 30_000,
});

/**
 * The defaults overridden by `overrides`, refused when a value would make the
 * backfill never try (0 attempts), never stop (Infinity) or wait forever.
 */
export function retryPolicy(
  overrides: Partial<RetryPolicy> = {},
  owner = "backfillAction",
): RetryPolicy {
  const policy = { ...DEFAULT_RETRY };
  for (const [name, value] of Object.entries(overrides) as [keyof RetryPolicy, unknown][]) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_RETRY)) {
      throw new Error(
        `${owner}({ retry }): unknown option \`${name}\` (known: ${Object.keys(DEFAULT_RETRY).join(", ")})`,
      );
    }
    const counts = name === "attempts" || name === "rateLimitAttempts";
    // A timeout of 0 would abandon every request before Kinde could answer.
    const least = counts || name === "requestTimeoutMs" ? 1 : 0;
    const valid =
      typeof value === "number" &&
      Number.isFinite(value) &&
      value >= least &&
      (!counts || Number.isInteger(value));
    if (!valid) {
      throw new Error(
        `${owner}({ retry }): \`${name}\` must be ${counts ? "a whole number of at least 1" : `a finite number of milliseconds${least ? " of at least 1" : ""}`}, not ${String(value)}`,
      );
    }
    policy[name] = value;
  }
  if (policy.maxDelayMs < policy.baseDelayMs) {
    throw new Error(
      `${owner}({ retry }): \`maxDelayMs\` (${policy.maxDelayMs}) is below \`baseDelayMs\` (${policy.baseDelayMs})`,
    );
  }
  return policy;
}

/** The environment variables the backfill reads, named as Kinde's Management API SDK names them. */
export const MANAGEMENT_ENV = {
  clientId: "KINDE_MANAGEMENT_CLIENT_ID",
  clientSecret: "KINDE_MANAGEMENT_CLIENT_SECRET",
  domain: "KINDE_DOMAIN",
} as const;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * The timers of the real clock, taken when this module loads: a request in
 * flight waits on the network, which a test's fake clock does not move, so
 * its timeout must not be moved by that clock either.
 */
const wallClock = {
  setTimeout: globalThis.setTimeout.bind(globalThis),
  clearTimeout: globalThis.clearTimeout.bind(globalThis),
};

/** Tokens by domain and client, in this isolate's memory only: never stored, never logged. */
const tokens = new Map<string, CachedToken>();

/** Exponential backoff with jitter: a random wait in the upper half of the capped window. */
export function backoffMs(
  attempt: number,
  { baseDelayMs, maxDelayMs }: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
): number {
  const window = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
  return window / 2 + Math.random() * (window / 2);
}

/**
 * How long Kinde asks us to wait after a 429: `RateLimit-Reset` (seconds),
 * else `Retry-After` (seconds or an HTTP date), else undefined.
 */
export function rateLimitWaitMs(headers: Headers, now = Date.now()): number | undefined {
  const reset = Number(headers.get("ratelimit-reset"));
  if (headers.has("ratelimit-reset") && Number.isFinite(reset) && reset >= 0) return reset * 1000;
  const retryAfter = headers.get("retry-after");
  if (retryAfter === null) return undefined;
  const seconds = Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** How long the action that makes the requests may wait, and what earlier actions spent. */
export interface WaitOptions {
  /**
   * The latest time the action may sleep until (ms since epoch): the end of
   * its slice. Default: {@link ONE_SHOT_WAIT_BUDGET_MS} from now.
   */
  deadline?: number;
  /** The tries of a request an earlier action ended waiting on, counted again when it is made. */
  tries?: RequestTries;
}

export class ManagementApi {
  /** Requests sent, retries included: for progress lines and benchmarks. */
  requests = 0;

  private readonly retry: RetryPolicy;
  /** The latest time this action sleeps until; a wait past it, or longer than a few seconds, ends it. */
  readonly deadline: number;
  private carriedTries: RequestTries | undefined;

  constructor(
    private readonly config: ManagementApiConfig,
    retry: RetryPolicy = DEFAULT_RETRY,
    { deadline = Date.now() + ONE_SHOT_WAIT_BUDGET_MS, tries }: WaitOptions = {},
  ) {
    this.retry = retry;
    this.deadline = deadline;
    this.carriedTries = tries;
  }

  /**
   * GETs a Management API path and returns its JSON body.
   *
   * @param scope The scope the endpoint needs, named in the error if Kinde refuses it.
   */
  async get(path: string, query: Record<string, string | undefined>, scope: string) {
    return await this.request("GET", path, { query }, scope);
  }

  /**
   * Sends a request with a JSON body (`POST` to create, `PATCH` to update) and
   * returns Kinde's JSON answer.
   *
   * @param scope The scope the endpoint needs, named in the error if Kinde refuses it.
   * @param options `retryServerErrors: false` for requests that must not be
   *   repeated blindly: a 5xx or a dropped connection may come after Kinde
   *   acted, so the caller checks before trying again.
   */
  async send(
    method: "POST" | "PATCH",
    path: string,
    body: unknown,
    scope: string,
    options: { retryServerErrors?: boolean } = {},
  ) {
    return await this.request(method, path, { body, ...options }, scope);
  }

  /**
   * The scopes the M2M token grants, from its `scope` claim (Kinde's tokens are
   * JWTs), or undefined when the token does not say. Costs a token request at
   * most, never an API request.
   *
   * @param fresh Ask for a new token rather than reuse this isolate's: scopes
   *   granted in Kinde since the cached token was issued are not in it.
   */
  async grantedScopes({ fresh = false } = {}): Promise<string[] | undefined> {
    if (fresh) tokens.delete(this.cacheKey());
    // Kinde refusing the token, or asking for a wait, is the caller's to handle.
    const token = await this.token();
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      return undefined; // not a JWT: its scopes are not known in advance
    }
    const scope = claims.scope ?? claims.scp;
    if (typeof scope === "string") return scope.split(" ").filter(Boolean);
    if (Array.isArray(scope) && scope.every((s) => typeof s === "string")) return scope;
    return undefined;
  }

  private async request(
    method: "GET" | "POST" | "PATCH",
    path: string,
    {
      query = {},
      body,
      retryServerErrors = true,
    }: { query?: Record<string, string | undefined>; body?: unknown; retryServerErrors?: boolean },
    scope: string,
  ) {
    const url = new URL(path, this.config.domain);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, value);
    }
    const what = `${method} ${url.pathname}`;
    let refreshedToken = false;
    for (;;) {
      const response = await this.retried(
        what,
        async () => {
          const headers: Record<string, string> = {
            authorization: `Bearer ${await this.token()}`,
            accept: "application/json",
          };
          if (body !== undefined) headers["content-type"] = "application/json";
          return await this.fetch(url, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
          });
        },
        retryServerErrors,
      );
      if (response.ok) return (await response.json()) as Record<string, unknown>;
      const detail = await errorDetail(response);
      if (response.status === 401 && !refreshedToken) {
        // The token may have expired or been revoked: get a fresh one once.
        tokens.delete(this.cacheKey());
        refreshedToken = true;
        continue;
      }
      if (response.status === 403) {
        throw new ManagementApiError(
          `Kinde refused ${what} (403): the machine-to-machine application needs the scope \`${scope}\` on the Kinde Management API${detail}`,
          403,
        );
      }
      throw new ManagementApiError(
        `Kinde answered ${what} with ${response.status}${detail}`,
        response.status,
      );
    }
  }

  /**
   * Sends `what` until Kinde answers something other than a 429 or (when
   * `retryServerErrors`) a 5xx or a network error, and returns that answer.
   * 429s wait as Kinde asks (at most `maxRateLimitWaitMs`), failures back
   * off; a wait longer than the action may sleep throws `WaitRequired` with
   * the tries spent, and tries past the policy's limits throw a
   * `ManagementApiError`. Kinde refused a 429 before acting, so even a
   * create is sent again.
   */
  private async retried(
    what: string,
    send: () => Promise<Response>,
    retryServerErrors = true,
  ): Promise<Response> {
    const attempts = retryServerErrors ? this.retry.attempts : 1;
    const tries = this.takeCarriedTries(what);
    const wait = (ms: number, reason: string) =>
      waitOrThrow(
        ms,
        this.deadline,
        (resumesAt) => new WaitRequired(resumesAt, reason, { ...tries }),
      );
    for (;;) {
      let response: Response;
      try {
        response = await send();
      } catch (error) {
        // The token request's own failures and waits are already decided.
        if (error instanceof ManagementApiError || error instanceof WaitRequired) throw error;
        if (++tries.failures >= attempts) {
          throw new ManagementApiError(
            `${what} failed ${tries.failures} times: ${messageOf(error)}`,
          );
        }
        await wait(
          backoffMs(tries.failures, this.retry),
          `Kinde's Management API could not be reached (${what}: ${messageOf(error)}; try ${tries.failures} of ${attempts})`,
        );
        continue;
      }
      if (response.status < 500 && response.status !== 429) return response;
      const detail = await errorDetail(response);
      if (response.status === 429) {
        if (++tries.rateLimited >= this.retry.rateLimitAttempts) {
          throw new ManagementApiError(
            `Kinde kept rate-limiting ${what} (429 ${tries.rateLimited} times)`,
            429,
          );
        }
        const asked = rateLimitWaitMs(response.headers);
        const ms = Math.min(
          asked ?? backoffMs(tries.rateLimited, this.retry),
          this.retry.maxRateLimitWaitMs,
        );
        const askedFor = asked === undefined ? "" : `, asked to wait ${Math.round(asked / 1000)} s`;
        await wait(
          ms + Math.random() * 250,
          `Kinde rate-limited the Management API (429 on ${what}${askedFor})`,
        );
        continue;
      }
      if (++tries.failures >= attempts) {
        throw new ManagementApiError(
          `Kinde answered ${what} with ${response.status} ${tries.failures} times${detail}`,
          response.status,
        );
      }
      await wait(
        backoffMs(tries.failures, this.retry),
        `Kinde's Management API kept failing (${response.status} on ${what}; try ${tries.failures} of ${attempts})`,
      );
    }
  }

  /** The tries an earlier action spent on `what`, once: the first request for it counts from them. */
  private takeCarriedTries(what: string): RequestTries {
    const carried = this.carriedTries;
    if (carried?.request !== what) return { request: what, failures: 0, rateLimited: 0 };
    this.carriedTries = undefined;
    return { ...carried };
  }

  /**
   * Sends one request to Kinde, counted in {@link requests}, abandoned when no
   * answer has come within `requestTimeoutMs` (the error is then a network
   * error's: retried with backoff).
   */
  private async fetch(url: URL, init: RequestInit): Promise<Response> {
    this.requests++;
    const seconds = this.retry.requestTimeoutMs / 1000;
    const controller = new AbortController();
    const timer = wallClock.setTimeout(
      () => controller.abort(new Error(`no answer within ${seconds} s`)),
      this.retry.requestTimeoutMs,
    );
    try {
      return await fetch(url, { ...init, signal: controller.signal });
    } finally {
      wallClock.clearTimeout(timer);
    }
  }

  /** What to check about the host, named after the setting it came from. */
  private domainAdvice() {
    if (this.config.domainFrom !== "issuer") return MANAGEMENT_ENV.domain;
    return `the host ${this.config.domain}, taken from the issuer URL because ${MANAGEMENT_ENV.domain} is unset (with a custom sign-in domain, set ${MANAGEMENT_ENV.domain} to https://<your-subdomain>.kinde.com)`;
  }

  private cacheKey() {
    return `${this.config.domain} ${this.config.clientId}`;
  }

  /** A cached M2M token, renewed a minute before it expires. */
  private async token(): Promise<string> {
    const cached = tokens.get(this.cacheKey());
    if (cached && cached.expiresAt - 60_000 > Date.now()) return cached.token;
    const url = new URL("/oauth2/token", this.config.domain);
    const response = await this.retried(`POST ${url.pathname}`, () =>
      this.fetch(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: this.config.clientId,
          client_secret: this.config.clientSecret,
          audience: new URL("/api", this.config.domain).href,
        }),
      }),
    );
    if (!response.ok) {
      throw new ManagementApiError(
        `Kinde refused the client credentials at ${url.href} (${response.status})${await errorDetail(response)}. Check ${MANAGEMENT_ENV.clientId} and ${MANAGEMENT_ENV.clientSecret} (a machine-to-machine application authorized for the Kinde Management API) and ${this.domainAdvice()}.`,
        response.status,
      );
    }
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== "string") {
      throw new ManagementApiError(`${url.href} answered without an access_token`);
    }
    const lifetime = typeof body.expires_in === "number" ? body.expires_in * 1000 : 3600_000;
    tokens.set(this.cacheKey(), { token: body.access_token, expiresAt: Date.now() + lifetime });
    return body.access_token;
  }
}

/** Kinde's error message, if its body has one: `{ errors: [{ code, message }] }` or OAuth's `{ error, error_description }`. */
async function errorDetail(response: Response): Promise<string> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return "";
  }
  try {
    const body = JSON.parse(text) as {
      errors?: { code?: string; message?: string }[] | { code?: string; message?: string };
      error?: string;
      error_description?: string;
    };
    const errors = Array.isArray(body.errors) ? body.errors : body.errors ? [body.errors] : [];
    const parts = [
      ...errors.map((e) => [e.code, e.message].filter(Boolean).join(": ")),
      [body.error, body.error_description].filter(Boolean).join(": "),
    ].filter(Boolean);
    if (parts.length) return `: ${parts.join("; ")}`;
  } catch {
    // not JSON
  }
  return text ? `: ${text.slice(0, 200)}` : "";
}
