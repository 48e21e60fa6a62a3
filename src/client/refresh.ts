/**
 * The host's refresh action (`kinde.refreshAction()`): fetches what Kinde's
 * Management API knows of one user or organization that no webhook carries
 * and hands it to the component, versioned by `enrichment.begin`. The
 * component schedules it after the webhooks that may change it; the host
 * runs it by hand, and, with `{ kind: "all" }`, as a sweep of every user and
 * organization from a cron, a listing page per scheduled action.
 *
 * A wait Kinde needs that is longer than an action sleeps schedules the
 * action again at its end, with the tries spent (so the retry policy bounds
 * them in all); a failure past the retries, or a refusal (a missing scope),
 * is logged and ends it: nothing loops.
 */
import { v, type Infer } from "convex/values";
import {
  createFunctionHandle,
  internalActionGeneric,
  type GenericActionCtx,
  type GenericDataModel,
} from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";
import { vPagingState } from "../shared/backfill.js";
import { messageOf } from "../shared/errors.js";
import { enrichmentOf, logLevelOf, managementConfig, type Enrichment } from "./config.js";
import {
  applyUserFetches,
  detailsOfListed,
  ENRICHMENT_PAGE_SIZE,
  readPropertiesPage,
  refreshOrganizationProperties,
  usersExpand,
  type AppliedUsers,
} from "./enrichmentPages.js";
import { ENRICHMENT_SCOPES, readUser } from "./enrichmentReads.js";
import {
  customerIdsOfListed,
  readOrganizationCustomerId,
  readUserCustomerId,
} from "./billingReads.js";
import { refreshCustomer, refreshCustomers } from "./billingRefresh.js";
import type { BillingOwner } from "../shared/billing.js";
import { createLogger, type Logger } from "./log.js";
import {
  ManagementApi,
  ManagementApiError,
  retryPolicy,
  type RetryPolicy,
} from "./managementApi.js";
import { followPaging } from "./paging.js";
import type { KindeOptions } from "./types.js";
import { scheduleContinuation, WaitRequired } from "./waits.js";
import type { EventHookReference } from "./webhook.js";

/** Organizations a sweep page lists: each costs a properties request, so a page stays well within an action. */
export const SWEEP_ORGANIZATIONS_PAGE_SIZE = 100;

/** Where a sweep goes on: the listing it is in and its position there. */
export const vSweepPosition = v.object({
  /** `users`: details, `GET /api/v1/users`; `userProperties`: the search listing; `organizations`: their properties. */
  phase: v.union(v.literal("users"), v.literal("userProperties"), v.literal("organizations")),
  /** Kinde's `next_token` (`starting_after`, a user id, in `userProperties`). */
  cursor: v.optional(v.string()),
  paging: v.optional(vPagingState),
  /** `organizations`: the last organization of the page already refreshed. */
  after: v.optional(v.string()),
  /** Pages swept so far, for the log. */
  pages: v.number(),
});
export type SweepPosition = Infer<typeof vSweepPosition>;

export const vRefreshArgs = {
  /** `user` or `organization` with its `entityId` (a Kinde id, an organization code); `all`: the sweep. */
  kind: v.union(v.literal("user"), v.literal("organization"), v.literal("all")),
  entityId: v.optional(v.string()),
  /** Set by the action itself, after a wait: the tries the waiting request has spent. */
  tries: v.optional(
    v.object({ request: v.string(), failures: v.number(), rateLimited: v.number() }),
  ),
  /** Set by the sweep's own continuation. */
  sweep: v.optional(vSweepPosition),
};

export const vRefreshResult = v.object({
  outcome: v.union(
    /** Read from Kinde and handed to the component (`applied`, `stale`, `missing` say what it did). */
    v.literal("refreshed"),
    /** The entity is not mirrored, or was deleted: nothing read. */
    v.literal("not mirrored"),
    /** Kinde no longer has it: nothing written (its deletion's webhook removes it). */
    v.literal("gone"),
    /** Neither the `enrichment` option keeps anything of this kind, nor is `billing` on. */
    v.literal("nothing to fetch"),
    /** Kinde needs a wait: the action runs again at `resumesAt`. */
    v.literal("waiting"),
    /** Kinde failed past the retries, or refused (`error` says why): logged, not retried. */
    v.literal("failed"),
    /** The sweep did a page and scheduled the next. */
    v.literal("continuing"),
    /** The sweep is done. */
    v.literal("swept"),
  ),
  applied: v.number(),
  stale: v.number(),
  missing: v.number(),
  /** Management API requests this action made, retries included. */
  requests: v.number(),
  resumesAt: v.optional(v.number()),
  error: v.optional(v.string()),
  /**
   * With the `billing` option, what became of the entity's billing customer:
   * `applied` / `stale` / `missing` as the component answered, `no customer`
   * (Kinde names none), `failed` (past the mirror's bounds, `error` says which).
   */
  billing: v.optional(
    v.union(
      v.literal("applied"),
      v.literal("stale"),
      v.literal("missing"),
      v.literal("no customer"),
      v.literal("failed"),
    ),
  ),
});
export type RefreshResult = Infer<typeof vRefreshResult>;

/** How the host's refresh action works; every field is optional. */
export interface RefreshActionOptions {
  /** Retries of each Management API request (as the backfill's); unset fields keep their defaults. */
  retry?: Partial<RetryPolicy>;
  /**
   * The hook `registerRoutes(http, { onEvent })` takes: it hears
   * `user.updated` / `organization.updated` when a refresh changes what the
   * host reads, with `origin: { kind: "refresh", fetchedAt }`.
   */
  onEvent?: EventHookReference;
}

type Args = {
  kind: "user" | "organization" | "all";
  entityId?: string;
  tries?: { request: string; failures: number; rateLimited: number };
  sweep?: SweepPosition;
};

const NONE = { applied: 0, stale: 0, missing: 0 };

/** Builds the host's refresh action (see `Kinde.refreshAction`). */
export function refreshAction(
  component: ComponentApi,
  options: KindeOptions,
  { retry: retryOverrides, onEvent }: RefreshActionOptions = {},
) {
  // Checked when the module loads, so a bad value fails the deploy, not a refresh.
  const retry = retryPolicy(retryOverrides, "refreshAction");
  const enrichment = enrichmentOf(options);
  const billing = options.billing === true;
  let onEventHandle: string | undefined;
  return internalActionGeneric({
    args: vRefreshArgs,
    returns: vRefreshResult,
    handler: async (ctx, args: Args): Promise<RefreshResult> => {
      const log = createLogger(logLevelOf(options, args.kind === "all" ? "task" : "webhook"));
      if (args.kind !== "all" && !args.entityId) {
        throw new Error(
          `refresh: { kind: "${args.kind}" } needs the ${args.kind === "user" ? "user's Kinde id" : "organization's code"} as \`entityId\``,
        );
      }
      const enriched =
        enrichment !== null &&
        (args.kind === "organization"
          ? enrichment.organizations
          : args.kind === "user"
            ? enrichment.users
            : enrichment.users || enrichment.organizations);
      const wanted = enriched || billing;
      if (!wanted) {
        log.info(
          `refresh: the enrichment option keeps nothing of ${args.kind === "all" ? "users or organizations" : `this ${args.kind}`}${billing ? "" : " and billing is off"}; nothing fetched`,
        );
        return { outcome: "nothing to fetch", ...NONE, requests: 0 };
      }
      onEventHandle ??= onEvent && (await createFunctionHandle(onEvent));
      const api = new ManagementApi(managementConfig(options, "The refresh"), retry, {
        tries: args.tries,
      });
      // Where the sweep is, kept current as it goes, for a continuation after a wait.
      const resume: Args = { ...args };
      const context: RefreshContext = {
        ctx,
        component,
        api,
        enrichment: enriched ? enrichment : null,
        billing,
        log,
        onEvent: onEventHandle,
      };
      const what = args.kind === "all" ? "sweep" : `${args.kind} ${args.entityId}`;
      try {
        if (args.kind === "all") return await sweepPage(context, resume);
        return await refreshEntity(context, args.kind, args.entityId!);
      } catch (error) {
        if (error instanceof WaitRequired) {
          const { resumesAt, reason, tries } = error;
          await scheduleContinuation(ctx, resumesAt, { ...resume, tries });
          log.info(
            `refresh: ${what} waits until ${new Date(resumesAt).toISOString()} (${reason}); it runs again by itself then`,
          );
          return { outcome: "waiting", ...NONE, requests: api.requests, resumesAt };
        }
        if (!(error instanceof ManagementApiError)) throw error;
        const message = messageOf(error);
        log.error(`refresh: ${what} failed, and is not retried until its next trigger: ${message}`);
        return { outcome: "failed", ...NONE, requests: api.requests, error: message };
      }
    },
  });
}

interface RefreshContext {
  ctx: GenericActionCtx<GenericDataModel>;
  component: ComponentApi;
  api: ManagementApi;
  /** What enrichment keeps of this kind of entity; null: nothing. */
  enrichment: Enrichment | null;
  /** Whether the `billing` option is on. */
  billing: boolean;
  log: Logger;
  onEvent: string | undefined;
}

/**
 * Refreshes one user or organization: `enrichment.begin` versions the fetch
 * (and says whether the entity is mirrored at all), then it is read and
 * handed to the component.
 */
async function refreshEntity(
  context: RefreshContext,
  kind: "user" | "organization",
  entityId: string,
): Promise<RefreshResult> {
  const begun = await context.ctx.runMutation(context.component.enrichment.begin, {
    kind,
    entityId,
  });
  if (begun === null) return { outcome: "not mirrored", ...NONE, requests: 0 };
  return kind === "user"
    ? await fetchUser(context, entityId, begun.fetchedAt)
    : await fetchOrganization(context, entityId, begun.fetchedAt);
}

/**
 * Reads a user (a fetch begun at `fetchedAt`) and hands it to the
 * component: what enrichment keeps, then, with billing, its customer. The
 * customer id comes with the details' read (`expand=billing`), or from a
 * read of its own when no details are kept.
 */
async function fetchUser(
  context: RefreshContext,
  kindeId: string,
  fetchedAt: number,
): Promise<RefreshResult> {
  const { ctx, component, api, enrichment, billing, log, onEvent } = context;
  const gone = (): RefreshResult => {
    log.info(
      `refresh: Kinde has no user ${kindeId}; nothing written (its user.deleted removes it)`,
    );
    return { outcome: "gone", ...NONE, requests: api.requests };
  };
  let applied: AppliedUsers = { ...NONE };
  let customerId: string | null | undefined;
  if (enrichment) {
    const read = await readUser(api, kindeId, enrichment, log, { billing });
    if (read === null) return gone();
    const { customerId: readId, ...parts } = read;
    customerId = readId;
    applied = await applyUserFetches(ctx, component, fetchedAt, [{ kindeId, ...parts }], {
      onEvent,
    });
    log.debug(`refresh: user ${kindeId} ${describe(applied)}`);
  }
  if (!billing) return { outcome: "refreshed", ...applied, requests: api.requests };
  if (customerId === undefined) {
    const read = await readUserCustomerId(api, kindeId);
    if (read === null) return gone();
    customerId = read.customerId;
  }
  return await withBilling(context, { kind: "user", kindeId }, customerId, fetchedAt, applied);
}

/** The billing part of a refresh of `owner`, and the refresh's result with it. */
async function withBilling(
  context: RefreshContext,
  owner: BillingOwner,
  customerId: string | null,
  fetchedAt: number,
  counts: AppliedUsers,
): Promise<RefreshResult> {
  const done = await refreshCustomer(context, owner, customerId, fetchedAt);
  return {
    outcome: "refreshed",
    ...counts,
    requests: context.api.requests,
    billing: done.outcome,
    ...(done.error !== undefined && { error: done.error }),
  };
}

/**
 * Reads an organization (a fetch begun at `fetchedAt`) and hands it to the
 * component: its properties when enrichment keeps them, then, with billing,
 * its customer (`GET /api/v1/organization?code=…&expand=billing`).
 */
async function fetchOrganization(
  context: RefreshContext,
  orgCode: string,
  fetchedAt: number,
): Promise<RefreshResult> {
  const { ctx, component, api, enrichment, billing, log, onEvent } = context;
  let counts = { ...NONE };
  if (enrichment?.organizationProperties) {
    const outcome = await refreshOrganizationProperties(
      ctx,
      component,
      api,
      orgCode,
      enrichment.organizationProperties,
      log,
      { onEvent },
      fetchedAt,
    );
    if (outcome === "gone") return { outcome: "gone", ...NONE, requests: api.requests };
    counts = { ...NONE, [outcome]: 1 };
  }
  if (!billing) return { outcome: "refreshed", ...counts, requests: api.requests };
  const read = await readOrganizationCustomerId(api, orgCode);
  if (read === null) {
    log.info(
      `refresh: Kinde has no organization ${orgCode}; nothing written (its organization.deleted removes it)`,
    );
    return { outcome: "gone", ...counts, requests: api.requests };
  }
  const owner = { kind: "organization" as const, orgCode };
  return await withBilling(context, owner, read.customerId, fetchedAt, counts);
}

function describe({ applied, stale, missing }: AppliedUsers) {
  return `${applied} applied, ${stale} stale (a later fetch was there first), ${missing} not mirrored`;
}

/** What the sweep reads: each listing's phase, as the options need it. */
function sweptPhases({ enrichment, billing }: Pick<RefreshContext, "enrichment" | "billing">) {
  return {
    // Billing's user customer ids ride on the users listing (`expand=billing`).
    users: (enrichment !== null && enrichment.details.length > 0) || billing,
    userProperties: enrichment?.userProperties != null,
    organizations: enrichment?.organizationProperties != null || billing,
  };
}

/** The sweep's first position: the first listing the options need. */
function firstPhase(context: RefreshContext): SweepPosition | null {
  const wanted = sweptPhases(context);
  const phase = wanted.users
    ? "users"
    : wanted.userProperties
      ? "userProperties"
      : wanted.organizations
        ? "organizations"
        : null;
  return phase && { phase, pages: 0 };
}

/** The listing after `phase`'s, or null when the sweep is done. */
function phaseAfter(
  context: RefreshContext,
  phase: SweepPosition["phase"],
  pages: number,
): SweepPosition | null {
  const wanted = sweptPhases(context);
  if (phase === "users" && wanted.userProperties) return { phase: "userProperties", pages };
  if (phase !== "organizations" && wanted.organizations) return { phase: "organizations", pages };
  return null;
}

/**
 * One page of the sweep, then its continuation scheduled at once: a page of
 * users' details (`GET /api/v1/users`, identities expanded when kept), of
 * their properties (the search listing), or of organizations, each one's
 * properties read. Every user's part is versioned by when its page request
 * began; an organization's by when its own request began.
 */
async function sweepPage(context: RefreshContext, resume: Args): Promise<RefreshResult> {
  const { ctx, component, api, enrichment, billing, log, onEvent } = context;
  if (!resume.sweep) log.info("refresh: sweep started");
  const at: SweepPosition = { ...(resume.sweep ?? firstPhase(context)!) };
  resume.sweep = at;
  let next: SweepPosition | null;
  let applied: AppliedUsers = { ...NONE };
  switch (at.phase) {
    case "users": {
      const fetchedAt = Date.now();
      const body = await api.get(
        "/api/v1/users",
        {
          page_size: String(ENRICHMENT_PAGE_SIZE),
          next_token: at.cursor,
          expand: usersExpand(enrichment, billing ? ["billing"] : []),
        },
        ENRICHMENT_SCOPES.users,
      );
      if (enrichment) {
        const users = detailsOfListed(body.users, enrichment, log);
        applied = await applyUserFetches(ctx, component, fetchedAt, users, { onEvent });
      }
      if (billing) {
        const customers = customerIdsOfListed(body.users).map(({ kindeId, customerId }) => ({
          owner: { kind: "user" as const, kindeId },
          customerId,
        }));
        await refreshCustomers(context, fetchedAt, customers);
      }
      const paged = followPaging(
        at.paging,
        at.cursor,
        body.next_token,
        Array.isArray(body.users) ? body.users.length : 0,
      );
      next =
        "next" in paged
          ? { phase: "users", cursor: paged.next, paging: paged.paging, pages: at.pages + 1 }
          : phaseAfter(context, "users", at.pages + 1);
      break;
    }
    case "userProperties": {
      const fetchedAt = Date.now();
      const page = await readPropertiesPage(
        api,
        at.cursor,
        at.paging,
        enrichment!.userProperties!,
        log,
      );
      applied = await applyUserFetches(ctx, component, fetchedAt, page.users, { onEvent });
      next = page.next
        ? { phase: "userProperties", ...page.next, pages: at.pages + 1 }
        : phaseAfter(context, "userProperties", at.pages + 1);
      break;
    }
    case "organizations": {
      const body = await api.get(
        "/api/v1/organizations",
        { page_size: String(SWEEP_ORGANIZATIONS_PAGE_SIZE), next_token: at.cursor },
        "read:organizations",
      );
      const codes = (Array.isArray(body.organizations) ? (body.organizations as unknown[]) : [])
        .map((o) =>
          typeof o === "object" && o !== null ? (o as { code?: unknown }).code : undefined,
        )
        .filter((code): code is string => typeof code === "string" && code.trim() !== "");
      const start = at.after === undefined ? 0 : codes.indexOf(at.after) + 1;
      for (const orgCode of codes.slice(start)) {
        const result = await fetchOrganization(context, orgCode, Date.now());
        applied.applied += result.applied;
        applied.stale += result.stale;
        applied.missing += result.missing;
        // After a wait, the sweep goes on after the organizations already done.
        at.after = orgCode;
      }
      const paged = followPaging(at.paging, at.cursor, body.next_token, codes.length);
      next =
        "next" in paged
          ? {
              phase: "organizations",
              cursor: paged.next,
              paging: paged.paging,
              pages: at.pages + 1,
            }
          : null;
      break;
    }
  }
  log.info(`refresh: sweep ${at.phase} page ${at.pages + 1}: ${describe(applied)}`);
  if (next === null) {
    log.info(`refresh: sweep done (${at.pages + 1} pages)`);
    return { outcome: "swept", ...applied, requests: api.requests };
  }
  await scheduleContinuation(ctx, Date.now(), { kind: "all", sweep: next });
  return { outcome: "continuing", ...applied, requests: api.requests };
}
