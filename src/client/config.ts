/**
 * The host's configuration, resolved in one place with one set of defaults:
 * the issuer URL, the Management API's credentials and the log level. Read
 * from the deployment's environment at run time (never at deploy time, so a
 * deployment without it still deploys).
 */
import type { LogLevel } from "./log.js";
import { MANAGEMENT_ENV, ManagementApiError, type ManagementApiConfig } from "./managementApi.js";
import type { KindeOptions } from "./types.js";

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
