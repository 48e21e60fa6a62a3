import type { HttpRouter, PaginationOptions, PaginationResult } from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";
import type { KindeUser } from "../shared.js";
import type { KindeOptions, RunQueryAuthCtx, RunQueryCtx } from "./types.js";
import { webhookHandler } from "./webhook.js";

export type { KindeOptions, RunQueryAuthCtx, RunQueryCtx } from "./types.js";
export type { LogLevel } from "./log.js";
export {
  vUser,
  vOrganizationMembership,
  vOutcome,
  type KindeUser,
  type OrganizationMembership,
  type Outcome,
} from "../shared.js";

/** The path `registerRoutes` mounts the webhook on unless told otherwise. */
export const DEFAULT_WEBHOOK_PATH = "/kinde/webhook";

/**
 * The host app's handle on the Kinde mirror: mounts the webhook route and
 * reads synced users.
 *
 * ```ts
 * // convex/kinde.ts
 * import { Kinde } from "convex-kinde";
 * import { components } from "./_generated/api";
 *
 * export const kinde = new Kinde(components.kinde);
 * ```
 */
export class Kinde {
  /**
   * @param component The component, like `components.kinde` from `./_generated/api`.
   * @param options Optional settings: `issuerUrl` (default: the
   *   `KINDE_ISSUER_URL` environment variable) and `logLevel`.
   */
  constructor(
    public component: ComponentApi,
    public options: KindeOptions = {},
  ) {}

  /**
   * Mounts the Kinde webhook on the host's router: `POST /kinde/webhook`, or
   * `path` if given. Point the Kinde dashboard's webhook at
   * `https://<deployment>.convex.site/kinde/webhook`.
   *
   * ```ts
   * // convex/http.ts
   * import { httpRouter } from "convex/server";
   * import { kinde } from "./kinde";
   *
   * const http = httpRouter();
   * kinde.registerRoutes(http);
   * export default http;
   * ```
   */
  registerRoutes(http: HttpRouter, { path = DEFAULT_WEBHOOK_PATH }: { path?: string } = {}) {
    http.route({ path, method: "POST", handler: webhookHandler(this.component, this.options) });
  }

  /**
   * The mirrored user with this Kinde id (`kp_…`, the `sub` of Kinde tokens),
   * or null. Reactive in queries.
   *
   * ```ts
   * export const profile = query({
   *   args: { kindeId: v.string() },
   *   handler: (ctx, { kindeId }) => kinde.getUser(ctx, kindeId),
   * });
   * ```
   */
  async getUser(ctx: RunQueryCtx, kindeId: string): Promise<KindeUser | null> {
    return await ctx.runQuery(this.component.users.getUser, { kindeId });
  }

  /**
   * The mirrored user who is signed in (`ctx.auth.getUserIdentity().subject`),
   * or null when nobody is signed in or the user is not mirrored yet.
   *
   * ```ts
   * export const me = query({
   *   args: {},
   *   handler: (ctx) => kinde.getAuthUser(ctx),
   * });
   * ```
   */
  async getAuthUser(ctx: RunQueryAuthCtx): Promise<KindeUser | null> {
    const identity = await ctx.auth.getUserIdentity();
    if (!identity) return null;
    return await this.getUser(ctx, identity.subject);
  }

  /**
   * The mirrored user with this email, compared case-insensitively, or null.
   * Kinde users may have no email (phone-only sign-in); they are never found here.
   *
   * ```ts
   * const user = await kinde.getUserByEmail(ctx, "Ada@Example.com");
   * ```
   */
  async getUserByEmail(ctx: RunQueryCtx, email: string): Promise<KindeUser | null> {
    return await ctx.runQuery(this.component.users.getUserByEmail, { email });
  }

  /**
   * A page of mirrored users, oldest first. The result has the shape of
   * Convex's paginated queries, so a host query that returns it works with
   * `usePaginatedQuery`.
   *
   * ```ts
   * export const users = query({
   *   args: { paginationOpts: paginationOptsValidator },
   *   handler: (ctx, { paginationOpts }) => kinde.listUsers(ctx, { paginationOpts }),
   * });
   * ```
   */
  async listUsers(
    ctx: RunQueryCtx,
    { paginationOpts }: { paginationOpts: PaginationOptions },
  ): Promise<PaginationResult<KindeUser>> {
    return await ctx.runQuery(this.component.users.listUsers, { paginationOpts });
  }
}
