import {
  internalMutationGeneric,
  type GenericDataModel,
  type GenericMutationCtx,
  type HttpRouter,
  type MutationBuilder,
  type QueryBuilder,
  type FunctionVisibility,
  type PaginationOptions,
  type PaginationResult,
  type RegisteredMutation,
} from "convex/server";
import { ConvexError, v } from "convex/values";
import { customMutation, customQuery } from "convex-helpers/server/customFunctions";
import type { ComponentApi } from "../component/_generated/component.js";
import { type BackfillStatus } from "../shared/backfill.js";
import { type EventRecord, type SyncStatus } from "../shared/events.js";
import {
  type EntityKind,
  type KindeOrganization,
  type KindePermission,
  type KindeRole,
  type KindeUser,
  type OrganizationMember,
} from "../shared/mirror.js";
import { vMirrorEvent, type MirrorEvent, type MirrorEventType } from "../shared/mirrorEvents.js";
import {
  vUnmirroredDelivery,
  vUnmirroredReceipt,
  type UnmirroredDelivery,
  type UnmirroredReceipt,
} from "../shared/unmirroredEvents.js";
import {
  runUnmirroredHandler,
  type OnlyNewEventTypes,
  type UnmirroredEventHandlers,
} from "./unmirroredHandlers.js";
import type { KindeOptions, RunQueryAuthCtx, RunQueryCtx } from "./types.js";
import { webhookHandler, type EventHookReference, type RefreshActionReference } from "./webhook.js";
import { backfillAction, type BackfillActionOptions } from "./backfill.js";
import { checkTarget, requireTarget } from "./identity.js";
import { forbidden } from "./errors.js";
import { userQueries } from "./hostQueries.js";
import { kindeCustomization } from "./customFunctions.js";
import { requireMember, type MembershipCheck } from "./membership.js";
import { setupAction, type SetupActionOptions } from "./setup.js";
import {
  getBilling,
  getEntitlement,
  hasEntitlement,
  requireEntitlement,
  type BillingOf,
  type EntitlementCheck,
} from "./billing.js";
import type { KindeBilling, KindeEntitlement } from "../shared/billing.js";
import { doctorAction, type DoctorActionOptions } from "./doctor.js";
import { enrichmentOf } from "./config.js";
import { refreshAction, type RefreshActionOptions } from "./refresh.js";

export type { EnrichmentOptions, KindeOptions, RunQueryAuthCtx, RunQueryCtx } from "./types.js";
export type {
  DetailField,
  KindeIdentity,
  KindeProperties,
  UserDetails,
} from "../shared/enrichment.js";
export type { LogLevel } from "./log.js";
export type { RefreshActionReference, RefusalReason } from "./webhook.js";
export { VERIFICATION_STATUS, type VerificationReason } from "./verify.js";
export type { BackfillActionOptions, BackfillResult } from "./backfill.js";
export {
  vRefreshResult,
  type RefreshActionOptions,
  type RefreshResult,
  type SweepPosition,
} from "./refresh.js";
export {
  MIRRORED_EVENT_TYPES,
  vSetupResult,
  type SetupActionOptions,
  type SetupResult,
} from "./setup.js";
export {
  BILLING_CHECK_NAMES,
  CHECK_NAMES,
  MANAGEMENT_API_SCOPES,
  vDoctorReport,
  vDoctorCheck,
  type AuthTokenKind,
  type CheckName,
  type DoctorActionOptions,
  type DoctorCheck,
  type DoctorReport,
  type Verdict,
} from "./doctor.js";
export { DEFAULT_RETRY, type RetryPolicy } from "./managementApi.js";
export {
  vSignedInOrganization,
  vCanArgs,
  type SignedInOrganization,
  type CanArgs,
} from "./hostQueries.js";
export type { KindeRequirement, KindeFunctionContext } from "./customFunctions.js";
export type { MembershipCheck } from "./membership.js";
export type { BillingOf, EntitlementCheck } from "./billing.js";
export {
  vBilling,
  vBillingOwner,
  vEntitlement,
  vPlan,
  type BillingOwner,
  type KindeBilling,
  type KindeEntitlement,
  type KindePlan,
} from "../shared/billing.js";
export { ORG_CODE_CLAIM, organizationOf } from "./identity.js";
export { type BackfillStatus, vBackfillStatus } from "../shared/backfill.js";
export {
  vOutcome,
  vRecordedOutcome,
  vKindeEvent,
  vEventRecord,
  vSyncStatus,
  type KindeEvent,
  type EventRecord,
  type SyncStatus,
  type Outcome,
  type RecordedOutcome,
  MAX_CLOCK_SKEW_MS,
} from "../shared/events.js";
export {
  vUser,
  vOrganizationMembership,
  vOrganization,
  vOrganizationMember,
  vRole,
  vPermission,
  type EntityKind,
  type KindeUser,
  type OrganizationMembership,
  type KindeOrganization,
  type OrganizationMember,
  type KindeRole,
  type KindePermission,
} from "../shared/mirror.js";
export {
  CUSTOMER_EVENT_TYPES,
  MAX_UNMIRRORED_DATA_BYTES,
  MAX_UNMIRRORED_DATA_DEPTH,
  UNMIRRORED_EVENT_TYPES,
  type JsonObject,
  type JsonValue,
  type UnmirroredEvent,
  type UnmirroredEventData,
  type UnmirroredEventType,
} from "../shared/unmirroredEvents.js";
export type {
  NewEventTypes,
  OnlyNewEventTypes,
  UnmirroredEventHandler,
  UnmirroredEventHandlers,
} from "./unmirroredHandlers.js";
export {
  vMirrorEvent,
  vChangeOrigin,
  type MirrorEvent,
  type MirrorEventType,
  type ChangeOrigin,
} from "../shared/mirrorEvents.js";

/**
 * The data of the `ConvexError` thrown by `requireMember` / `requireRole` /
 * `requirePermission` / `requireEntitlement` and the custom functions:
 * `unauthenticated` when nobody is signed in, `forbidden` when the user does
 * not hold what was required (`role` or `permission` names it; with neither,
 * membership of `orgCode`), `notEntitled` when the customer the check is
 * about (the organization `orgCode`'s, or without it the user's own) has no
 * entitlement to `feature` in Kinde Billing.
 */
export type KindeAuthorizationErrorData =
  | { kind: "unauthenticated"; message: string }
  | {
      kind: "forbidden";
      message: string;
      orgCode: string;
      role?: string;
      permission?: string;
    }
  | { kind: "notEntitled"; message: string; feature: string; orgCode?: string };

/**
 * Whether `error` was thrown by `requireMember` / `requireRole` / `requirePermission` / `requireEntitlement`.
 *
 * ```ts
 * try { await kinde.requirePermission(ctx, { orgCode, permission: "write:docs" }); }
 * catch (error) { if (isKindeAuthorizationError(error) && error.data.kind === "forbidden") … }
 * ```
 */
export function isKindeAuthorizationError(
  error: unknown,
): error is ConvexError<KindeAuthorizationErrorData> {
  if (!(error instanceof ConvexError)) return false;
  const data: unknown = error.data;
  return (
    typeof data === "object" &&
    data !== null &&
    "kind" in data &&
    (data.kind === "unauthenticated" || data.kind === "forbidden" || data.kind === "notEntitled")
  );
}

/**
 * What an authorization check asks about. `kindeId` defaults to the signed-in
 * user, `orgCode` to the organization the signed-in token names (`org_code`,
 * in Kinde's access tokens).
 */
export interface RoleCheck {
  orgCode?: string;
  role: string;
  kindeId?: string;
}
/** What an authorization check asks about; defaults as in {@link RoleCheck}. */
export interface PermissionCheck {
  orgCode?: string;
  permission: string;
  kindeId?: string;
}

/** A hook for one type of change: the host's mutation ctx and the event, typed by its `type`. */
export type EventHandler<DataModel extends GenericDataModel, E extends MirrorEvent> = (
  ctx: GenericMutationCtx<DataModel>,
  event: E,
) => Promise<void> | void;

/**
 * What `kinde.events(...)` takes: at most one handler per type of change to
 * the mirror, and per Kinde event type the mirror does not mirror (those
 * Kinde documents, and the host's `Extra`).
 */
export type KindeEventHandlers<
  DataModel extends GenericDataModel = GenericDataModel,
  Extra extends string = never,
> = {
  [T in MirrorEventType]?: EventHandler<DataModel, Extract<MirrorEvent, { type: T }>>;
} & UnmirroredEventHandlers<DataModel, Extra>;

/**
 * What the host mutation `kinde.events(...)` makes takes: a change to the
 * mirror (`event`) or an event of a type the mirror does not mirror
 * (`unmirrored`). It runs the host's handler for its type, if any.
 */
export type EventHookArgs = {
  event?: MirrorEvent;
  unmirrored?: UnmirroredDelivery;
};

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
   *   `KINDE_ISSUER_URL` environment variable), `logLevel`, `retentionDays`,
   *   `enrichment` (docs/enrichment.md).
   */
  constructor(
    public component: ComponentApi,
    public options: KindeOptions = {},
  ) {
    // Checked when the module loads, so a bad value fails the deploy, not a refresh.
    enrichmentOf(options);
  }

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
   *
   * With event hooks (see {@link Kinde.events}):
   *
   * ```ts
   * import { internal } from "./_generated/api";
   * kinde.registerRoutes(http, { onEvent: internal.kinde.onKindeEvent });
   * ```
   *
   * @param options `path` to mount the route elsewhere; `onEvent`, the host
   *   mutation made by `kinde.events(...)`, run in the same transaction as each
   *   applied event; `refresh`, the host's `kinde.refreshAction()`: with the
   *   `enrichment` option, the events that may change what no webhook carries
   *   schedule it (docs/enrichment.md).
   */
  registerRoutes(
    http: HttpRouter,
    {
      path = DEFAULT_WEBHOOK_PATH,
      onEvent,
      refresh,
    }: { path?: string; onEvent?: EventHookReference; refresh?: RefreshActionReference } = {},
  ) {
    http.route({
      path,
      method: "POST",
      handler: webhookHandler(this.component, this.options, onEvent, refresh),
    });
  }

  /**
   * Declares the host's event hooks: code that runs when the component
   * changes the mirror, **inside the same transaction** as the change. If a
   * hook throws, nothing is written (neither the mirror nor your tables), the
   * webhook answers 500, and Kinde's retry applies the event (and runs the
   * hook) once. Hooks hear what happened to the mirror, in the shapes your
   * queries read: `user.created` when a user first appears (even if Kinde's
   * `user.updated` arrived first), `user.updated` when what you read of it
   * changed (with `event.previous`, what you read just before, to diff; every
   * `*.updated` has one), `user.deleted` when it is removed; `event.origin` says which
   * webhook event or backfill run made the change. Duplicate, stale, expired,
   * ignored and no-op events run no hook. Use `ctx.scheduler` for anything
   * slow or external.
   *
   * Kinde's event types the mirror does not mirror (`customer.*`,
   * `user.authentication_failed`, `subscriber.created`, …) take handlers
   * too: each gets Kinde's event (`UnmirroredEvent`: `{ type, eventId,
   * source?, occurredAt, ipAddress?, data }`, `data` as Kinde sent it, typed
   * where Kinde publishes its shape) and runs once per event, in the
   * transaction that records it (`delivered` in the event log; a type with
   * no handler stays `ignored`). A type Kinde adds later is named in the
   * second type argument: `kinde.events<DataModel, "customer.new_type">(…)`.
   *
   * Export the result and pass it to `registerRoutes`:
   *
   * ```ts
   * // convex/kinde.ts
   * import type { DataModel } from "./_generated/dataModel";
   *
   * export const onKindeEvent = kinde.events<DataModel>({
   *   "user.created": async (ctx, { user }) => {
   *     await ctx.db.insert("profiles", { kindeId: user.kindeId, plan: "free" });
   *   },
   *   "user.updated": async (ctx, event) => {
   *     const { user, previous } = event;
   *     if (user.isSuspended && !previous.isSuspended) {
   *       await ctx.scheduler.runAfter(0, internal.sessions.revoke, { kindeId: user.kindeId });
   *     }
   *   },
   *   "customer.plan_changed": async (ctx, { eventId, data }) => {
   *     await ctx.db.insert("billingEvents", { eventId, json: JSON.stringify(data) });
   *   },
   * });
   * ```
   *
   * @param handlers One optional handler per type of change, and per Kinde
   *   event type the mirror does not mirror, each given the host's mutation
   *   ctx and the event, typed by its `type`.
   */
  events<DataModel extends GenericDataModel = GenericDataModel>(
    handlers: KindeEventHandlers<DataModel>,
  ): RegisteredMutation<"internal", EventHookArgs, Promise<UnmirroredReceipt | null>>;
  // Types Kinde adds later are named (`Extra`), never inferred from the
  // handlers: inferred, any typo would be a new type. A second signature, so
  // the handlers of a call without `Extra` are typed without a generic.
  events<DataModel extends GenericDataModel, Extra extends string>(
    handlers: KindeEventHandlers<DataModel, Extra> & OnlyNewEventTypes<Extra>,
  ): RegisteredMutation<"internal", EventHookArgs, Promise<UnmirroredReceipt | null>>;
  events<DataModel extends GenericDataModel>(
    handlers: KindeEventHandlers<DataModel, string>,
  ): RegisteredMutation<"internal", EventHookArgs, Promise<UnmirroredReceipt | null>> {
    return internalMutationGeneric({
      args: { event: v.optional(vMirrorEvent), unmirrored: v.optional(vUnmirroredDelivery) },
      returns: v.union(v.null(), vUnmirroredReceipt),
      handler: async (ctx, { event, unmirrored }) => {
        const hostCtx = ctx as GenericMutationCtx<DataModel>;
        if (unmirrored) return await runUnmirroredHandler(handlers, hostCtx, unmirrored);
        if (!event) return null;
        const handler = handlers[event.type] as EventHandler<DataModel, MirrorEvent> | undefined;
        await handler?.(hostCtx, event);
        return null;
      },
    });
  }

  /**
   * The event log, newest first: every verified event once, with its outcome
   * (a `RecordedOutcome`: `applied`, `delivered`, `stale`, `expired`,
   * `ignored`, `future` or `failed`; a duplicate delivery is not recorded
   * again), the entity it is
   * about and Kinde's `webhook-id`.
   * Records are kept for the retention period. Every user's ids and sign-ins:
   * read it from an internal query (the dashboard, `npx convex run`), or check
   * the caller first.
   *
   * ```ts
   * export const recentEvents = internalQuery({
   *   args: { paginationOpts: paginationOptsValidator },
   *   handler: (ctx, { paginationOpts }) => kinde.listEvents(ctx, { paginationOpts }),
   * });
   * ```
   */
  async listEvents(
    ctx: RunQueryCtx,
    { paginationOpts }: { paginationOpts: PaginationOptions },
  ): Promise<PaginationResult<EventRecord>> {
    return await ctx.runQuery(this.component.events.listEvents, { paginationOpts });
  }

  /**
   * The events about one user, newest first: the answer to "why is this user
   * not (or no longer) in my table?". For internal queries, like the log.
   *
   * ```ts
   * const { page } = await kinde.listUserEvents(ctx, {
   *   kindeId: "kp_…",
   *   paginationOpts: { numItems: 20, cursor: null },
   * });
   * ```
   */
  async listUserEvents(
    ctx: RunQueryCtx,
    { kindeId, paginationOpts }: { kindeId: string; paginationOpts: PaginationOptions },
  ): Promise<PaginationResult<EventRecord>> {
    return await ctx.runQuery(this.component.events.listEntityEvents, {
      entityKind: "user",
      entityId: kindeId,
      paginationOpts,
    });
  }

  /**
   * The events about one entity, newest first, named as the event log names
   * it: `entityId` is the organization's code, or the user's, role's or
   * permission's Kinde id (not a role's key).
   *
   * ```ts
   * await kinde.listEntityEvents(ctx, {
   *   entityKind: "organization",
   *   entityId: "org_…",
   *   paginationOpts,
   * });
   * ```
   */
  async listEntityEvents(
    ctx: RunQueryCtx,
    args: { entityKind: EntityKind; entityId: string; paginationOpts: PaginationOptions },
  ): Promise<PaginationResult<EventRecord>> {
    return await ctx.runQuery(this.component.events.listEntityEvents, args);
  }

  /**
   * Builds the backfill: an internal action that brings the mirror to the
   * truth of Kinde's Management API (roles, permissions, organizations, users,
   * each organization's members), resumably and safely alongside webhooks.
   * Export it and run it with `npx convex run`:
   *
   * ```ts
   * // convex/kinde.ts
   * export const backfill = kinde.backfillAction();
   * ```
   * ```sh
   * npx convex run kinde:backfill                        # or '{"reconcile": true}'
   * ```
   *
   * It reads `KINDE_MANAGEMENT_CLIENT_ID`, `KINDE_MANAGEMENT_CLIENT_SECRET` and
   * (optionally) `KINDE_DOMAIN` from the environment when it runs. One run at
   * a time: starting it while a run is under way reports that run. A run that
   * failed or stopped resumes where it stopped (`{"restart": true}` starts over).
   * A wait Kinde needs that is longer than a few seconds (a 429's
   * `Retry-After`, a 5xx backoff) is not slept: the action stops, the run's
   * status says until when (`waiting`), and its continuation is scheduled then.
   *
   * @param options `timeBudgetMs`: how long one action works before scheduling
   *   its continuation (default 5 minutes; actions may run 10). `retry`: how
   *   often and how patiently each Management API request is retried
   *   (`{ attempts, baseDelayMs, maxDelayMs, rateLimitAttempts, maxRateLimitWaitMs,
   *   requestTimeoutMs }`, each optional; see docs/backfill.md, "Options of a
   *   run"). `onEvent`:
   *   the hook `registerRoutes` takes (`internal.kinde.onKindeEvent`), run once
   *   for each change the backfill makes, with `origin: { kind: "backfill", runId }`.
   */
  backfillAction(options: BackfillActionOptions = {}) {
    return backfillAction(this.component, this.options, options);
  }

  /**
   * Builds the refresh of enrichment and billing (the `enrichment` and
   * `billing` options): an internal action that reads one user's or
   * organization's details and properties, and with billing its customer's
   * entitlements and plans, from Kinde's Management API and writes them to
   * the mirror, unless a later fetch got there first. The component
   * schedules it after the webhooks that may change them (`user.*`,
   * `organization.*`, `customer.*`; `registerRoutes(http, { refresh })`); run
   * it by hand, or sweep every user and organization from a cron with
   * `{ kind: "all" }` (a listing page per scheduled action):
   *
   * ```ts
   * // convex/kinde.ts
   * export const refresh = kinde.refreshAction({ onEvent: internal.kinde.onKindeEvent });
   * ```
   * ```sh
   * npx convex run kinde:refresh '{"kind": "user", "entityId": "kp_…"}'
   * npx convex run kinde:refresh '{"kind": "all"}'
   * ```
   *
   * It uses the backfill's machine-to-machine credentials (scopes
   * `read:users`, `read:user_properties` / `read:organization_properties`
   * for properties, `read:organizations` / `read:billing_entitlements` for
   * billing). A wait Kinde needs past a few seconds schedules it again
   * then; a failure past the retries, or a missing scope, is logged with its
   * cause and ends it. See docs/enrichment.md.
   *
   * @param options `onEvent`: the hook `registerRoutes` takes, which hears
   *   `user.updated` / `organization.updated` with `origin: { kind: "refresh",
   *   fetchedAt }` (and `billing.updated`) when a refresh changes what you read. `retry`: as for
   *   {@link Kinde.backfillAction}.
   */
  refreshAction(options: RefreshActionOptions = {}) {
    return refreshAction(this.component, this.options, options);
  }

  /**
   * Builds setup: an internal action that registers this deployment's webhook
   * in Kinde (endpoint `CONVEX_SITE_URL` + the route's path, every event type
   * the mirror uses), or adds the missing event types to the webhook already
   * pointing there. Never creates a second webhook for the same endpoint, so
   * running it again changes nothing. Export it and run it per deployment:
   *
   * ```ts
   * // convex/kinde.ts
   * export const setup = kinde.setupAction();
   * ```
   * ```sh
   * npx convex run kinde:setup '{"dryRun": true}'   # print the plan, change nothing
   * npx convex run kinde:setup
   * ```
   *
   * It uses the backfill's machine-to-machine credentials, with the scopes
   * `read:webhooks`, `create:webhooks`, `update:webhooks` (and optionally
   * `read:event_types`); a missing one is named. When Kinde asks for a wait
   * longer than a few seconds, it stops at once, saying when to run it again.
   *
   * @param options `path`: where `registerRoutes` mounted the webhook (default
   *   `/kinde/webhook`). `retry`: as for {@link Kinde.backfillAction}.
   *   `eventTypes`: Kinde event types to register besides the mirror's, those
   *   your `events` handlers handle (`["customer.plan_changed"]`); one Kinde
   *   does not offer is left out, with a warning.
   */
  setupAction(options: SetupActionOptions = {}) {
    return setupAction(this.options, { ...options, path: options.path ?? DEFAULT_WEBHOOK_PATH });
  }

  /**
   * Builds the doctor: an internal action that checks the whole setup (issuer
   * URL and its discovery document, key set, machine-to-machine credentials
   * and scopes, the webhook in Kinde, the last event received, the event log,
   * the backfill) and returns a checklist, each line with a verdict (`ok`,
   * `warn`, `fail`), what it found and the fix. It also logs it.
   *
   * ```ts
   * // convex/kinde.ts
   * export const doctor = kinde.doctorAction();
   * ```
   * ```sh
   * npx convex run kinde:doctor
   * ```
   *
   * @param options `path`: as for {@link Kinde.setupAction}. `auth`: which
   *   Kinde token the React client hands Convex (`{ tokenType: "id" }` or
   *   `{ tokenType: "access", audience }`), to check what `auth.config.ts` needs.
   *   `retry`: as for {@link Kinde.backfillAction}.
   */
  doctorAction(options: DoctorActionOptions = {}) {
    return doctorAction(this.component, this.options, {
      ...options,
      path: options.path ?? DEFAULT_WEBHOOK_PATH,
    });
  }

  /**
   * The latest backfill run, reactive: phase, pages and rows written, when it
   * started, finished or last made progress, and its last error. Null if no
   * backfill ever ran.
   *
   * Its errors name Kinde's API and your tenant: read it from an internal query.
   *
   * ```ts
   * export const backfillStatus = internalQuery({ args: {}, handler: (ctx) => kinde.getBackfillStatus(ctx) });
   * ```
   */
  async getBackfillStatus(ctx: RunQueryCtx): Promise<BackfillStatus | null> {
    return await ctx.runQuery(this.component.backfill.getStatus, {});
  }

  /**
   * A cheap health summary: the last event recorded (when, which type, what
   * became of it), how many users and organizations are mirrored, and how
   * many verified events were recorded but not applied (`unappliedEvents`,
   * `lastUnappliedEvent`: outcome `failed` or `future`). Reading it costs a
   * few documents, however large the tenant.
   *
   * `lastEvent` and `lastUnappliedEvent` name the user they are about:
   * expose only the counts and times, or read it from an internal query.
   *
   * ```ts
   * export const syncStatus = internalQuery({ args: {}, handler: (ctx) => kinde.getSyncStatus(ctx) });
   * // { lastEvent: { type: "user.updated", outcome: "applied", receivedAt, … }, users: 1042, organizations: 17, unappliedEvents: 0, lastUnappliedEvent: null }
   * ```
   */
  async getSyncStatus(ctx: RunQueryCtx): Promise<SyncStatus> {
    return await ctx.runQuery(this.component.status.getSyncStatus, {});
  }

  /**
   * The mirrored user with this Kinde id (`kp_…`, the `sub` of Kinde tokens),
   * or null. Reactive in queries. Anyone's profile, email and phone: a public
   * query returns the caller's own ({@link Kinde.getAuthUser}), or checks first.
   *
   * ```ts
   * export const userById = internalQuery({
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
    return identity ? await this.getUser(ctx, identity.subject) : null;
  }

  /**
   * The mirrored user with this email, compared case-insensitively, or null.
   * Kinde users may have no email (phone-only sign-in); they are never found here.
   * A public query that answers it tells anyone whether an address is a user.
   *
   * ```ts
   * const user = await kinde.getUserByEmail(ctx, "Ada@Example.com");
   * ```
   */
  async getUserByEmail(ctx: RunQueryCtx, email: string): Promise<KindeUser | null> {
    return await ctx.runQuery(this.component.users.getUserByEmail, { email });
  }

  /**
   * The mirrored user with this phone number, or null. Kinde stores phones in
   * E.164 (`+442071838750`); spaces, dashes, dots and parentheses in `phone`
   * are ignored and a leading `+` kept, so `"+44 20 7183-8750"` finds it.
   * Users without a phone are never found here, nor is anyone by an empty
   * `phone`. A public query that answers it tells anyone whether a number is a user.
   *
   * ```ts
   * const user = await kinde.getUserByPhone(ctx, "+44 (20) 7183-8750");
   * ```
   */
  async getUserByPhone(ctx: RunQueryCtx, phone: string): Promise<KindeUser | null> {
    return await ctx.runQuery(this.component.users.getUserByPhone, { phone });
  }

  /**
   * A page of mirrored users, oldest first. The result has the shape of
   * Convex's paginated queries, so a host query that returns it works with
   * `usePaginatedQuery`. Every user's email and phone: for internal queries,
   * or a public one that checks an admin permission first.
   *
   * ```ts
   * export const users = internalQuery({
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

  /**
   * A mirrored organization by its code (`org_…`), or null.
   *
   * ```ts
   * const org = await kinde.getOrganization(ctx, "org_1a2b3c4d5e6");
   * ```
   */
  async getOrganization(ctx: RunQueryCtx, code: string): Promise<KindeOrganization | null> {
    return await ctx.runQuery(this.component.organizations.getOrganization, { code });
  }

  /**
   * A page of mirrored organizations, by code. Works with `usePaginatedQuery`.
   * Every organization: for internal queries (a user's own are in
   * {@link Kinde.userQueries}' `organizations`).
   *
   * ```ts
   * export const organizations = internalQuery({
   *   args: { paginationOpts: paginationOptsValidator },
   *   handler: (ctx, { paginationOpts }) => kinde.listOrganizations(ctx, { paginationOpts }),
   * });
   * ```
   */
  async listOrganizations(
    ctx: RunQueryCtx,
    { paginationOpts }: { paginationOpts: PaginationOptions },
  ): Promise<PaginationResult<KindeOrganization>> {
    return await ctx.runQuery(this.component.organizations.listOrganizations, { paginationOpts });
  }

  /**
   * A page of an organization's members: each user's profile with the role
   * and permission keys held in that organization. Pages through an index, so
   * its cost does not grow with the size of the organization. Their emails
   * and phones: check that the caller is a member first.
   *
   * ```ts
   * export const members = query({
   *   args: { orgCode: v.string(), paginationOpts: paginationOptsValidator },
   *   handler: async (ctx, args) => {
   *     await kinde.requireMember(ctx, { orgCode: args.orgCode });
   *     return await kinde.listOrganizationMembers(ctx, args);
   *   },
   * });
   * ```
   */
  async listOrganizationMembers(
    ctx: RunQueryCtx,
    { orgCode, paginationOpts }: { orgCode: string; paginationOpts: PaginationOptions },
  ): Promise<PaginationResult<OrganizationMember>> {
    return await ctx.runQuery(this.component.organizations.listMembers, {
      orgCode,
      paginationOpts,
    });
  }

  /**
   * Kinde's role catalog, by key (filled by `role.*` events).
   *
   * ```ts
   * const roles = await kinde.listRoles(ctx); // [{ kindeId, key: "admin", name: "Admin", … }]
   * ```
   */
  async listRoles(ctx: RunQueryCtx): Promise<KindeRole[]> {
    return await ctx.runQuery(this.component.catalog.listRoles, {});
  }

  /**
   * Kinde's permission catalog, by key (filled by `permission.*` events).
   *
   * ```ts
   * const permissions = await kinde.listPermissions(ctx);
   * ```
   */
  async listPermissions(ctx: RunQueryCtx): Promise<KindePermission[]> {
    return await ctx.runQuery(this.component.catalog.listPermissions, {});
  }

  /**
   * The queries a client needs about the signed-in user, to export from one
   * module in one line; the hooks of `convex-kinde/react` take that module:
   *
   * ```ts
   * // convex/kindeUser.ts
   * export const { user, organizations, can } = kinde.userQueries();
   * ```
   * ```tsx
   * const canPublish = useHasPermission(api.kindeUser, "publish:docs", { orgCode });
   * ```
   *
   * - `user`: the signed-in user's mirrored profile, or null.
   * - `organizations`: the user's organizations with name, handle, the role
   *   and permission keys held there, and `isCurrent` for the token's
   *   `org_code`.
   * - `can({ permission | role, orgCode? })`: {@link Kinde.hasPermission}
   *   or {@link Kinde.hasRole} for the signed-in user.
   *
   * All three are reactive: a webhook that changes the user re-runs them.
   */
  userQueries() {
    return userQueries(this);
  }

  /**
   * A query builder in the style of convex-helpers' `customQuery`, for
   * queries about the signed-in user: `ctx.kinde` holds the mirrored `user`,
   * the `orgCode` the call is about (an optional argument every such query
   * takes, defaulting to the token's `org_code`) and the user's `membership`
   * there. Name `member: true`, a `permission` or a `role` next to `args` to
   * refuse everyone else with the same errors as {@link Kinde.requireMember}
   * and {@link Kinde.requirePermission}; a query that reads an organization's
   * data names one, since anyone can call a public query with any `orgCode`.
   *
   * ```ts
   * // convex/functions.ts
   * export const orgQuery = kinde.customQuery(query);
   *
   * // convex/docs.ts: for every member of the organization
   * export const list = orgQuery({
   *   member: true,
   *   args: {},
   *   handler: async (ctx) =>
   *     await ctx.db.query("docs").withIndex("orgCode", (q) => q.eq("orgCode", ctx.kinde.orgCode!)).take(50),
   * });
   * ```
   */
  customQuery<DataModel extends GenericDataModel, Visibility extends FunctionVisibility>(
    query: QueryBuilder<DataModel, Visibility>,
  ) {
    return customQuery(query, kindeCustomization<DataModel>(this));
  }

  /** The mutation builder matching {@link Kinde.customQuery}: same `ctx.kinde`, same checks. */
  customMutation<DataModel extends GenericDataModel, Visibility extends FunctionVisibility>(
    mutation: MutationBuilder<DataModel, Visibility>,
  ) {
    return customMutation(mutation, kindeCustomization<DataModel>(this));
  }

  /**
   * Whether the user (default: the signed-in user) holds the role `role`
   * (a key, like `"admin"`) in the organization `orgCode` (default: the
   * `org_code` of the signed-in token). False when nobody is signed in, when
   * no organization is given or named by the token, for unknown and suspended
   * users, and for deleted organizations and roles. Reactive, and a few point
   * reads whatever the size of the tenant.
   *
   * With a `kindeId`, it answers about someone else: keep that on the server
   * (internal functions, your own checks). A public query that passes its
   * caller's `kindeId` argument through tells anyone who holds what.
   *
   * ```ts
   * if (await kinde.hasRole(ctx, { orgCode, role: "admin" })) { … }
   * ```
   */
  async hasRole(ctx: RunQueryAuthCtx, { role, ...given }: RoleCheck): Promise<boolean> {
    const { kindeId, orgCode } = await checkTarget(ctx.auth, given);
    if (kindeId === null || orgCode === null) return false;
    return await ctx.runQuery(this.component.authorization.hasRole, {
      kindeId,
      orgCode,
      key: role,
    });
  }

  /**
   * Whether the user (default: the signed-in user) holds the permission
   * `permission` (a key, like `"write:docs"`) in the organization `orgCode`
   * (default: the token's `org_code`). Same rules as {@link Kinde.hasRole}, and
   * the same warning: do not expose it with a caller-chosen `kindeId`.
   *
   * ```ts
   * const canEdit = await kinde.hasPermission(ctx, { orgCode, permission: "write:docs" });
   * ```
   */
  async hasPermission(
    ctx: RunQueryAuthCtx,
    { permission, ...given }: PermissionCheck,
  ): Promise<boolean> {
    const { kindeId, orgCode } = await checkTarget(ctx.auth, given);
    if (kindeId === null || orgCode === null) return false;
    return await ctx.runQuery(this.component.authorization.hasPermission, {
      kindeId,
      orgCode,
      key: permission,
    });
  }

  /**
   * Throws unless the user (default: the signed-in user) is a member of the
   * organization `orgCode` (default: the token's `org_code`): not suspended,
   * and the organization not deleted. The refusals are those of
   * {@link Kinde.requireRole}, `{ kind: "forbidden", orgCode }` naming no role
   * or permission. Returns the Kinde user id that was checked. Call it before
   * reading an organization's data in a public query: anyone can call it with
   * any `orgCode`.
   *
   * ```ts
   * export const members = query({
   *   args: { orgCode: v.string(), paginationOpts: paginationOptsValidator },
   *   handler: async (ctx, args) => {
   *     await kinde.requireMember(ctx, { orgCode: args.orgCode });
   *     return await kinde.listOrganizationMembers(ctx, args);
   *   },
   * });
   * ```
   */
  async requireMember(ctx: RunQueryAuthCtx, check: MembershipCheck = {}): Promise<string> {
    return await requireMember(ctx, this.component, check);
  }

  /**
   * Throws unless the user holds the role: a `ConvexError` whose data is
   * `{ kind: "unauthenticated" }` when nobody is signed in (and no `kindeId`
   * was given), or `{ kind: "forbidden", orgCode, role }`. Returns the Kinde
   * user id that was checked. Call it first thing in a mutation. `orgCode`
   * defaults to the token's `org_code`; with neither, it throws an `Error`
   * (a mistake in the code, not a refusal).
   *
   * ```ts
   * export const removeMember = mutation({
   *   args: { orgCode: v.string(), kindeId: v.string() },
   *   handler: async (ctx, { orgCode, kindeId }) => {
   *     await kinde.requireRole(ctx, { orgCode, role: "admin" });
   *     // … only admins of orgCode get here
   *   },
   * });
   * ```
   */
  async requireRole(ctx: RunQueryAuthCtx, { role, ...given }: RoleCheck): Promise<string> {
    const { kindeId, orgCode } = await requireTarget(ctx.auth, given, "requireRole");
    if (!(await this.hasRole(ctx, { kindeId, orgCode, role }))) {
      throw forbidden(orgCode, { role });
    }
    return kindeId;
  }

  /**
   * Throws unless the user holds the permission; see {@link Kinde.requireRole}.
   * Returns the Kinde user id that was checked.
   *
   * ```ts
   * export const publish = mutation({
   *   args: { orgCode: v.string(), docId: v.id("docs") },
   *   handler: async (ctx, { orgCode, docId }) => {
   *     await kinde.requirePermission(ctx, { orgCode, permission: "publish:docs" });
   *     await ctx.db.patch("docs", docId, { published: true });
   *   },
   * });
   * ```
   */
  async requirePermission(
    ctx: RunQueryAuthCtx,
    { permission, ...given }: PermissionCheck,
  ): Promise<string> {
    const { kindeId, orgCode } = await requireTarget(ctx.auth, given, "requirePermission");
    if (!(await this.hasPermission(ctx, { kindeId, orgCode, permission }))) {
      throw forbidden(orgCode, { permission });
    }
    return kindeId;
  }

  /**
   * A billing customer's plans and entitlements as last fetched from Kinde
   * Billing: an organization's (B2B) or a user's (B2C), or null when it is
   * not a customer or was not fetched yet. What a customer pays for: read it
   * for the caller's own organization or account, or from an internal query.
   *
   * ```ts
   * export const plan = query({
   *   args: { orgCode: v.string() },
   *   handler: async (ctx, { orgCode }) => {
   *     await kinde.requireMember(ctx, { orgCode });
   *     return await kinde.getBilling(ctx, { orgCode }); // { customerId, plans, entitlements, … }
   *   },
   * });
   * ```
   */
  async getBilling(ctx: RunQueryCtx, of: BillingOf): Promise<KindeBilling | null> {
    return await getBilling(ctx, this.component, of);
  }

  /**
   * Whether the customer a check is about holds the entitlement to `feature`
   * (the feature's code in Kinde Billing): with an organization (`orgCode`,
   * default the token's `org_code`) the organization's customer, for a member
   * of it; without one, the user's own customer. False when nobody is signed
   * in, for unknown and suspended users, non-members and deleted
   * organizations. Reactive, and a few point reads whatever the size of the
   * tenant or the number of entitlements. Do not expose it with a
   * caller-chosen `kindeId` (see {@link Kinde.hasRole}).
   *
   * ```ts
   * const canExport = await kinde.hasEntitlement(ctx, { feature: "csv-export", orgCode });
   * ```
   */
  async hasEntitlement(ctx: RunQueryAuthCtx, check: EntitlementCheck): Promise<boolean> {
    return await hasEntitlement(ctx, this.component, check);
  }

  /**
   * The entitlement a check is about, with its limits (`limitMin`,
   * `limitMax` for a metered feature), or null when
   * {@link Kinde.hasEntitlement} would say false.
   *
   * ```ts
   * const seats = await kinde.getEntitlement(ctx, { feature: "seats", orgCode });
   * if (seats?.limitMax !== undefined && used >= seats.limitMax) throw new Error("No seats left");
   * ```
   */
  async getEntitlement(
    ctx: RunQueryAuthCtx,
    check: EntitlementCheck,
  ): Promise<KindeEntitlement | null> {
    return await getEntitlement(ctx, this.component, check);
  }

  /**
   * Throws unless the check passes, and returns the entitlement: a
   * `ConvexError` whose data is `{ kind: "unauthenticated" }` when nobody is
   * signed in, `{ kind: "forbidden", orgCode }` when the user is not a
   * member of the organization, or `{ kind: "notEntitled", feature,
   * orgCode? }` when its customer (or, with no organization, the user's own)
   * has no such entitlement.
   *
   * ```ts
   * export const exportCsv = mutation({
   *   args: { orgCode: v.string() },
   *   handler: async (ctx, { orgCode }) => {
   *     await kinde.requireEntitlement(ctx, { feature: "csv-export", orgCode });
   *     // … only organizations whose plan includes csv-export get here
   *   },
   * });
   * ```
   */
  async requireEntitlement(
    ctx: RunQueryAuthCtx,
    check: EntitlementCheck,
  ): Promise<KindeEntitlement> {
    return await requireEntitlement(ctx, this.component, check);
  }
}
