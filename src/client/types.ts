import type { GenericQueryCtx, GenericDataModel } from "convex/server";
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
}
