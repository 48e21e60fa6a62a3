/**
 * The doctor, host side: one action that checks everything a Kinde sync
 * depends on and says, line by line, what it found and how to fix it. Each
 * check is a pure function of what was fetched, so each is tested on its own;
 * a check that depends on an earlier one that failed says so instead of
 * failing too, so the first failure is the one to fix.
 */
import { v, type Infer } from "convex/values";
import { internalActionGeneric } from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";
import { isStalled, type BackfillStatus } from "../shared/backfill.js";
import type { BillingOwner } from "../shared/billing.js";
import type { EventRecord } from "../shared/events.js";
import {
  issuerSettingOf,
  issuerUrlOf,
  logLevelOf,
  managementDomainOf,
  type IssuerSetting,
  type IssuerUrl,
  type ManagementDomain,
  enrichmentOf,
  type Enrichment,
} from "./config.js";
import { ENRICHMENT_SCOPES } from "./enrichmentReads.js";
import { BILLING_SCOPES } from "./billingReads.js";
import { createLogger } from "./log.js";
import {
  MANAGEMENT_ENV,
  ManagementApi,
  ManagementApiError,
  retryPolicy,
  type ManagementApiConfig,
  type RetryPolicy,
} from "./managementApi.js";
import {
  billingEventTypes,
  MIRRORED_EVENT_TYPES,
  missingScopes,
  planSetup,
  SITE_URL_ENV_VAR,
  toListedWebhooks,
  toOfferedTypes,
  webhookEndpoint,
  WEBHOOK_SCOPES,
  type ListedWebhook,
} from "./setup.js";
import type { KindeOptions } from "./types.js";
import { JWKS_PATH } from "./verify.js";
import { retryLaterMessage, WaitRequired } from "./waits.js";
import { messageOf } from "../shared/errors.js";
import { BACKFILL_SCOPES } from "./backfill.js";

export const vVerdict = v.union(v.literal("ok"), v.literal("warn"), v.literal("fail"));
export type Verdict = Infer<typeof vVerdict>;

export const vDoctorCheck = v.object({
  /** The check's stable name, e.g. `issuer-discovery`. */
  name: v.string(),
  verdict: vVerdict,
  /** What the check found. */
  found: v.string(),
  /** What to do about it; absent when the verdict is `ok`. */
  fix: v.optional(v.string()),
});
export type DoctorCheck = Infer<typeof vDoctorCheck>;

export const vDoctorReport = v.object({
  /** Every check is `ok`. */
  healthy: v.boolean(),
  /** e.g. `9 ok, 1 warning, 1 failure`. */
  summary: v.string(),
  checks: v.array(vDoctorCheck),
  /** Management API requests this run made, the token request included. */
  requests: v.number(),
});
export type DoctorReport = Infer<typeof vDoctorReport>;

/** The checks' names, in the order the doctor runs them. */
export const CHECK_NAMES = [
  "issuer-url",
  "issuer-discovery",
  "key-set",
  "management-credentials",
  "management-token",
  "management-scopes",
  "webhook",
  "last-event",
  "event-log",
  "backfill",
  "auth-config",
] as const;

/** The checks the `billing` option adds, run after `backfill`. */
export const BILLING_CHECK_NAMES = ["billing-refresh", "billing-events"] as const;
export type CheckName = (typeof CHECK_NAMES)[number] | (typeof BILLING_CHECK_NAMES)[number];

const ok = (name: CheckName, found: string): DoctorCheck => ({ name, verdict: "ok", found });
const warn = (name: CheckName, found: string, fix: string): DoctorCheck => ({
  name,
  verdict: "warn",
  found,
  fix,
});
const fail = (name: CheckName, found: string, fix: string): DoctorCheck => ({
  name,
  verdict: "fail",
  found,
  fix,
});
/** A check that could not run because `blocker` did not pass. */
const notChecked = (name: CheckName, blocker: CheckName, why: string): DoctorCheck =>
  warn(name, `not checked: ${why}`, `fix \`${blocker}\` first`);
/** A check that could not run because Kinde asked for a wait longer than the doctor sleeps. */
const throttled = (name: CheckName, wait: WaitRequired): DoctorCheck =>
  warn(
    name,
    `not checked: ${retryLaterMessage(wait)}`,
    `run the doctor again after ${new Date(wait.resumesAt).toISOString()}`,
  );

/** The check that did not pass and keeps others from running, and what it leaves them without. */
export interface Blocker {
  check: CheckName;
  why: string;
}

/** `fix`, preceded by the check that keeps it from working while it has not passed. */
const after = (blocker: CheckName | undefined, fix: string) =>
  blocker === undefined ? fix : `fix \`${blocker}\` first, then ${fix}`;

const trimSlashes = (url: string) => url.trim().replace(/\/+$/, "");

/** A Kinde domain, for fixes that cannot know the reader's. */
const EXAMPLE_ISSUER = "https://<your-subdomain>.kinde.com";

/**
 * The issuer URL (`issuerUrlOf`) is set and a bare domain; returns it without
 * trailing slashes. Findings and fixes name `setting`, where it was read.
 */
export function checkIssuerUrl(
  issuer: IssuerUrl,
  setting: IssuerSetting,
): {
  check: DoctorCheck;
  issuerUrl?: string;
} {
  switch (issuer.problem) {
    case "unset":
      return {
        check: fail(
          "issuer-url",
          `${setting.name} is not set: every webhook answers 500`,
          setting.set(EXAMPLE_ISSUER),
        ),
      };
    case "not_a_url":
      return {
        check: fail(
          "issuer-url",
          `${setting.name} is not a URL: ${issuer.raw}`,
          setting.set(EXAMPLE_ISSUER),
        ),
      };
  }
  const { url, raw, issuerUrl } = issuer;
  if (url.pathname !== "/" || url.search) {
    return {
      check: fail(
        "issuer-url",
        `${setting.name} is ${raw}, which has a path: the issuer is the bare domain`,
        setting.set(url.origin),
      ),
    };
  }
  return { check: ok("issuer-url", `${setting.name} is ${issuerUrl}`), issuerUrl };
}

/**
 * The discovery document's `issuer` equals the configured issuer. Tokens carry
 * that `issuer` as `iss`, and Convex compares it exactly: a custom domain
 * configured as the Kinde subdomain (or the reverse) is the classic sign-in
 * failure.
 *
 * @param managementDomainSet Whether `KINDE_DOMAIN` is set: without it the
 *   Management API follows the issuer URL, which the fix may move off the
 *   Kinde subdomain.
 */
export function checkDiscovery(
  issuerUrl: string,
  document: unknown,
  managementDomainSet: boolean,
  setting: IssuerSetting,
): { check: DoctorCheck; issuer?: string } {
  const url = `${issuerUrl}/.well-known/openid-configuration`;
  const issuer = (document as { issuer?: unknown } | null)?.issuer;
  if (typeof issuer !== "string") {
    return {
      check: fail(
        "issuer-discovery",
        `${url} has no \`issuer\`: this is not a Kinde domain's discovery document`,
        `${setting.set(EXAMPLE_ISSUER)}: your Kinde domain, exactly as in your Kinde application's settings`,
      ),
    };
  }
  if (trimSlashes(issuer) !== issuerUrl) {
    const managementApi = managementDomainSet
      ? ""
      : `; the Management API stays on your Kinde subdomain: if ${trimSlashes(issuer)} is a custom domain, also set ${MANAGEMENT_ENV.domain} to your https://<your-subdomain>.kinde.com`;
    return {
      check: fail(
        "issuer-discovery",
        `${url} names the issuer ${issuer}, not ${issuerUrl}: tokens say iss = ${issuer} (a custom domain and the Kinde subdomain are not interchangeable)`,
        `${setting.set(trimSlashes(issuer))} (and use it as \`domain\` in convex/auth.config.ts${managementApi})`,
      ),
    };
  }
  if (issuer !== issuerUrl) {
    return {
      check: warn(
        "issuer-discovery",
        `the issuer is ${issuer}, with a trailing slash ${setting.name} does not have`,
        `use exactly ${JSON.stringify(issuer)} as \`domain\` in convex/auth.config.ts: Convex compares it with the token's iss character for character`,
      ),
      issuer,
    };
  }
  return { check: ok("issuer-discovery", `the discovery document names ${issuer}`), issuer };
}

/** Kinde's `kid`s are 16 colon-separated lowercase hex bytes. */
const KINDE_KID = /^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/;

/** The key set has RS256 signing keys with Kinde-style `kid`s. */
export function checkKeySet(keySetUrl: string, body: unknown, setting: IssuerSetting): DoctorCheck {
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    return fail(
      "key-set",
      `${keySetUrl} is not a key set (no \`keys\` array): every webhook answers 503`,
      `check ${setting.name}: the key set is served at <issuer>${JWKS_PATH}`,
    );
  }
  const rsa = keys.filter((key: unknown) => {
    const { kty, alg, use } = (key ?? {}) as Record<string, unknown>;
    return kty === "RSA" && (alg === undefined || alg === "RS256") && use !== "enc";
  }) as { kid?: unknown }[];
  if (rsa.length === 0) {
    return fail(
      "key-set",
      `${keySetUrl} has ${keys.length} key(s), none an RS256 signing key: Kinde signs webhooks with RS256, so every webhook answers 401`,
      `check that ${setting.name} is your Kinde domain`,
    );
  }
  const kids = rsa.map((k) => String(k.kid));
  const foreign = kids.filter((kid) => !KINDE_KID.test(kid));
  if (foreign.length === rsa.length) {
    return warn(
      "key-set",
      `${keySetUrl} has ${rsa.length} RS256 key(s), but no Kinde-style kid (${foreign.slice(0, 3).join(", ")}): this may not be a Kinde key set`,
      `check that ${setting.name} is your Kinde domain`,
    );
  }
  return ok("key-set", `${keySetUrl} has ${rsa.length} RS256 key(s) (kid ${kids.join(", ")})`);
}

/**
 * The machine-to-machine application's client id and secret are set. Only
 * them: the Management API's host is `KINDE_DOMAIN` or the issuer URL, whose
 * absence is `issuer-url`'s finding.
 */
export function checkManagementCredentials(
  clientId: string | undefined,
  clientSecret: string | undefined,
): DoctorCheck {
  const { clientId: idVar, clientSecret: secretVar } = MANAGEMENT_ENV;
  if (clientId && clientSecret) {
    return ok("management-credentials", `${idVar} and ${secretVar} are set`);
  }
  const unavailable = "the backfill, setup and the webhook check are unavailable";
  if (!clientId && !clientSecret) {
    return warn(
      "management-credentials",
      `${idVar} and ${secretVar} are not set: ${unavailable}`,
      `create a machine-to-machine application in Kinde, authorize it for the Kinde Management API, and set ${idVar} and ${secretVar} to its client id and secret (README, "Set the environment")`,
    );
  }
  // One is set: the application exists, and only the other half is wanted.
  const [missing, missingWhat, present, presentWhat] = clientId
    ? [secretVar, "client secret", idVar, "client id"]
    : [idVar, "client id", secretVar, "client secret"];
  return warn(
    "management-credentials",
    `${missing} is not set (${present} is): ${unavailable}`,
    `npx convex env set ${missing} <${missingWhat}>, from the Details, in Kinde, of the machine-to-machine application whose ${presentWhat} ${present} holds`,
  );
}

/**
 * What the Management API checks ask Kinde with, or the check that keeps them from running: no
 * credentials, or no host to ask (`KINDE_DOMAIN` unset, and an issuer URL that did not pass,
 * which the host falls back to).
 */
export function managementConfigOrBlocker(
  clientId: string | undefined,
  clientSecret: string | undefined,
  domain: ManagementDomain | null,
  issuerUrlPassed: boolean,
):
  | { config: ManagementApiConfig; domain: ManagementDomain; blocker?: undefined }
  | { blocker: Blocker } {
  if (!clientId || !clientSecret) {
    return { blocker: { check: "management-credentials", why: "no credentials" } };
  }
  if (domain === null || (domain.from === "issuer" && !issuerUrlPassed)) {
    return {
      blocker: {
        check: "issuer-url",
        why: `no Management API host: ${MANAGEMENT_ENV.domain} is not set, and the issuer URL it falls back to did not pass`,
      },
    };
  }
  return {
    config: { domain: domain.domain, domainFrom: domain.from, clientId, clientSecret },
    domain,
  };
}

/**
 * What to look at when Kinde issues no token: the credentials, and the host that was asked,
 * named by the setting it came from. `KINDE_DOMAIN` is asked for only when it is not set.
 */
export function managementTokenFix(domain: ManagementDomain): string {
  const credentials = `check ${MANAGEMENT_ENV.clientId} and ${MANAGEMENT_ENV.clientSecret} against the Details of the machine-to-machine application in Kinde, and that it is authorized for the Kinde Management API`;
  return domain.from === MANAGEMENT_ENV.domain
    ? `${credentials}; and that ${MANAGEMENT_ENV.domain} (${domain.domain}) is your Kinde subdomain, even with a custom sign-in domain`
    : `${credentials}. Kinde was asked at ${domain.domain}, the issuer URL, as ${MANAGEMENT_ENV.domain} is not set: if that is a custom domain, set ${MANAGEMENT_ENV.domain} to your https://<your-subdomain>.kinde.com`;
}

/** The scopes a backfill cannot run without (`exactPermissions` needs one more). */
const BACKFILL_REQUIRED_SCOPES: string[] = Object.values(BACKFILL_SCOPES).filter(
  (scope) => scope !== BACKFILL_SCOPES.organizationUserPermissions,
);

/** Which features each Management API scope serves, as the component uses them. */
export const MANAGEMENT_API_SCOPES: { feature: string; scopes: string[]; required: boolean }[] = [
  {
    feature: "backfill",
    scopes: BACKFILL_REQUIRED_SCOPES,
    required: true,
  },
  {
    feature: "setup and this doctor's webhook check",
    scopes: [WEBHOOK_SCOPES.read],
    required: true,
  },
  {
    feature: "setup (creating and updating the webhook)",
    scopes: [WEBHOOK_SCOPES.create, WEBHOOK_SCOPES.update],
    required: false,
  },
  {
    feature: "the backfill's exactPermissions",
    scopes: [BACKFILL_SCOPES.organizationUserPermissions],
    required: false,
  },
  {
    feature: "setup's check that Kinde offers every event type",
    scopes: [WEBHOOK_SCOPES.eventTypes],
    required: false,
  },
];

/**
 * The scopes the `enrichment` option needs beyond the backfill's: required
 * when it names properties, since every refresh of them reads them
 * (`read:users` serves the details and is the backfill's already).
 */
export function enrichmentScopes(enrichment: Enrichment | null): typeof MANAGEMENT_API_SCOPES {
  return [
    ...(enrichment?.userProperties
      ? [
          {
            feature: "enrichment's userProperties",
            scopes: [ENRICHMENT_SCOPES.userProperties],
            required: true,
          },
        ]
      : []),
    ...(enrichment?.organizationProperties
      ? [
          {
            feature: "enrichment's organizationProperties",
            scopes: [ENRICHMENT_SCOPES.organizationProperties],
            required: true,
          },
        ]
      : []),
  ];
}

/**
 * The scopes the `billing` option needs: required, since every billing
 * refresh reads the customer's entitlements, and its customer id with
 * `expand=billing` on the user or organization (the backfill's scopes
 * already, named again so a missing one says what billing loses).
 */
export function billingScopes(billing: boolean): typeof MANAGEMENT_API_SCOPES {
  if (!billing) return [];
  return [
    {
      feature: "the billing option's entitlements and plans",
      scopes: [BILLING_SCOPES.entitlements],
      required: true,
    },
    {
      feature: "the billing option's customer ids (expand=billing)",
      scopes: [BILLING_SCOPES.users, BILLING_SCOPES.organizations],
      required: true,
    },
  ];
}

/**
 * Names each missing scope with the features it disables: a failure when the
 * backfill, the webhook check, the properties the `enrichment` option names
 * or the `billing` option are disabled, a warning for optional features.
 */
export function checkScopes(
  granted: string[] | undefined,
  enrichment: Enrichment | null = null,
  billing = false,
): DoctorCheck {
  const features = [
    ...MANAGEMENT_API_SCOPES,
    ...enrichmentScopes(enrichment),
    ...billingScopes(billing),
  ];
  if (granted === undefined) {
    return warn(
      "management-scopes",
      "the access token does not list its scopes, so they cannot be checked in advance",
      "run `npx convex run kinde:setup '{\"dryRun\": true}'` and the backfill: a missing scope fails them with its name",
    );
  }
  const disabled = features.flatMap(({ feature, scopes, required }) => {
    const missing = scopes.filter((s) => !granted.includes(s));
    return missing.length ? [{ feature, missing, required }] : [];
  });
  if (disabled.length === 0) {
    return ok(
      "management-scopes",
      `the application has every scope the component uses (${new Set(features.flatMap((f) => f.scopes)).size})`,
    );
  }
  const found = disabled
    .map(({ feature, missing }) => `${missing.map((s) => `\`${s}\``).join(", ")} (${feature})`)
    .join("; ");
  const fix = `in Kinde: Settings → Applications → your M2M application → APIs → Kinde Management API → Scopes: add ${[...new Set(disabled.flatMap((d) => d.missing))].join(", ")}`;
  return disabled.some((d) => d.required)
    ? fail("management-scopes", `missing ${found}`, fix)
    : warn("management-scopes", `missing ${found}`, fix);
}

/**
 * A webhook delivers every mirrored event type to this deployment. Kinde's
 * API does not say whether a webhook is enabled (it disables one that fails
 * for 72 hours); `last-event` shows whether deliveries arrive.
 *
 * @param granted The token's scopes, when it lists them: setup, the fix,
 *   cannot create or update the webhook without the write scope.
 */
export function checkWebhook(
  endpoint: string,
  webhooks: ListedWebhook[],
  granted?: string[],
  billingTypes: readonly string[] = [],
): DoctorCheck {
  const plan = planSetup({ endpoint, webhooks });
  const lacking = granted ? missingScopes(plan, granted) : [];
  const setup = after(
    lacking.length ? "management-scopes" : undefined,
    "npx convex run kinde:setup",
  );
  const nearMisses = plan.warnings.length ? ` Also: ${plan.warnings.join(" ")}` : "";
  if (plan.action === "create") {
    return fail(
      "webhook",
      `no Kinde webhook points at ${endpoint} (${webhooks.length} webhook(s) listed).${nearMisses}`,
      setup,
    );
  }
  if (plan.action === "update") {
    return fail(
      "webhook",
      `webhook ${plan.webhookId} points at ${endpoint} but lacks ${plan.added.join(", ")}: those changes never reach the mirror.${nearMisses}`,
      setup,
    );
  }
  const found = `webhook ${plan.webhookId} sends all ${MIRRORED_EVENT_TYPES.length} mirrored event types to ${endpoint}`;
  const subscribed = webhooks.find((w) => w.id === plan.webhookId)?.eventTypes ?? [];
  const billingMissing = billingTypes.filter((type) => !subscribed.includes(type));
  if (billingMissing.length > 0) {
    const billingSetup = after(
      granted && !granted.includes(WEBHOOK_SCOPES.update) ? "management-scopes" : undefined,
      "npx convex run kinde:setup",
    );
    return warn(
      "webhook",
      `${found}, but not ${billingMissing.join(", ")}, which the billing option refreshes on: those plan changes wait for a refresh or the backfill.${nearMisses}`,
      billingSetup,
    );
  }
  return plan.warnings.length
    ? warn("webhook", `${found}.${nearMisses}`, "delete the webhooks named above in Kinde")
    : ok("webhook", found);
}

/** How long ago `then` was, in words: "3 minutes ago". */
export function ago(then: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  const [amount, unit] =
    seconds < 90
      ? [seconds, "second"]
      : seconds < 90 * 60
        ? [Math.round(seconds / 60), "minute"]
        : seconds < 36 * 3600
          ? [Math.round(seconds / 3600), "hour"]
          : [Math.round(seconds / 86400), "day"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"} ago`;
}

/**
 * The last event the log recorded, and how long ago.
 *
 * @param blocker A failed check that keeps deliveries from arriving or being
 *   applied (no webhook, no issuer, no key set): the fix starts there.
 */
export function checkLastEvent(
  lastEvent: EventRecord | null,
  now: number,
  blocker?: CheckName,
): DoctorCheck {
  if (lastEvent === null) {
    return warn(
      "last-event",
      "no event received within the retention window",
      blocker === undefined
        ? "make a change in Kinde (edit a user's name) and run the doctor again; if nothing arrives, open the webhook in Kinde (Settings → Environment → Webhooks) and check its delivery log and that it is enabled"
        : after(blocker, "make a change in Kinde (edit a user's name) and run the doctor again"),
    );
  }
  return ok(
    "last-event",
    `${lastEvent.type} ${lastEvent.eventId} received ${ago(lastEvent.receivedAt, now)} (${lastEvent.outcome})`,
  );
}

/**
 * What became of the most recent events; refused deliveries are not recorded.
 *
 * @param backfillBlocker A check that keeps the backfill, the fix for late events, from running.
 */
export function checkEventLog(records: EventRecord[], backfillBlocker?: CheckName): DoctorCheck {
  const counts = new Map<string, number>();
  for (const record of records) counts.set(record.outcome, (counts.get(record.outcome) ?? 0) + 1);
  const tally = [...counts].map(([outcome, n]) => `${n} ${outcome}`).join(", ") || "no events";
  const found = `the last ${records.length} event(s): ${tally}. Refused deliveries (401, 400, 5xx) write nothing: search the Convex logs for "refused a delivery"`;
  const expired = counts.get("expired") ?? 0;
  if (expired > 0) {
    return warn(
      "event-log",
      `${found}. ${expired} arrived too late to apply: the endpoint was unreachable or disabled for longer than the retention window`,
      after(
        backfillBlocker,
        "npx convex run kinde:backfill (it brings in what those events changed)",
      ),
    );
  }
  return ok("event-log", found);
}

/**
 * The latest backfill run's state.
 *
 * @param blocker A check that keeps a backfill from running (credentials, token, scopes).
 */
export function checkBackfill(
  status: BackfillStatus | null,
  now: number,
  blocker?: CheckName,
): DoctorCheck {
  const run = "npx convex run kinde:backfill";
  if (status === null) {
    return warn(
      "backfill",
      "never run: users and organizations that existed before the webhook are missing",
      after(blocker, run),
    );
  }
  const c = status.counts;
  const counts = `${c.users} users, ${c.organizations} organizations, ${c.memberships} memberships, ${c.roles} roles, ${c.permissions} permissions`;
  switch (status.status) {
    case "failed":
      return fail(
        "backfill",
        `run ${status.runId} failed at phase ${status.phase}: ${status.lastError ?? "no error recorded"}`,
        blocker === undefined
          ? `fix the cause, then ${run} (it resumes where it stopped)`
          : after(blocker, `${run} (it resumes where it stopped)`),
      );
    case "running": {
      if (isStalled(status, now)) {
        return warn(
          "backfill",
          `run ${status.runId} stopped at phase ${status.phase}: no progress for ${ago(status.heartbeatAt, now).replace(" ago", "")}`,
          after(blocker, `${run} (it resumes from its last page)`),
        );
      }
      const so = `phase ${status.phase}, ${status.pages} pages so far`;
      const { waiting } = status;
      return waiting && waiting.resumesAt > now
        ? ok(
            "backfill",
            `run ${status.runId} is waiting until ${new Date(waiting.resumesAt).toISOString()}, then continues by itself (${so}): ${waiting.reason}`,
          )
        : ok("backfill", `run ${status.runId} is running (${so})`);
    }
    case "done":
      return ok(
        "backfill",
        `run ${status.runId} finished ${ago(status.finishedAt ?? status.heartbeatAt, now)}: ${counts}`,
      );
  }
}

/** The newest fetch of a customer's billing, as `billing.lastFetch` answers. */
export type LastBillingFetch = {
  owner: BillingOwner;
  customerId?: string;
  fetchedAt: number;
} | null;

/**
 * When the last billing refresh landed (the newest fetch of any customer's
 * plans and entitlements). Without one, every entitlement check answers
 * false: the fix is the backfill, which fetches every customer, or a refresh.
 *
 * @param blocker A check that keeps the backfill or a refresh from running (credentials, token, scopes).
 */
export function checkBillingRefresh(
  last: LastBillingFetch,
  now: number,
  blocker?: CheckName,
): DoctorCheck {
  if (last === null) {
    return warn(
      "billing-refresh",
      "no customer's plans and entitlements were ever fetched: every entitlement check answers false",
      after(
        blocker,
        `npx convex run kinde:backfill (with billing on it fetches every customer's), or refresh one owner: npx convex run kinde:refresh '{"kind": "user", "entityId": "kp_…"}' (or "organization" and its code)`,
      ),
    );
  }
  const owner =
    last.owner.kind === "user"
      ? `user ${last.owner.kindeId}`
      : `organization ${last.owner.orgCode}`;
  return ok(
    "billing-refresh",
    `the last billing refresh began ${ago(last.fetchedAt, now)} (${last.customerId ? `customer ${last.customerId}, ` : ""}of ${owner})`,
  );
}

/** At most this many keys of unmatched billing events are named in the finding. */
const UNMATCHED_KEYS_SHOWN = 20;

/**
 * The billing events among the most recent whose customer was not found
 * (their record has `unmatchedKeys`): they refreshed nothing. The finding
 * names the keys their `data` had, never values.
 *
 * @param backfillBlocker A check that keeps the backfill, the fix for unknown customer ids, from running.
 */
export function checkBillingEvents(
  records: EventRecord[],
  backfillBlocker?: CheckName,
): DoctorCheck {
  const billing = records.filter((r) => r.type.startsWith("customer."));
  const unmatched = records.filter((r) => r.unmatchedKeys !== undefined);
  const sample = `the last ${records.length} event(s)`;
  if (unmatched.length === 0) {
    return ok(
      "billing-events",
      billing.length === 0
        ? `${sample}: no billing (customer.*) event`
        : `${sample}: ${billing.length} billing event(s), each with its customer found`,
    );
  }
  const keys = [...new Set(unmatched.flatMap((r) => r.unmatchedKeys ?? []))];
  const shown =
    keys.length > UNMATCHED_KEYS_SHOWN
      ? `${keys.slice(0, UNMATCHED_KEYS_SHOWN).join(", ")} and ${keys.length - UNMATCHED_KEYS_SHOWN} more`
      : keys.join(", ") || "none";
  const newest = unmatched[0]!;
  return warn(
    "billing-events",
    `${sample}: ${unmatched.length} billing event(s) whose customer was not found, so they refreshed nothing (newest: ${newest.type} ${newest.eventId}); their data had the keys ${shown}`,
    after(
      backfillBlocker,
      "npx convex run kinde:backfill, so the mirror knows every customer id (an event is matched by data.customer_id or data.customer.id, data.org_code or data.user_id); if the keys above hold none of those, Kinde's payload is one the component does not read: report the keys (never the values) to convex-kinde",
    ),
  );
}

/** How the app's React client hands Kinde's tokens to Convex. */
export type AuthTokenKind =
  { tokenType: "id"; applicationID?: string } | { tokenType: "access"; audience: string };

/**
 * What `convex/auth.config.ts` must contain for the chosen token kind.
 *
 * @param issuer The token issuer `issuer-discovery` read, or the check that kept it from
 *   being read.
 * @param clientId `KINDE_CLIENT_ID`: the ID token's `aud` when `auth.applicationID` is not given.
 */
export function checkAuthConfig(
  auth: AuthTokenKind,
  issuer: string | Blocker,
  clientId: string | undefined,
): DoctorCheck {
  if (typeof issuer !== "string") return notChecked("auth-config", issuer.check, issuer.why);
  const kind = auth.tokenType === "id" ? "ID" : "access";
  const snippet = (id: string) =>
    `convex/auth.config.ts must hold { domain: ${JSON.stringify(issuer)}, applicationID: ${id} } (the ${kind} token's iss and aud)`;
  if (auth.tokenType === "access") {
    if (auth.audience.trim() === "") {
      return warn(
        "auth-config",
        snippet("<your API's audience>"),
        "pass auth.audience to doctorAction: the audience of the API registered in Kinde (the access token's aud)",
      );
    }
    return ok("auth-config", snippet(JSON.stringify(auth.audience)));
  }
  const applicationID = auth.applicationID?.trim() || clientId?.trim();
  if (!applicationID) {
    return warn(
      "auth-config",
      snippet("<your Kinde application's client id>"),
      "npx convex env set KINDE_CLIENT_ID <client id> (the ID token's aud), or pass auth.applicationID to doctorAction",
    );
  }
  return ok("auth-config", snippet(JSON.stringify(applicationID)));
}

/** The checklist as lines for the Convex logs. */
export function formatReport(report: Pick<DoctorReport, "summary" | "checks">): string {
  const mark = { ok: "✓", warn: "!", fail: "✗" } as const;
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const lines = report.checks.flatMap((c) => [
    `  ${mark[c.verdict]} ${c.name.padEnd(width)}  ${c.found}`,
    ...(c.fix ? [`    ${" ".repeat(width)}  fix: ${c.fix}`] : []),
  ]);
  return [`doctor: ${report.summary}`, ...lines].join("\n");
}

export function summarize(checks: DoctorCheck[]): string {
  const count = (verdict: Verdict) => checks.filter((c) => c.verdict === verdict).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `${count("ok")} ok, ${plural(count("warn"), "warning")}, ${plural(count("fail"), "failure")}`;
}

/** GETs JSON with a timeout, so an unreachable host is a finding, not a hung action. */
async function fetchJson(url: string, timeoutMs = 5_000): Promise<unknown> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(url, {
      signal: controller.signal,
      headers: { accept: "application/json" },
    });
    if (!response.ok) throw new Error(`answered ${response.status}`);
    return await response.json();
  } catch (error) {
    const message = controller.signal.aborted
      ? `no answer within ${timeoutMs} ms`
      : messageOf(error);
    throw new Error(message, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/** How many of the newest event records the doctor reads. */
export const EVENT_LOG_SAMPLE = 100;

/** How the host's doctor action works; every field is optional. */
export interface DoctorActionOptions {
  /** The path the webhook route is mounted on: what `registerRoutes(http, { path })` was given (default `/kinde/webhook`). */
  path?: string;
  /** Retries of each Management API request; unset fields keep their defaults. */
  retry?: Partial<RetryPolicy>;
  /** For apps that sign in with Kinde in React: which token Convex receives, to print what `auth.config.ts` needs. */
  auth?: AuthTokenKind;
}

/** Builds the host's doctor action (see `Kinde.doctorAction`). */
export function doctorAction(
  component: ComponentApi,
  options: KindeOptions,
  { path, retry: retryOverrides, auth }: DoctorActionOptions & { path: string },
) {
  const retry = retryPolicy(retryOverrides, "doctorAction");
  return internalActionGeneric({
    args: {},
    returns: vDoctorReport,
    handler: async (ctx): Promise<DoctorReport> => {
      const checks: DoctorCheck[] = [];
      const now = Date.now();

      // The issuer: its URL, its discovery document, its key set.
      const issuerSetting = issuerSettingOf(options);
      const issuer = checkIssuerUrl(issuerUrlOf(options), issuerSetting);
      checks.push(issuer.check);
      let tokenIssuer: string | undefined;
      if (issuer.issuerUrl === undefined) {
        checks.push(notChecked("issuer-discovery", "issuer-url", "no issuer URL"));
        checks.push(notChecked("key-set", "issuer-url", "no issuer URL"));
      } else {
        const discoveryUrl = `${issuer.issuerUrl}/.well-known/openid-configuration`;
        try {
          const discovery = checkDiscovery(
            issuer.issuerUrl,
            await fetchJson(discoveryUrl),
            managementDomainOf(options)?.from === MANAGEMENT_ENV.domain,
            issuerSetting,
          );
          checks.push(discovery.check);
          tokenIssuer = discovery.issuer;
        } catch (error) {
          checks.push(
            fail(
              "issuer-discovery",
              `${discoveryUrl} could not be read: ${messageOf(error)}`,
              `check that ${issuerSetting.name} is your Kinde domain and reachable from Convex`,
            ),
          );
        }
        const keySetUrl = issuer.issuerUrl + JWKS_PATH;
        try {
          checks.push(checkKeySet(keySetUrl, await fetchJson(keySetUrl), issuerSetting));
        } catch (error) {
          checks.push(
            fail(
              "key-set",
              `${keySetUrl} could not be read: ${messageOf(error)}; every webhook answers 503 until it can`,
              `check that ${issuerSetting.name} is your Kinde domain and reachable from Convex`,
            ),
          );
        }
      }

      // The Management API: credentials, a token, its scopes, and the webhook.
      const clientId = process.env[MANAGEMENT_ENV.clientId];
      const clientSecret = process.env[MANAGEMENT_ENV.clientSecret];
      checks.push(checkManagementCredentials(clientId, clientSecret));
      const prerequisites = managementConfigOrBlocker(
        clientId,
        clientSecret,
        managementDomainOf(options),
        issuer.issuerUrl !== undefined,
      );
      let api: ManagementApi | undefined;
      let access: ManagementAccess;
      if (prerequisites.blocker !== undefined) {
        access = prerequisites;
        checks.push(notChecked("management-token", access.blocker.check, access.blocker.why));
        checks.push(notChecked("management-scopes", access.blocker.check, access.blocker.why));
      } else {
        api = new ManagementApi(prerequisites.config, retry);
        try {
          const granted = await api.grantedScopes({ fresh: true });
          access = { api, granted };
          checks.push(ok("management-token", "Kinde issued an access token"));
          checks.push(checkScopes(granted, enrichmentOf(options), options.billing === true));
        } catch (error) {
          checks.push(
            error instanceof WaitRequired
              ? throttled("management-token", error)
              : fail(
                  "management-token",
                  messageOf(error),
                  managementTokenFix(prerequisites.domain),
                ),
          );
          access = { blocker: { check: "management-token", why: "no access token" } };
          checks.push(notChecked("management-scopes", access.blocker.check, access.blocker.why));
        }
      }
      checks.push(await webhookCheck(access, path, options.billing === true));

      // The component: what arrived, what became of it, and the backfill.
      // The newest record of the log is the sync status's `lastEvent`: one call reads both.
      const recent = await ctx.runQuery(component.events.listEvents, {
        paginationOpts: { numItems: EVENT_LOG_SAMPLE, cursor: null },
      });
      const deliveryBlocker = DELIVERY_PREREQUISITES.find(
        (name) => checks.find((c) => c.name === name)?.verdict === "fail",
      );
      const backfillBlocker = backfillBlockerOf(access);
      checks.push(checkLastEvent(recent.page[0] ?? null, now, deliveryBlocker));
      checks.push(checkEventLog(recent.page, backfillBlocker));
      checks.push(
        checkBackfill(await ctx.runQuery(component.backfill.getStatus, {}), now, backfillBlocker),
      );
      if (options.billing) {
        const billingBlocker = billingBlockerOf(access);
        const last = await ctx.runQuery(component.billing.lastFetch, {});
        checks.push(checkBillingRefresh(last, now, billingBlocker));
        checks.push(checkBillingEvents(recent.page, billingBlocker));
      }
      if (auth) {
        const issuerOrBlocker: string | Blocker =
          tokenIssuer ??
          (issuer.issuerUrl === undefined
            ? { check: "issuer-url", why: "no issuer URL" }
            : { check: "issuer-discovery", why: "the token issuer is not known" });
        checks.push(checkAuthConfig(auth, issuerOrBlocker, process.env.KINDE_CLIENT_ID));
      }

      const report: DoctorReport = {
        healthy: checks.every((c) => c.verdict === "ok"),
        summary: summarize(checks),
        checks,
        requests: api?.requests ?? 0,
      };
      createLogger(logLevelOf(options, "task")).info(formatReport(report));
      return report;
    },
  });
}

/** The checks whose failure keeps Kinde's deliveries from arriving or being applied. */
const DELIVERY_PREREQUISITES: readonly CheckName[] = ["issuer-url", "key-set", "webhook"];

/** The check that keeps a backfill from running: no Management API access, or a scope it needs. */
function backfillBlockerOf(access: ManagementAccess): CheckName | undefined {
  if (access.blocker !== undefined) return access.blocker.check;
  const { granted } = access;
  return granted && BACKFILL_REQUIRED_SCOPES.some((scope) => !granted.includes(scope))
    ? "management-scopes"
    : undefined;
}

/** The check that keeps billing's backfill and refreshes from running: the backfill's, or a billing scope. */
function billingBlockerOf(access: ManagementAccess): CheckName | undefined {
  const blocker = backfillBlockerOf(access);
  if (blocker !== undefined || access.blocker !== undefined) return blocker;
  const { granted } = access;
  const needed = billingScopes(true).flatMap((f) => f.scopes);
  return granted && needed.some((scope) => !granted.includes(scope))
    ? "management-scopes"
    : undefined;
}

/** A Management API client with the scopes its token lists, or what kept the doctor from one. */
type ManagementAccess =
  { api: ManagementApi; granted: string[] | undefined; blocker?: undefined } | { blocker: Blocker };

/**
 * The `customer.*` types the environment offers, which the billing option's
 * webhook should carry: none when the application may not read Kinde's list
 * (setup then registers them all, and Kinde refuses what it lacks).
 */
async function offeredBillingTypes(api: ManagementApi, granted: string[] | undefined) {
  if (granted && !granted.includes(WEBHOOK_SCOPES.eventTypes)) return [];
  let offered: string[] | undefined;
  try {
    offered = toOfferedTypes(await api.get("/api/v1/event_types", {}, WEBHOOK_SCOPES.eventTypes));
  } catch (error) {
    // A token that does not list its scopes: the 403 is how the missing scope shows.
    if (error instanceof ManagementApiError && error.status === 403) return [];
    throw error;
  }
  return offered ? billingEventTypes(offered).filter((type) => offered.includes(type)) : [];
}

/** The `webhook` check, or why it could not run. */
async function webhookCheck(
  access: ManagementAccess,
  path: string,
  billing: boolean,
): Promise<DoctorCheck> {
  let endpoint: string;
  try {
    endpoint = webhookEndpoint(process.env[SITE_URL_ENV_VAR], path);
  } catch (error) {
    return fail("webhook", messageOf(error), `run the doctor on a cloud deployment`);
  }
  if (access.blocker !== undefined) {
    return notChecked("webhook", access.blocker.check, access.blocker.why);
  }
  const { api, granted } = access;
  if (granted && !granted.includes(WEBHOOK_SCOPES.read)) {
    return notChecked("webhook", "management-scopes", `no \`${WEBHOOK_SCOPES.read}\` scope`);
  }
  try {
    const listed = toListedWebhooks(await api.get("/api/v1/webhooks", {}, WEBHOOK_SCOPES.read));
    const billingTypes = billing ? await offeredBillingTypes(api, granted) : [];
    return checkWebhook(endpoint, listed, granted, billingTypes);
  } catch (error) {
    if (error instanceof WaitRequired) return throttled("webhook", error);
    return fail(
      "webhook",
      `could not list Kinde's webhooks: ${messageOf(error)}`,
      error instanceof ManagementApiError && error.status === 403
        ? `grant the M2M application \`${WEBHOOK_SCOPES.read}\``
        : "run the doctor again; if it persists, check Kinde's status",
    );
  }
}
