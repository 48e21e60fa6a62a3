import type { GenericQueryCtx, GenericDataModel } from "convex/server";
import type { DetailField } from "../shared/enrichment.js";
import type { LogLevel } from "./log.js";

/**
 * Any host ctx that can run a query: a query, mutation or action ctx, or a
 * wrapper around one.
 */
export type RunQueryCtx = Pick<GenericQueryCtx<GenericDataModel>, "runQuery">;

/** A host ctx that can also tell who is signed in. */
export type RunQueryAuthCtx = Pick<GenericQueryCtx<GenericDataModel>, "runQuery" | "auth">;

/** Options of {@link Kinde}. All are optional. */
export interface KindeOptions {
  /**
   * The Kinde issuer URL, e.g. `https://acme.kinde.com` (a trailing slash is
   * fine). Defaults to the `KINDE_ISSUER_URL` environment variable, read when
   * a webhook arrives, so a deployment without it still deploys.
   */
  issuerUrl?: string;
  /**
   * How much convex-kinde logs. Unset, the webhook route logs at `"WARN"`
   * (refused or failed deliveries only) and the actions you run by hand
   * (backfill, setup, doctor) at `"INFO"`, so their progress shows.
   */
  logLevel?: LogLevel;
  /**
   * How many days event records and deletion tombstones are kept (default 7).
   * Events that happened longer ago are acknowledged but not applied
   * (`expired`), since nothing older than what the component remembers may
   * change the mirror. Keep it above Kinde's retry window: 36 h of retries,
   * plus 72 h before Kinde disables a failing endpoint.
   */
  retentionDays?: number;
  /**
   * Keep what Kinde's Management API knows of users and organizations that no
   * webhook carries: pictures, creation time, sign-ins, identities, custom
   * properties (docs/enrichment.md). `{}` keeps the user details; unset,
   * nothing is fetched, scheduled or written for it. Refreshes need the
   * backfill's machine-to-machine credentials and `kinde.refreshAction()`.
   */
  enrichment?: EnrichmentOptions;
  /**
   * Mirror Kinde Billing: each user's and organization's billing customer,
   * its plans and entitlements, read from Kinde's Management API by the
   * backfill and by refreshes that Kinde's `customer.*` webhooks trigger
   * (docs/billing.md). Unset or false, no billing request is made and
   * `customer.*` events reach only your hooks.
   */
  billing?: boolean;
}

/** What {@link KindeOptions.enrichment} keeps, and how often it refreshes it. */
export interface EnrichmentOptions {
  /**
   * The user details to keep (default: all of them): `picture`, `createdAt`,
   * `signIns` (Kinde's sign-in count and last sign-in) and `identities` (how
   * the user signs in: provider and address, never a secret). `[]` keeps none.
   */
  details?: DetailField[];
  /**
   * The custom user properties to keep: `"all"`, or a list of keys (default:
   * none, and no request for them). Needs the scope `read:user_properties`.
   */
  userProperties?: "all" | string[];
  /**
   * The custom organization properties to keep: `"all"`, or a list of keys
   * (default: none). Needs the scope `read:organization_properties`.
   */
  organizationProperties?: "all" | string[];
  /**
   * Also refresh a user when they sign in (`user.authenticated`), at most once
   * per this many milliseconds per user (default: not on sign-in).
   */
  refreshAfterSignInMs?: number;
}
