/**
 * Configuration the host's actions read from the deployment's environment at
 * run time (never at deploy time, so a deployment without it still deploys).
 */
import { MANAGEMENT_ENV, ManagementApiError, type ManagementApiConfig } from "./managementApi.js";
import type { KindeOptions } from "./types.js";
import { ISSUER_ENV_VAR } from "./webhook.js";

/**
 * The Management API's credentials and host. The host is `KINDE_DOMAIN`, else
 * the issuer: a custom sign-in domain does not serve the Management API.
 *
 * @param feature Who needs them, named in the error ("The backfill", "Setup").
 */
export function managementConfig(
  options: KindeOptions,
  feature = "The backfill",
): ManagementApiConfig {
  const clientId = process.env[MANAGEMENT_ENV.clientId];
  const clientSecret = process.env[MANAGEMENT_ENV.clientSecret];
  const domain = (
    process.env[MANAGEMENT_ENV.domain] ||
    options.issuerUrl ||
    process.env[ISSUER_ENV_VAR] ||
    ""
  )
    .trim()
    .replace(/\/+$/, "");
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
  return { domain, clientId: clientId!, clientSecret: clientSecret! };
}
