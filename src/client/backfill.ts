/**
 * The backfill, host side: an action that pages Kinde's Management API and
 * hands each page to the component, which writes it in one mutation together
 * with the run's position. The action works for a few minutes, then schedules
 * itself to continue, so a tenant of any size finishes without hitting
 * Convex's action time limit, and a crash or deploy resumes from the last page.
 * When Kinde needs a wait longer than an action sleeps (a 429 asking for
 * minutes, a 5xx backoff past a few seconds), the action stops there, the run
 * records the wait, and the continuation is scheduled for when it ends.
 */
import { v, type Infer } from "convex/values";
import { parse } from "convex-helpers/validators";
import {
  createFunctionHandle,
  internalActionGeneric,
  type FunctionReturnType,
  type GenericActionCtx,
  type GenericDataModel,
} from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";
import { chunkByCost, largerOf, NO_COST, pageRowCost } from "../component/budget.js";
import {
  backfillRowId,
  MAX_PERMISSIONS_PER_ROLE,
  vBackfillStatus,
  vTransactionShares,
  type BackfillMember,
  type BackfillPage,
  type BackfillRow,
  type BackfillRowsPage,
  type TransactionShares,
  type BackfillPosition,
  type BackfillStatus,
  type BackfillUser,
  type PagingState,
  type SkippedMemberships,
} from "../shared/backfill.js";
import { MAX_CATALOG_SIZE, type KeyRef } from "../shared/mirror.js";
import { MAX_ORGANIZATIONS_PER_USER } from "../shared/userLimits.js";
import {
  identifier,
  kindeProfileFields,
  text,
  toKeyRefs,
  toKeys,
  toOrganizationSnapshot,
  toPermissionSnapshot,
  toProfile,
  toRoleSnapshot,
  vKindeCatalogEntry,
  vKindeOrganization,
  vKindeText,
  withoutUndefined,
} from "./kindePayloads.js";
import { createLogger, type Logger } from "./log.js";
import { enrichmentOf, logLevelOf, managementConfig } from "./config.js";
import {
  ManagementApi,
  ManagementApiError,
  retryPolicy,
  type RetryPolicy,
} from "./managementApi.js";
import { scheduleContinuation, WaitRequired } from "./waits.js";
import { followPaging, type PagingStep } from "./paging.js";
import {
  applyUserFetches,
  detailsOfListed,
  readPropertiesPage,
  refreshOrganizationProperties,
  usersExpand,
} from "./enrichmentPages.js";
import type { KindeOptions } from "./types.js";
import type { EventHookReference } from "./webhook.js";
import { messageOf } from "../shared/errors.js";
import { customerIdsOfListed, readOrganizationCustomerId } from "./billingReads.js";
import { refreshCustomers, type BillingDeps } from "./billingRefresh.js";

/** Kinde's largest page size for list endpoints. */
export const PAGE_SIZE = 500;

/**
 * The users phase's cursor while it reads the users' properties (the
 * enrichment option's `userProperties`): this prefix, then the last user id
 * read (the search listing pages with `starting_after`, not a `next_token`).
 */
const PROPERTIES_CURSOR = "properties:";
const propertiesCursor = (afterId: string | undefined) => `${PROPERTIES_CURSOR}${afterId ?? ""}`;
const isPropertiesCursor = (cursor: string | undefined) =>
  cursor?.startsWith(PROPERTIES_CURSOR) ?? false;
const propertiesAfter = (cursor: string | undefined) =>
  cursor?.slice(PROPERTIES_CURSOR.length) || undefined;

/** The Management API scopes a backfill reads with, as the spec names them; the doctor checks them. */
export const BACKFILL_SCOPES = {
  roles: "read:roles",
  rolePermissions: "read:role_permissions",
  permissions: "read:permissions",
  organizations: "read:organizations",
  users: "read:users",
  organizationUsers: "read:organization_users",
  /** Only with `exactPermissions`: one request per membership. */
  organizationUserPermissions: "read:organization_user_permissions",
} as const;

/** How long one action invocation works before scheduling its continuation (actions may run 10 minutes). */
export const DEFAULT_TIME_BUDGET_MS = 5 * 60_000;

export const vBackfillArgs = {
  /** After a complete pass, remove users and organizations Kinde no longer has. */
  reconcile: v.optional(v.boolean()),
  /**
   * Read each member's permissions in each organization from Kinde (one request
   * per membership, scope `read:organization_user_permissions`) instead of
   * expanding their roles, so permissions granted directly are mirrored too.
   */
  exactPermissions: v.optional(v.boolean()),
  /** Start a new run even if the last one failed or stopped part-way (default: resume it). */
  restart: v.optional(v.boolean()),
  /** Set by the action's own continuation. */
  runId: v.optional(v.string()),
};

export const vBackfillResult = v.object({
  /** `running`: another run is under way and was left alone. */
  outcome: v.union(
    v.literal("started"),
    v.literal("resumed"),
    v.literal("continued"),
    v.literal("running"),
  ),
  /** Whether this invocation scheduled a continuation (the run is not finished yet). */
  continuing: v.boolean(),
  run: vBackfillStatus,
  /** Management API requests this invocation made, retries included. */
  requests: v.number(),
  /** Convex function calls (queries and mutations of the component) this invocation made. */
  functionCalls: v.number(),
  /** The largest share of each per-transaction limit any mutation of this invocation used (0..1). */
  transactionShares: vTransactionShares,
});
export type BackfillResult = Infer<typeof vBackfillResult>;

// ---- Management API listings, validated loosely and mapped (cleaning rules: ./kindePayloads.ts) ----

/** A user as `GET /api/v1/users?expand=organizations` lists it: organization codes only. */
const vApiUser = v.object({
  ...kindeProfileFields,
  /** What the single-user endpoint calls the email. */
  preferred_email: vKindeText,
  organizations: v.optional(v.union(v.array(v.string()), v.null())),
});
/** A member as `GET /api/v1/organizations/{code}/users` lists it: role keys only. */
const vApiOrganizationUser = v.object({
  id: v.string(),
  roles: v.optional(v.union(v.array(v.string()), v.null())),
});
/** A permission as `GET /api/v1/organizations/{code}/users/{id}/permissions` lists it. */
const vApiMemberPermission = v.object({ id: v.string(), key: v.string() });

/**
 * Parses and maps each item, dropping (and reporting) the ones without the
 * fields the mirror needs, or with an empty identifier.
 */
function parseItems<V extends Parameters<typeof parse>[0], R>(
  validator: V,
  items: unknown,
  toRow: (item: Infer<V>, path: string) => R,
  onInvalid: (message: string) => void,
): R[] {
  if (!Array.isArray(items)) return [];
  return items.flatMap((item, index) => {
    try {
      return [toRow(parse(validator, item), `items[${index}]`)];
    } catch (error) {
      onInvalid(messageOf(error));
      return [];
    }
  });
}

export function toBackfillUser(user: Infer<typeof vApiUser>, path = "user"): BackfillUser {
  const profile = toProfile(user, path);
  return withoutUndefined({
    ...profile,
    email: profile.email ?? text(user.preferred_email),
    orgCodes: toKeys(user.organizations),
  });
}

export function toMember(
  user: Infer<typeof vApiOrganizationUser>,
  path = "member",
): BackfillMember {
  return { kindeId: identifier(user.id, `${path}.id`), roleKeys: toKeys(user.roles) };
}

/**
 * The rows of a page still to write: after `resumeAfter`, the last row a
 * stopped run wrote of this page. If that row is gone from the page (Kinde's
 * data moved since), the whole page is written again: re-applying a row is a
 * no-op.
 */
export function rowsAfter<R extends BackfillRow>(rows: R[], resumeAfter: string | undefined): R[] {
  if (resumeAfter === undefined) return rows;
  const index = rows.findIndex((row) => backfillRowId(row) === resumeAfter);
  return index === -1 ? rows : rows.slice(index + 1);
}

/**
 * Whether `error`, from listing an organization's members, says Kinde no longer
 * has the organization. A 404 does. Kinde's spec documents 400 (an
 * `error_response`, `{ errors: [{ code, message }] }`) rather than 404 for
 * this endpoint, and a 400 can also mean our request was wrong (a page size,
 * a stale `next_token`): so a 400 is confirmed by asking for the organization
 * itself, one request per vanished organization. If Kinde still has it, the
 * 400 is a real failure: this throws, saying so.
 */
export async function organizationIsGone(
  api: Pick<ManagementApi, "get">,
  orgCode: string,
  error: unknown,
): Promise<boolean> {
  if (!(error instanceof ManagementApiError)) return false;
  if (error.status === 404) return true;
  if (error.status !== 400) return false;
  try {
    await api.get("/api/v1/organization", { code: orgCode }, BACKFILL_SCOPES.organizations);
  } catch (confirmation) {
    if (
      confirmation instanceof ManagementApiError &&
      (confirmation.status === 400 || confirmation.status === 404)
    ) {
      return true;
    }
    throw confirmation;
  }
  throw new ManagementApiError(
    `${error.message} (Kinde still has organization ${orgCode}: the request was refused, not the organization deleted)`,
    400,
  );
}

/** How many members' permissions are read at once: a handful, to stay clear of Kinde's concurrency limiter. */
export const MEMBER_PERMISSION_READS_AT_ONCE = 4;

/**
 * Each member's permissions in `orgCode` as Kinde lists them (direct grants and
 * those through roles), one request per member. Any failure fails the run, as
 * a member list's would: resuming reads the page again.
 */
async function withExactPermissions(
  api: ManagementApi,
  orgCode: string,
  members: BackfillMember[],
  log: Logger,
): Promise<BackfillMember[]> {
  const read = async (member: BackfillMember): Promise<BackfillMember> => {
    const body = await api.get(
      `/api/v1/organizations/${encodeURIComponent(orgCode)}/users/${encodeURIComponent(member.kindeId)}/permissions`,
      {},
      BACKFILL_SCOPES.organizationUserPermissions,
    );
    const listed = parseItems(
      vApiMemberPermission,
      body.permissions,
      (permission) => permission,
      (message) =>
        log.warn(`backfill: skipped a permission of ${member.kindeId} in ${orgCode}: ${message}`),
    );
    return { ...member, permissions: toKeyRefs(listed) };
  };
  const result: BackfillMember[] = [];
  for (let i = 0; i < members.length; i += MEMBER_PERMISSION_READS_AT_ONCE) {
    const batch = members.slice(i, i + MEMBER_PERMISSION_READS_AT_ONCE);
    // Every read of the batch settles before one's failure (or wait) ends the action: none is left running.
    const settled = await Promise.allSettled(batch.map(read));
    for (const outcome of settled) {
      if (outcome.status === "rejected") throw outcome.reason;
      result.push(outcome.value);
    }
  }
  return result;
}

// ---- The run ----

interface Step {
  page?: BackfillPage;
  /** Where the run goes once the page is written; absent: it stays at the page (its rows written). */
  next?: BackfillPosition;
  /** For a members page: when it was read, and whether it is the step's last reading of it. */
  reading?: PageReading;
}

interface PageReading {
  /** The action's request count once Kinde had answered the page (see `ManagementApi.requests`). */
  at: number;
  /** Outdated or not, this reading is written: keys no role holds are kept by key alone. */
  final: boolean;
}

type MembersPage = Extract<BackfillPage, { kind: "members" }>;

/**
 * How many times one step reads a members page whose role keys Kinde's roles,
 * read after it, do not list. Each reading needs Kinde to rename a role while
 * it is in flight; the last is written with such keys kept by key alone (a
 * member Kinde lists with a role it does not list is written all the same).
 */
const MEMBERS_PAGE_READINGS = 3;

/**
 * A members page names a role key that Kinde's roles, read after the page,
 * do not list: Kinde renamed (or deleted) the role after answering the page,
 * so the page is outdated. Nothing of it was written; the step reads it again.
 */
class OutdatedMembersPage extends Error {
  constructor(
    readonly orgCode: string,
    readonly keys: string[],
    /** The run as the page's last written rows left it. */
    readonly run: BackfillStatus,
  ) {
    super(
      `the members page of organization ${orgCode} names role key(s) Kinde no longer lists (${listed(keys)}): renamed since the page was read`,
    );
  }
}

/** The first few of `keys`, for a log line. */
const listed = (keys: string[]) => `${keys.slice(0, 5).join(", ")}${keys.length > 5 ? ", …" : ""}`;

type Advanced = FunctionReturnType<ComponentApi["backfill"]["advance"]>;

/**
 * Whether a page's write failed for a reason that is not in its rows, so
 * writing them one at a time would only repeat it (and blame a row): the page
 * is outdated, or reading Kinde's roles again needs a wait or failed
 * (a missing scope, Kinde's 5xx after its retries).
 */
function isNotTheRows(error: unknown): boolean {
  return (
    error instanceof OutdatedMembersPage ||
    error instanceof WaitRequired ||
    error instanceof ManagementApiError
  );
}

/**
 * Writes pages through the component's `advance`: a page of rows in as many
 * mutations as its rows cost (split up front by {@link pageRowCost}, and
 * continued wherever the component stopped at its measured budget), resumed
 * after the last row a stopped run wrote. A mutation that fails is retried a
 * row at a time; a row that fails alone twice fails the run, named, instead
 * of failing the same way on every resume.
 */
function pageWriter(
  ctx: GenericActionCtx<GenericDataModel>,
  component: ComponentApi,
  log: Logger,
  onEvent: string | undefined,
  /** The roles as Kinde lists them now (see `readRolesAgain`). */
  readRoles: (unknownKeys: string[]) => Promise<KeyRef[]>,
  /** How many Management API requests this action has made: orders a page and a reading of the roles. */
  requests: () => number,
) {
  let shares: TransactionShares = NO_COST;
  const measured = <R extends { shares: TransactionShares }>(result: R) => {
    shares = largerOf(shares, result.shares);
    return result;
  };
  const send = async (run: BackfillStatus, page?: BackfillPage, next?: BackfillPosition) =>
    measured(
      await ctx.runMutation(component.backfill.advance, { runId: run.runId, page, next, onEvent }),
    );
  /**
   * The roles read again in this action, once a members page named a key the
   * catalog lacks, and the request count before the reading began.
   */
  let rolesReadAgain: { roles: KeyRef[]; startedAt: number } | undefined;
  const withRoles = (page: MembersPage, roles: KeyRef[]) => {
    const keys = new Set(page.items.flatMap((m) => m.roleKeys));
    return { ...page, roles: roles.filter((r) => keys.has(r.key)) };
  };
  /**
   * Every role a member is written with has its id (see `advance`). A key the
   * component cannot place is looked up in the roles as Kinde lists them now;
   * if a reading begun after Kinde answered the page lacks it too, the page
   * is older than a rename and is read again ({@link OutdatedMembersPage}).
   */
  const call = async (
    run: BackfillStatus,
    page?: BackfillPage,
    next?: BackfillPosition,
    reading: PageReading = { at: 0, final: false },
  ) => {
    if (page?.kind !== "members") return await send(run, page, next);
    let keepUnknownRoleKeys = false;
    for (;;) {
      const sent = rolesReadAgain ? withRoles(page, rolesReadAgain.roles) : page;
      const result = await send(
        run,
        keepUnknownRoleKeys ? { ...sent, keepUnknownRoleKeys } : sent,
        next,
      );
      if (!result.unknownRoleKeys) return result;
      if (rolesReadAgain && rolesReadAgain.startedAt >= reading.at) {
        if (!reading.final)
          throw new OutdatedMembersPage(page.orgCode, result.unknownRoleKeys, run);
        log.warn(
          `backfill: the members of organization ${page.orgCode} named role key(s) that Kinde's roles, read after them, do not list (${listed(result.unknownRoleKeys)}), in each of ${MEMBERS_PAGE_READINGS} readings; writing those roles by key alone, without their permissions, until Kinde's next user.updated for their holders`,
        );
        keepUnknownRoleKeys = true;
        continue;
      }
      const startedAt = requests();
      rolesReadAgain = { roles: await readRoles(result.unknownRoleKeys), startedAt };
    }
  };

  async function alone(
    run: BackfillStatus,
    page: BackfillRowsPage,
    next: BackfillPosition | undefined,
    reading: PageReading | undefined,
  ): Promise<Advanced> {
    try {
      return await call(run, page, next, reading);
    } catch (error) {
      if (isNotTheRows(error)) throw error;
      const message = messageOf(error);
      throw new Error(
        `${page.kind} row ${backfillRowId(page.items[0]!)} failed twice in a mutation of its own, so the run stops here instead of failing the same way on every resume: ${message}`,
        { cause: error },
      );
    }
  }

  async function writeRows(
    run: BackfillStatus,
    page: BackfillRowsPage,
    next: BackfillPosition | undefined,
    reading: PageReading | undefined,
  ): Promise<BackfillStatus> {
    const withItems = (items: BackfillRow[]) => ({ ...page, items }) as BackfillRowsPage;
    const chunks = chunkByCost(rowsAfter<BackfillRow>(page.items, run.resumeAfter), (row) =>
      pageRowCost(page.kind, row),
    );
    if (chunks.length === 0) return (await call(run, withItems([]), next, reading)).run;
    let current = run;
    for (const [index, chunk] of chunks.entries()) {
      let pending = chunk;
      let oneByOne = false;
      while (pending.length > 0) {
        const rows = oneByOne ? pending.slice(0, 1) : pending;
        const target =
          index === chunks.length - 1 && rows.length === pending.length ? next : undefined;
        let result: Advanced;
        try {
          result = await call(current, withItems(rows), target, reading);
        } catch (error) {
          if (isNotTheRows(error)) throw error;
          const message = messageOf(error);
          if (rows.length > 1) {
            log.warn(
              `backfill: ${rows.length} ${page.kind} rows failed together (${message}); writing them one at a time`,
            );
            oneByOne = true;
            continue;
          }
          log.warn(
            `backfill: ${page.kind} row ${backfillRowId(rows[0]!)} failed (${message}); retrying it once`,
          );
          result = await alone(current, withItems(rows), target, reading);
        }
        current = result.run;
        pending = pending.slice(result.applied);
      }
    }
    return current;
  }

  return {
    /** The host's hook, for the enrichment the backfill hands the component. */
    onEvent,
    /** The largest share of each per-transaction limit any mutation so far used. */
    get shares() {
      return shares;
    },
    async advance(run: BackfillStatus, { page, next, reading }: Step): Promise<BackfillStatus> {
      if (page && page.kind !== "rolePermissions") return await writeRows(run, page, next, reading);
      return (await call(run, page, next)).run;
    },
    async reconcile(run: BackfillStatus, retentionDays: number | undefined) {
      const result = await ctx.runMutation(component.backfill.reconcileBatch, {
        runId: run.runId,
        retentionDays,
        onEvent,
      });
      return measured(result).run;
    },
  };
}
type PageWriter = ReturnType<typeof pageWriter>;

/** How the host's backfill action works; every field is optional. */
export interface BackfillActionOptions {
  /** How long one action works (and may sleep through Kinde's waits) before scheduling its continuation. */
  timeBudgetMs?: number;
  /** Retries of each Management API request; unset fields keep their defaults. */
  retry?: Partial<RetryPolicy>;
  /**
   * The same hook `registerRoutes(http, { onEvent })` takes: it runs for each
   * change the backfill or its reconciliation makes, with `origin.kind` "backfill".
   */
  onEvent?: EventHookReference;
}

/** Builds the host's backfill action (see `Kinde.backfillAction`). */
export function backfillAction(
  component: ComponentApi,
  options: KindeOptions,
  {
    timeBudgetMs = DEFAULT_TIME_BUDGET_MS,
    retry: retryOverrides,
    onEvent,
  }: BackfillActionOptions = {},
) {
  // Checked when the module loads, so a bad value fails the deploy, not a run.
  const retry = retryPolicy(retryOverrides);
  let onEventHandle: string | undefined;
  return internalActionGeneric({
    args: vBackfillArgs,
    returns: vBackfillResult,
    handler: async (actionCtx, args): Promise<BackfillResult> => {
      // Counts the component calls, for the result (and the benchmark's calls per 1,000 users).
      let functionCalls = 0;
      const ctx: GenericActionCtx<GenericDataModel> = {
        ...actionCtx,
        runQuery: ((query, queryArgs) => {
          functionCalls++;
          return actionCtx.runQuery(query, queryArgs);
        }) as typeof actionCtx.runQuery,
        runMutation: ((mutation, mutationArgs) => {
          functionCalls++;
          return actionCtx.runMutation(mutation, mutationArgs);
        }) as typeof actionCtx.runMutation,
      };
      const log = createLogger(logLevelOf(options, "task"));
      // Read before the run starts, so missing credentials are named before anything is written.
      const config = managementConfig(options);
      onEventHandle ??= onEvent && (await createFunctionHandle(onEvent));
      const started = await ctx.runMutation(component.backfill.start, {
        reconcile: args.reconcile ?? false,
        exactPermissions: args.exactPermissions,
        restart: args.restart,
        runId: args.runId,
      });
      let run = started.run;
      const deadline = Date.now() + timeBudgetMs;
      // The tries of the request the run waited on count on after the wait.
      const api = new ManagementApi(config, retry, { deadline, tries: started.waited?.tries });
      const writer = pageWriter(
        ctx,
        component,
        log,
        onEventHandle,
        (keys) => readRolesAgain(api, log, keys),
        () => api.requests,
      );
      const result = (continuing: boolean): BackfillResult => ({
        outcome: started.outcome,
        continuing,
        run,
        requests: api.requests,
        functionCalls,
        transactionShares: writer.shares,
      });
      if (started.outcome === "running") {
        log.info(
          `backfill: run ${run.runId} is already under way (phase ${run.phase}, ${run.pages} pages${run.waiting ? `, waiting until ${new Date(run.waiting.resumesAt).toISOString()}: ${run.waiting.reason}` : ""}); not starting another`,
        );
        return result(false);
      }
      log.info(`backfill: ${started.outcome} run ${run.runId} at phase ${run.phase}`);
      const continuation = { reconcile: run.reconcile, runId: run.runId };
      try {
        while (run.status === "running") {
          run = await step(ctx, component, writer, api, run, options, log);
          if (run.status === "running" && Date.now() >= deadline) {
            // Hand over to a fresh action before Convex's time limit: the run's
            // position is already stored, so the continuation picks up from it.
            await scheduleContinuation(ctx, Date.now(), continuation);
            log.info(`backfill: continuing run ${run.runId} in a new action (${progress(run)})`);
            return result(true);
          }
        }
      } catch (error) {
        if (error instanceof WaitRequired) {
          // Sleeping through it could outlive the action: stop at the last written page instead.
          const { resumesAt, reason, tries } = error;
          run = await ctx.runMutation(component.backfill.wait, {
            runId: run.runId,
            waiting: { resumesAt, reason, tries },
          });
          await scheduleContinuation(ctx, resumesAt, continuation);
          log.info(
            `backfill: run ${run.runId} waits until ${new Date(resumesAt).toISOString()} (${reason}); it continues by itself then (${progress(run)})`,
          );
          return result(true);
        }
        const message = messageOf(error);
        await ctx.runMutation(component.backfill.fail, { runId: run.runId, error: message });
        log.error(`backfill: run ${run.runId} failed at phase ${run.phase}: ${message}`);
        throw error;
      }
      log.info(`backfill: run ${run.runId} done (${progress(run)})`);
      return result(false);
    },
  });
}

function progress(run: BackfillStatus) {
  const c = run.counts;
  return `${run.pages} pages: ${c.users} users, ${c.organizations} organizations, ${c.memberships} memberships, ${c.roles} roles, ${c.permissions} permissions written (${c.unchanged} of them unchanged), ${c.skipped} skipped, ${c.removed} removed`;
}

/** Names the users a members page skipped memberships of, at the limit per user. */
function warnOfSkippedMemberships(
  log: Logger,
  orgCode: string,
  before: SkippedMemberships | undefined,
  after: SkippedMemberships | undefined,
) {
  const skipped = (after?.count ?? 0) - (before?.count ?? 0);
  if (skipped <= 0) return;
  const earlier = new Map(before?.users.map((u) => [u.kindeId, u.count]));
  const users = (after?.users ?? [])
    .filter((u) => u.count > (earlier.get(u.kindeId) ?? 0))
    .map((u) => `${u.kindeId} (${u.count} skipped so far)`);
  log.warn(
    `backfill: skipped ${skipped} membership(s) in organization ${orgCode}: the user already holds ${MAX_ORGANIZATIONS_PER_USER} organizations, the most convex-kinde mirrors per user (MAX_ORGANIZATIONS_PER_USER)${users.length > 0 ? `: ${users.join(", ")}` : ""}. getBackfillStatus().skippedMemberships counts them by user.`,
  );
}

const warnOfSkipped = (log: Logger, what: string) => (message: string) =>
  log.warn(`backfill: skipped a ${what} Kinde listed without the expected fields: ${message}`);

function warnOfRepeatedToken(log: Logger, paged: PagingStep, path: string) {
  if ("end" in paged && paged.end === "repeated token") {
    log.warn(
      `backfill: GET ${path} returned a next_token it had returned before; ending that listing there`,
    );
  }
}

/**
 * Every item of a catalog listing, up to `limit`, read within one action (so
 * its paging state stays there): one role's permissions, or the roles.
 */
async function readCatalog<T extends KeyRef>(
  api: ManagementApi,
  log: Logger,
  path: string,
  field: "roles" | "permissions",
  scope: string,
  map: (entry: Infer<typeof vKindeCatalogEntry>, path: string) => T,
  limit: number,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  let paging: PagingState | undefined;
  do {
    const body = await api.get(path, { page_size: String(PAGE_SIZE), next_token: cursor }, scope);
    const what = field === "roles" ? "role" : "permission";
    items.push(...parseItems(vKindeCatalogEntry, body[field], map, warnOfSkipped(log, what)));
    if (items.length >= limit) break;
    const listed = Array.isArray(body[field]) ? (body[field] as unknown[]).length : 0;
    const paged = followPaging(paging, cursor, body.next_token, listed);
    warnOfRepeatedToken(log, paged, path);
    [cursor, paging] = "next" in paged ? [paged.next, paged.paging] : [undefined, undefined];
  } while (cursor);
  return items.slice(0, limit);
}

/**
 * The roles as Kinde lists them now, for a members page naming a role by a key
 * the catalog does not know: a role renamed since the run read the roles.
 */
async function readRolesAgain(api: ManagementApi, log: Logger, keys: string[]) {
  const roles = await readCatalog(
    api,
    log,
    "/api/v1/roles",
    "roles",
    BACKFILL_SCOPES.roles,
    toRoleSnapshot,
    MAX_CATALOG_SIZE,
  );
  log.info(
    `backfill: members named ${keys.length} role key(s) the catalog does not know (${listed(keys)}: renamed since the run read the roles?); read the roles again`,
  );
  return roles.map(({ kindeId, key }): KeyRef => ({ kindeId, key }));
}

/** Does the next unit of work of the run's phase and returns the run after it. */
async function step(
  ctx: GenericActionCtx<GenericDataModel>,
  component: ComponentApi,
  writer: PageWriter,
  api: ManagementApi,
  run: BackfillStatus,
  options: KindeOptions,
  log: Logger,
): Promise<BackfillStatus> {
  const advance = async (step: Step) => await writer.advance(run, step);
  const enrichment = enrichmentOf(options);
  const billing = options.billing === true;
  const hook = { onEvent: writer.onEvent, runId: run.runId };
  const billingDeps: BillingDeps = { ctx, component, api, log, ...hook };
  /**
   * Writes `page` and holds the run at it while `enrich` hands the page's
   * enrichment to the component, then moves the run to `next`: a run that
   * stops in between reads the page again and enriches it again.
   */
  const advanceEnriched = async (
    page: BackfillRowsPage,
    next: BackfillPosition,
    enrich: () => Promise<unknown>,
  ) => {
    const written = await advance({ page });
    await enrich();
    return await writer.advance(written, { next });
  };
  /** Where the run goes after the users (and their properties). */
  const afterUsers = async (): Promise<BackfillPosition> => {
    const firstOrg = await ctx.runQuery(component.backfill.nextOrganization, {});
    return firstOrg
      ? { phase: "memberships", orgCode: firstOrg }
      : { phase: run.reconcile ? "reconcile" : "done" };
  };
  const warn = (what: string) => warnOfSkipped(log, what);
  const warnOfLoop = (paged: PagingStep, path: string) => warnOfRepeatedToken(log, paged, path);
  /** One page of the listing the run is in; `next` is where the listing continues, if it does. */
  const list = async (
    path: string,
    field: string,
    scope: string,
    query: Record<string, string> = {},
  ) => {
    const sent = run.cursor;
    const body = await api.get(
      path,
      { page_size: String(PAGE_SIZE), next_token: sent, ...query },
      scope,
    );
    const items = body[field];
    const paged = followPaging(
      run.paging,
      sent,
      body.next_token,
      Array.isArray(items) ? items.length : 0,
    );
    warnOfLoop(paged, path);
    const next = "next" in paged ? { cursor: paged.next, paging: paged.paging } : undefined;
    return { items, next };
  };

  /** One page of an organization's members, and the request count once Kinde answered it. */
  const readMembers = async (orgCode: string) => {
    let members: BackfillMember[] = [];
    let next: Pick<BackfillPosition, "cursor" | "paging"> | undefined;
    let vanished = false;
    try {
      const page = await list(
        `/api/v1/organizations/${encodeURIComponent(orgCode)}/users`,
        "organization_users",
        BACKFILL_SCOPES.organizationUsers,
      );
      members = parseItems(vApiOrganizationUser, page.items, toMember, warn("member"));
      next = page.next;
    } catch (error) {
      if (!(await organizationIsGone(api, orgCode, error))) throw error;
      log.warn(
        `backfill: organization ${orgCode} is in the mirror but gone from Kinde (${(error as Error).message}); skipping its members. A reconcile run removes it.`,
      );
      vanished = true;
    }
    const readAt = api.requests;
    if (run.exactPermissions) members = await withExactPermissions(api, orgCode, members, log);
    const page: MembersPage = {
      kind: "members",
      orgCode,
      items: members,
      ...(vanished ? { vanished: true as const } : {}),
    };
    return { page, next, readAt };
  };

  switch (run.phase) {
    case "roles": {
      const { items, next } = await list("/api/v1/roles", "roles", BACKFILL_SCOPES.roles);
      const roles = parseItems(vKindeCatalogEntry, items, toRoleSnapshot, warn("role"));
      return await advance({
        page: { kind: "roles", items: roles },
        next: next ? { phase: "roles", ...next } : { phase: "rolePermissions" },
      });
    }
    case "rolePermissions": {
      const roleId = await ctx.runQuery(component.backfill.nextRole, { after: run.cursor });
      if (roleId === null) return await advance({ next: { phase: "permissions" } });
      const permissions = await readCatalog(
        api,
        log,
        `/api/v1/roles/${encodeURIComponent(roleId)}/permissions`,
        "permissions",
        BACKFILL_SCOPES.rolePermissions,
        toPermissionSnapshot,
        MAX_PERMISSIONS_PER_ROLE,
      );
      return await advance({
        page: {
          kind: "rolePermissions",
          roleId,
          permissions: permissions.map(({ kindeId, key }) => ({ kindeId, key })),
        },
        next: { phase: "rolePermissions", cursor: roleId },
      });
    }
    case "permissions": {
      const { items, next } = await list(
        "/api/v1/permissions",
        "permissions",
        BACKFILL_SCOPES.permissions,
      );
      const permissions = parseItems(
        vKindeCatalogEntry,
        items,
        toPermissionSnapshot,
        warn("permission"),
      );
      return await advance({
        page: { kind: "permissions", items: permissions },
        next: next ? { phase: "permissions", ...next } : { phase: "organizations" },
      });
    }
    case "organizations": {
      const { items, next } = await list(
        "/api/v1/organizations",
        "organizations",
        BACKFILL_SCOPES.organizations,
      );
      const organizations = parseItems(
        vKindeOrganization,
        items,
        toOrganizationSnapshot,
        warn("organization"),
      );
      const page: BackfillRowsPage = { kind: "organizations", items: organizations };
      const after: BackfillPosition = next
        ? { phase: "organizations", ...next }
        : { phase: "users" };
      const selection = enrichment?.organizationProperties;
      if (!selection && !billing) return await advance({ page, next: after });
      // One request per organization for each: Kinde lists no organization's properties or customer in bulk.
      return await advanceEnriched(page, after, async () => {
        for (const { code } of organizations) {
          if (selection) {
            await refreshOrganizationProperties(ctx, component, api, code, selection, log, hook);
          }
          if (billing) {
            const fetchedAt = Date.now();
            const read = await readOrganizationCustomerId(api, code);
            if (read === null) continue; // gone from Kinde: its deletion's webhook removes it
            const owner = { kind: "organization" as const, orgCode: code };
            await refreshCustomers(billingDeps, fetchedAt, [
              { owner, customerId: read.customerId },
            ]);
          }
        }
      });
    }
    case "users": {
      if (isPropertiesCursor(run.cursor)) {
        const selection = enrichment?.userProperties;
        if (!selection) return await advance({ next: await afterUsers() });
        const fetchedAt = Date.now();
        const page = await readPropertiesPage(
          api,
          propertiesAfter(run.cursor),
          run.paging,
          selection,
          log,
        );
        await applyUserFetches(ctx, component, fetchedAt, page.users, hook);
        log.info(`backfill: user properties page (${page.users.length} users)`);
        return await advance({
          next: page.next
            ? {
                phase: "users",
                cursor: propertiesCursor(page.next.cursor),
                paging: page.next.paging,
              }
            : await afterUsers(),
        });
      }
      // The page's details are versioned by when its request began.
      const fetchedAt = Date.now();
      const { items, next } = await list("/api/v1/users", "users", BACKFILL_SCOPES.users, {
        expand: usersExpand(enrichment, ["organizations", ...(billing ? ["billing"] : [])])!,
      });
      const users = parseItems(vApiUser, items, toBackfillUser, warn("user"));
      for (const user of users) {
        if (user.orgCodes.length > MAX_ORGANIZATIONS_PER_USER) {
          log.warn(
            `backfill: user ${user.kindeId} is in ${user.orgCodes.length} organizations in Kinde; convex-kinde mirrors at most ${MAX_ORGANIZATIONS_PER_USER} per user (MAX_ORGANIZATIONS_PER_USER), so ${user.orgCodes.length - MAX_ORGANIZATIONS_PER_USER} of them are skipped (getBackfillStatus().skippedMemberships lists them by user)`,
          );
        }
      }
      const after: BackfillPosition = next
        ? { phase: "users", ...next }
        : enrichment?.userProperties
          ? { phase: "users", cursor: propertiesCursor(undefined) }
          : await afterUsers();
      log.info(`backfill: users page (${users.length} users)`);
      const page: BackfillRowsPage = { kind: "users", items: users };
      const enriched = enrichment !== null && enrichment.details.length > 0;
      if (!enriched && !billing) return await advance({ page, next: after });
      return await advanceEnriched(page, after, async () => {
        if (enriched) {
          const details = detailsOfListed(items, enrichment, log);
          await applyUserFetches(ctx, component, fetchedAt, details, hook);
        }
        if (billing) {
          // The customer ids come with the listing (`expand=billing`): no request per user.
          const customers = customerIdsOfListed(items).map(({ kindeId, customerId }) => ({
            owner: { kind: "user" as const, kindeId },
            customerId,
          }));
          await refreshCustomers(billingDeps, fetchedAt, customers);
        }
      });
    }
    case "memberships": {
      const orgCode = run.orgCode!;
      let current = run;
      for (let reading = 1; ; reading++) {
        const { page, next, readAt } = await readMembers(orgCode);
        const nextOrg = next
          ? undefined
          : await ctx.runQuery(component.backfill.nextOrganization, { after: orgCode });
        const after: BackfillPosition = next
          ? { phase: "memberships", orgCode, ...next }
          : nextOrg
            ? { phase: "memberships", orgCode: nextOrg }
            : { phase: run.reconcile ? "reconcile" : "done" };
        let advanced: BackfillStatus;
        try {
          advanced = await writer.advance(current, {
            page,
            next: after,
            reading: { at: readAt, final: reading === MEMBERS_PAGE_READINGS },
          });
        } catch (error) {
          if (!(error instanceof OutdatedMembersPage)) throw error;
          log.info(`backfill: ${error.message}; reading it again`);
          current = error.run;
          continue;
        }
        warnOfSkippedMemberships(log, orgCode, run.skippedMemberships, advanced.skippedMemberships);
        return advanced;
      }
    }
    case "reconcile":
      return await writer.reconcile(run, options.retentionDays);
    case "done":
      return run;
  }
}
