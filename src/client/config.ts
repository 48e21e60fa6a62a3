/**
 * The host's configuration, resolved in one place with one set of defaults:
 * the issuer URL, the Management API's credentials and the log level. Read
 * from the deployment's environment at run time (never at deploy time, so a
 * deployment without it still deploys).
 */
import {
  DETAIL_FIELDS,
  MAX_ENRICHMENT_TEXT,
  MAX_PROPERTIES,
  type DetailField,
} from "../shared/enrichment.js";
import type { LogLevel } from "./log.js";
import { MANAGEMENT_ENV, ManagementApiError, type ManagementApiConfig } from "./managementApi.js";
import type { EnrichmentOptions, KindeOptions } from "./types.js";

/** The environment variable holding the Kinde issuer URL, e.g. `https://acme.kinde.com`. */
export const ISSUER_ENV_VAR = "KINDE_ISSUER_URL";

/** The command that sets it, for messages that say how. */
export const SET_ISSUER_URL = `npx convex env set ${ISSUER_ENV_VAR} https://<your-subdomain>.kinde.com`;

/** The setting the issuer URL is read from, as messages name it, and how to give it `value`. */
export interface IssuerSetting {
  name: string;
  set: (value: string) => string;
}

/**
 * Which setting {@link issuerUrlOf} reads: the `issuerUrl` option when the
 * host passes one (the environment variable is then never read), else
 * {@link ISSUER_ENV_VAR}.
 */
export function issuerSettingOf(options: KindeOptions): IssuerSetting {
  return options.issuerUrl === undefined
    ? { name: ISSUER_ENV_VAR, set: (value) => `npx convex env set ${ISSUER_ENV_VAR} ${value}` }
    : {
        name: "the `issuerUrl` option",
        set: (value) =>
          `pass { issuerUrl: ${JSON.stringify(value)} } to new Kinde(components.kinde, …) in convex/kinde.ts`,
      };
}

/** The issuer URL as configured: usable, or what is wrong with it. */
export type IssuerUrl =
  | {
      problem?: undefined;
      /** Trimmed, without trailing slashes: `<issuerUrl>/.well-known/jwks` is the key set. */
      issuerUrl: string;
      url: URL;
      /** As configured. */
      raw: string;
    }
  | { problem: "unset" }
  | { problem: "not_a_url"; raw: string };

/**
 * The issuer URL: the `issuerUrl` option, else {@link ISSUER_ENV_VAR}. The
 * webhook, the doctor and the Management API's fallback host all read it
 * here.
 */
export function issuerUrlOf(options: KindeOptions): IssuerUrl {
  return parseIssuerUrl(options.issuerUrl ?? process.env[ISSUER_ENV_VAR]);
}

/** `raw` as an issuer URL; trailing slashes are tolerated. */
export function parseIssuerUrl(raw: string | undefined): IssuerUrl {
  if (!raw || raw.trim() === "") return { problem: "unset" };
  const issuerUrl = withoutTrailingSlashes(raw);
  try {
    return { issuerUrl, url: new URL(issuerUrl), raw };
  } catch {
    return { problem: "not_a_url", raw };
  }
}

function withoutTrailingSlashes(url: string): string {
  return url.trim().replace(/\/+$/, "");
}

/** Where the Management API is asked, and which setting said so. */
export interface ManagementDomain {
  domain: string;
  from: typeof MANAGEMENT_ENV.domain | "issuer";
}

/**
 * The Management API's host: `KINDE_DOMAIN`, else the issuer as configured (a
 * custom sign-in domain does not serve the Management API); null when neither
 * is set.
 */
export function managementDomainOf(options: KindeOptions): ManagementDomain | null {
  const configured = withoutTrailingSlashes(process.env[MANAGEMENT_ENV.domain] ?? "");
  if (configured) return { domain: configured, from: MANAGEMENT_ENV.domain };
  const issuer = issuerUrlOf(options);
  if (issuer.problem === "unset") return null;
  return { domain: withoutTrailingSlashes(issuer.raw), from: "issuer" };
}

/**
 * The Management API's credentials and host ({@link managementDomainOf}).
 *
 * @param feature Who needs them, named in the error ("The backfill", "Setup").
 */
export function managementConfig(
  options: KindeOptions,
  feature = "The backfill",
): ManagementApiConfig {
  const clientId = process.env[MANAGEMENT_ENV.clientId];
  const clientSecret = process.env[MANAGEMENT_ENV.clientSecret];
  const host = managementDomainOf(options);
  const domain = host?.domain ?? "";
  const missing = [
    !clientId && MANAGEMENT_ENV.clientId,
    !clientSecret && MANAGEMENT_ENV.clientSecret,
    !domain && `${MANAGEMENT_ENV.domain} (or ${ISSUER_ENV_VAR})`,
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new ManagementApiError(
      `${feature} needs ${missing.join(", ")}: create a machine-to-machine application in Kinde, authorize it for the Kinde Management API, and run \`npx convex env set ${MANAGEMENT_ENV.clientId} …\` (see the README, "Backfill an existing tenant").`,
    );
  }
  return { domain, domainFrom: host!.from, clientId: clientId!, clientSecret: clientSecret! };
}

/**
 * The log level when `logLevel` is not set. A webhook that works stays
 * silent: only refused and failed deliveries are logged, which is what
 * someone reading the Convex logs is looking for.
 */
export const DEFAULT_LOG_LEVEL: LogLevel = "WARN";

/**
 * The level convex-kinde logs at: the `logLevel` option, else
 * {@link DEFAULT_LOG_LEVEL}, except that an action the developer runs by hand
 * (`backfill`, `setup`, `doctor`: `task`) logs its progress and report at
 * `INFO`, so they show in the Convex logs without setting anything.
 */
export function logLevelOf(options: KindeOptions, use: "webhook" | "task" = "webhook"): LogLevel {
  return options.logLevel ?? (use === "task" ? "INFO" : DEFAULT_LOG_LEVEL);
}

/** Which custom properties are kept: every key, or the keys listed. */
export type PropertySelection = "all" | readonly string[];

/** `KindeOptions.enrichment`, checked and with its defaults. */
export interface Enrichment {
  /** The details kept, in {@link DETAIL_FIELDS} order, each once. */
  details: readonly DetailField[];
  /** The user properties kept; null: none (nothing asks Kinde for them). */
  userProperties: PropertySelection | null;
  /** The organization properties kept; null: none. */
  organizationProperties: PropertySelection | null;
  /** Refresh a user after a sign-in at most this often; undefined: not on sign-in. */
  refreshAfterSignInMs: number | undefined;
  /** Whether a user refresh has anything to fetch (details or properties). */
  users: boolean;
  /** Whether an organization refresh has anything to fetch (its properties). */
  organizations: boolean;
}

const ENRICHMENT_OPTIONS = [
  "details",
  "userProperties",
  "organizationProperties",
  "refreshAfterSignInMs",
] as const satisfies readonly (keyof EnrichmentOptions)[];

const where = (name: string) => `new Kinde(components.kinde, { enrichment: { ${name} } })`;

/**
 * `KindeOptions.enrichment` checked and defaulted, or null when it is not set
 * (then nothing is fetched, scheduled or written for it). Throws an `Error`
 * naming the option and what it takes for a bad value; `new Kinde(…)` calls
 * it, so a bad value fails the deploy, not a refresh.
 */
export function enrichmentOf(options: KindeOptions): Enrichment | null {
  const given: unknown = options.enrichment;
  if (given === undefined) return null;
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new Error(
      `new Kinde(components.kinde, { enrichment }): \`enrichment\` must be an object such as {} or { userProperties: "all" }, not ${describe(given)}`,
    );
  }
  for (const name of Object.keys(given)) {
    if (!(ENRICHMENT_OPTIONS as readonly string[]).includes(name)) {
      throw new Error(
        `${where(name)}: unknown option \`${name}\` (known: ${ENRICHMENT_OPTIONS.join(", ")})`,
      );
    }
  }
  const { details, userProperties, organizationProperties, refreshAfterSignInMs } = given as Record<
    (typeof ENRICHMENT_OPTIONS)[number],
    unknown
  >;
  const resolved = {
    details: detailsOf(details),
    userProperties: propertySelectionOf("userProperties", userProperties),
    organizationProperties: propertySelectionOf("organizationProperties", organizationProperties),
    refreshAfterSignInMs: intervalOf(refreshAfterSignInMs),
  };
  return {
    ...resolved,
    users: resolved.details.length > 0 || resolved.userProperties !== null,
    organizations: resolved.organizationProperties !== null,
  };
}

function detailsOf(details: unknown): readonly DetailField[] {
  if (details === undefined) return DETAIL_FIELDS;
  const known = `a list of ${DETAIL_FIELDS.map((f) => JSON.stringify(f)).join(", ")}`;
  if (!Array.isArray(details)) {
    throw new Error(`${where("details")}: \`details\` must be ${known}, not ${describe(details)}`);
  }
  for (const field of details as unknown[]) {
    if (!(DETAIL_FIELDS as readonly unknown[]).includes(field)) {
      throw new Error(
        `${where("details")}: unknown detail ${describe(field)} (known: ${DETAIL_FIELDS.join(", ")})`,
      );
    }
  }
  return DETAIL_FIELDS.filter((field) => details.includes(field));
}

function propertySelectionOf(name: string, selection: unknown): PropertySelection | null {
  if (selection === undefined) return null;
  if (selection === "all") return "all";
  const takes = `"all" or a list of property keys`;
  if (!Array.isArray(selection)) {
    throw new Error(`${where(name)}: \`${name}\` must be ${takes}, not ${describe(selection)}`);
  }
  if (selection.length === 0) {
    throw new Error(
      `${where(name)}: \`${name}\` lists no key; name at least one, "all", or leave it out to keep none`,
    );
  }
  for (const key of selection as unknown[]) {
    if (typeof key !== "string" || key === "" || key.length > MAX_ENRICHMENT_TEXT) {
      throw new Error(
        `${where(name)}: \`${name}\` holds ${describe(key)}: each key must be text of 1 to ${MAX_ENRICHMENT_TEXT} characters`,
      );
    }
  }
  const keys = [...new Set(selection as string[])];
  if (keys.length > MAX_PROPERTIES) {
    throw new Error(
      `${where(name)}: \`${name}\` lists ${keys.length} keys; at most ${MAX_PROPERTIES} properties are kept per user or organization`,
    );
  }
  return keys;
}

function intervalOf(ms: unknown): number | undefined {
  if (ms === undefined) return undefined;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new Error(
      `${where("refreshAfterSignInMs")}: \`refreshAfterSignInMs\` must be a finite number of milliseconds of at least 0 (e.g. 3_600_000 for at most hourly), not ${describe(ms)}`,
    );
  }
  return ms;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  const json = (JSON.stringify(value) as string | undefined) ?? typeof value;
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
