/**
 * Backfill runs, component side: the run's state (phase, cursor, counts,
 * errors) and the writers that apply one page of Management API results in
 * one bounded mutation together with the run's next position. The fetching
 * happens in the host's action (src/client/backfill.ts): components cannot
 * read the host's credentials, and secrets never reach component tables.
 *
 * Every row a run writes carries the version `{ at: run start, eventId: "" }`,
 * so any webhook event newer than the run's start wins, an older one is stale
 * against it, and tombstones are never overridden.
 */
import { getDocumentSize, v } from "convex/values";
import type { FunctionHandle } from "convex/server";
import { mutation, query, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import {
  applyCatalogSnapshot,
  currentRefs,
  findById,
  findByKey,
  type CatalogKind,
} from "./catalog.js";
import {
  limitsOf,
  pageRowCost,
  rowCost,
  sharesOf,
  usedOf,
  type MeasuredMetrics,
  type TransactionCost,
} from "./budget.js";
import { applyWithinBudget, assertFitsOneDocument } from "./limits.js";
import type { ApplyResult } from "./changes.js";
import {
  applyOrganizationSnapshot,
  deleteOrganization,
  findOrganization,
} from "./organizations.js";
import { applyUserSnapshot, deleteUser, findUser, OVER_LIMIT, replaceMembership } from "./users.js";
import {
  MAX_LISTED_IN_STATUS,
  MAX_PERMISSIONS_PER_ROLE,
  vBackfillPage,
  vBackfillPosition,
  vBackfillStatus,
  vBackfillWait,
  vTransactionShares,
  backfillRowId,
  type BackfillCounts,
  type BackfillRowsPage,
  type BackfillMember,
  type BackfillStatus,
  type SkippedMemberships,
  type VanishedOrganizations,
  isStalled,
} from "../shared/backfill.js";
import {
  MAX_CATALOG_SIZE,
  type PermissionSnapshot,
  type RoleSnapshot,
  type KeyRef,
  type Version,
} from "../shared/mirror.js";
import { MAX_ORGANIZATIONS_PER_USER } from "../shared/userLimits.js";
import { type ChangeOrigin, type MirrorEvent } from "../shared/mirrorEvents.js";
import { expiresAtFor } from "../shared/retention.js";

/** Rows one reconciliation mutation examines at most (fewer when removals reach the budget). */
export const RECONCILE_BATCH_SIZE = 200;

/**
 * The most bytes of permission refs one `backfillRolePermissions` row holds:
 * a role granting more continues in further parts. Small enough that the
 * sweep of earlier runs' rows reads little, large enough that a real role
 * (tens of permissions) is one part.
 */
export const ROLE_PERMISSIONS_PART_BYTES = 64 * 1024;

/** Rows of earlier runs' role permissions each role of a run deletes (see `sweepRolePermissions`). */
const ROLE_PERMISSIONS_SWEEP = 8;

/**
 * What a backfill mutation did: the run after it, how many of the rows it was
 * given it wrote (the rest go in the next call), and the largest share of
 * each per-transaction limit it used.
 */
const vAdvanceResult = v.object({
  run: vBackfillStatus,
  applied: v.number(),
  shares: vTransactionShares,
  /**
   * Role keys of a members page that no role holds, in the catalog, in the
   * run's reading or in the page's `roles` (a role renamed in Kinde since they
   * were read, its webhook not yet arrived): nothing was written. Read the
   * roles again and send the page with them; if roles read after the page
   * lack a key too, the page is older than a rename: read the page again.
   */
  unknownRoleKeys: v.optional(v.array(v.string())),
});

type Run = Doc<"backfillRuns">;

function toStatus(run: Run): BackfillStatus {
  const { _id, _creationTime: _, ...fields } = run;
  return { runId: _id, ...fields };
}

/** The version of everything a run writes: older than any webhook event after its start. */
function versionOf(run: Run): Version {
  return { at: run.startedAt, eventId: "" };
}

async function latestRun(ctx: { db: QueryCtx["db"] }) {
  return await ctx.db.query("backfillRuns").withIndex("startedAt").order("desc").first();
}

async function runningRun(ctx: MutationCtx, runId: string): Promise<Run> {
  const id = ctx.db.normalizeId("backfillRuns", runId);
  const run = id && (await ctx.db.get("backfillRuns", id));
  if (!run) throw new Error(`No backfill run ${runId}`);
  if (run.status !== "running") throw new Error(`Backfill run ${runId} is ${run.status}`);
  return run;
}

const ZERO_COUNTS: BackfillCounts = {
  roles: 0,
  permissions: 0,
  organizations: 0,
  users: 0,
  memberships: 0,
  unchanged: 0,
  skipped: 0,
  removed: 0,
};

/**
 * Starts a run, or joins the one under way. One run at a time: a running run
 * that made progress recently, or waits for Kinde, is reported, not doubled.
 * A stalled or failed run is resumed where it stopped (unless `restart`).
 * `runId` continues a specific run: the action's own scheduled continuation.
 * Continuing or resuming a run ends its wait; `waited` is that wait, whose
 * tries the action carries on.
 */
export const start = mutation({
  args: {
    reconcile: v.boolean(),
    exactPermissions: v.optional(v.boolean()),
    restart: v.optional(v.boolean()),
    runId: v.optional(v.string()),
  },
  returns: v.object({
    outcome: v.union(
      v.literal("started"),
      v.literal("resumed"),
      v.literal("continued"),
      v.literal("running"),
    ),
    run: vBackfillStatus,
    waited: v.optional(vBackfillWait),
  }),
  handler: async (ctx, { reconcile, exactPermissions, restart, runId }) => {
    const now = Date.now();
    if (runId !== undefined) {
      const run = await runningRun(ctx, runId);
      const continued = { heartbeatAt: now, waiting: undefined };
      await ctx.db.patch("backfillRuns", run._id, continued);
      return {
        outcome: "continued" as const,
        run: toStatus({ ...run, ...continued }),
        waited: run.waiting,
      };
    }
    const latest = await latestRun(ctx);
    if (latest?.status === "running" && !isStalled(latest, now)) {
      return { outcome: "running" as const, run: toStatus(latest) };
    }
    if (latest && latest.status !== "done" && !restart) {
      const resumed = {
        status: "running" as const,
        heartbeatAt: now,
        reconcile: reconcile || latest.reconcile,
        exactPermissions: exactPermissions || latest.exactPermissions,
        lastError: undefined,
        waiting: undefined,
      };
      await ctx.db.patch("backfillRuns", latest._id, resumed);
      return {
        outcome: "resumed" as const,
        run: toStatus({ ...latest, ...resumed }),
        waited: latest.waiting,
      };
    }
    if (latest?.status === "running") {
      await ctx.db.patch("backfillRuns", latest._id, {
        status: "failed",
        lastError: "Replaced by a restarted run.",
        waiting: undefined,
      });
    }
    const id: Id<"backfillRuns"> = await ctx.db.insert("backfillRuns", {
      startedAt: now,
      status: "running",
      phase: "roles",
      reconcile,
      exactPermissions,
      counts: ZERO_COUNTS,
      pages: 0,
      heartbeatAt: now,
    });
    return { outcome: "started" as const, run: toStatus((await ctx.db.get("backfillRuns", id))!) };
  },
});

/** The host's hook handle, run for each change a backfill makes to the mirror. */
const vOnEvent = v.optional(v.string());

/**
 * Applies the rows of one page that fit this transaction's budget and, once
 * every row is written, moves the run to `next` (`done` finishes it). Rows
 * that did not fit are left for the next call: `applied` says how many were
 * written, and the run records the last one so a resumed run continues after
 * it. Without a page it only moves the run (e.g. to the next phase).
 */
export const advance = mutation({
  args: {
    runId: v.string(),
    page: v.optional(vBackfillPage),
    /** Where the run goes once every row of the page is written; absent while the page goes on. */
    next: v.optional(vBackfillPosition),
    onEvent: vOnEvent,
  },
  returns: vAdvanceResult,
  handler: async (ctx, { runId, page, next, onEvent }) => {
    const run = await runningRun(ctx, runId);
    // One resolver per mutation: the keys the check below resolves are not read again.
    const refs = catalogRefs(ctx, run, page?.kind === "members" ? page.roles : undefined);
    // A member's role is written with its id or not at all: only the id lets a
    // later rename or delete reach the membership (docs/how-it-works.md, "Keys follow ids").
    if (page?.kind === "members" && !page.keepUnknownRoleKeys) {
      const unknownRoleKeys = await refs.unknownRoleKeys(page.items);
      if (unknownRoleKeys.length > 0) {
        return { run: toStatus(run), applied: 0, shares: await sharesUsed(ctx), unknownRoleKeys };
      }
    }
    const tally: Tally = { counts: { ...run.counts }, skippedMemberships: run.skippedMemberships };
    let applied = 0;
    let rows = 0;
    if (page?.kind === "rolePermissions") {
      await storeRolePermissions(ctx, run, page.roleId, page.permissions);
    } else if (page) {
      rows = page.items.length;
      applied = await applyPage(ctx, run, page, tally, hookOf(ctx, run, onEvent), refs);
    }
    const now = Date.now();
    const finished = applied === rows && next !== undefined;
    const position = finished
      ? {
          phase: next.phase,
          cursor: next.cursor,
          paging: next.paging,
          orgCode: next.orgCode,
          resumeAfter: undefined,
        }
      : {
          resumeAfter:
            page?.kind !== "rolePermissions" && page?.items[applied - 1]
              ? backfillRowId(page.items[applied - 1]!)
              : run.resumeAfter,
        };
    const done = finished && next.phase === "done";
    const vanished =
      finished && page?.kind === "members" && page.vanished
        ? noteVanished(run.vanished, page.orgCode)
        : run.vanished;
    const patch = {
      ...position,
      vanished,
      counts: tally.counts,
      skippedMemberships: tally.skippedMemberships,
      pages: run.pages + (page ? 1 : 0),
      heartbeatAt: now,
      ...(done ? { status: "done" as const, finishedAt: now } : {}),
    };
    await ctx.db.patch("backfillRuns", run._id, patch);
    return { run: toStatus({ ...run, ...patch }), applied, shares: await sharesUsed(ctx) };
  },
});

function noteVanished(
  vanished: VanishedOrganizations | undefined,
  orgCode: string,
): VanishedOrganizations {
  const orgCodes = vanished?.orgCodes ?? [];
  return {
    count: (vanished?.count ?? 0) + 1,
    orgCodes: orgCodes.length < MAX_LISTED_IN_STATUS ? [...orgCodes, orgCode] : orgCodes,
  };
}

/** Counts one membership skipped at the limit against its user, listing the first users. */
function noteSkippedMembership(
  skipped: SkippedMemberships | undefined,
  kindeId: string,
): SkippedMemberships {
  const users = skipped?.users ?? [];
  const listed = users.some((u) => u.kindeId === kindeId);
  return {
    count: (skipped?.count ?? 0) + 1,
    users: listed
      ? users.map((u) => (u.kindeId === kindeId ? { kindeId, count: u.count + 1 } : u))
      : users.length < MAX_LISTED_IN_STATUS
        ? [...users, { kindeId, count: 1 }]
        : users,
  };
}

/**
 * Stores one role's permissions for the run, replacing what the run read of
 * it before, in parts of at most {@link ROLE_PERMISSIONS_PART_BYTES}: every
 * document stays far below 1 MiB whatever the catalog's keys.
 */
async function storeRolePermissions(
  ctx: MutationCtx,
  run: Run,
  roleId: string,
  permissions: KeyRef[],
) {
  for (const row of await rolePermissionRows(ctx, run._id, roleId)) {
    await ctx.db.delete("backfillRolePermissions", row._id);
  }
  const roleKey = (await findById(ctx, "role", roleId))?.key ?? "";
  const parts: KeyRef[][] = [[]];
  let bytes = 0;
  for (const ref of permissions.slice(0, MAX_PERMISSIONS_PER_ROLE)) {
    const size = getDocumentSize(ref);
    if (bytes + size > ROLE_PERMISSIONS_PART_BYTES && parts.at(-1)!.length > 0) {
      parts.push([]);
      bytes = 0;
    }
    parts.at(-1)!.push(ref);
    bytes += size;
  }
  // Part 0 even for a role granting nothing: it holds the key the run read.
  for (const [part, refs] of parts.entries()) {
    if (part > 0 && refs.length === 0) continue;
    const row = { runId: run._id, roleId, roleKey, part, permissions: refs };
    assertFitsOneDocument("backfillRolePermissions", row);
    await ctx.db.insert("backfillRolePermissions", row);
  }
  await sweepRolePermissions(ctx, run._id);
}

/** The id of the role the run read under `key` (see `backfillRolePermissions.roleKey`). */
async function roleTheRunReadAs(ctx: QueryCtx, runId: Id<"backfillRuns">, key: string) {
  const row = await ctx.db
    .query("backfillRolePermissions")
    .withIndex("roleKey", (q) => q.eq("runId", runId).eq("roleKey", key))
    .first();
  return row?.roleId;
}

/** The parts of one role's permissions as the run stored them. */
async function rolePermissionRows(ctx: QueryCtx, runId: Id<"backfillRuns">, roleId: string) {
  // At most MAX_PERMISSIONS_PER_ROLE refs, each part holding at least one.
  return await ctx.db
    .query("backfillRolePermissions")
    .withIndex("role", (q) => q.eq("runId", runId).eq("roleId", roleId))
    .take(MAX_PERMISSIONS_PER_ROLE);
}

/**
 * Deletes a few rows of earlier runs' role permissions: a run that replaced
 * or followed another no longer reads them. A few per role read keeps each
 * mutation small; a run sweeps about as many rows as a like catalog wrote.
 */
async function sweepRolePermissions(ctx: MutationCtx, runId: Id<"backfillRuns">) {
  const before = await ctx.db
    .query("backfillRolePermissions")
    .withIndex("role", (q) => q.lt("runId", runId))
    .take(ROLE_PERMISSIONS_SWEEP);
  const after = await ctx.db
    .query("backfillRolePermissions")
    .withIndex("role", (q) => q.gt("runId", runId))
    .take(ROLE_PERMISSIONS_SWEEP);
  for (const row of [...before, ...after]) await ctx.db.delete("backfillRolePermissions", row._id);
}

/**
 * The id of the role a member list names `key`: the catalog's, else the one
 * the run read under that key (a page listed before a rename whose webhook
 * has since renamed the catalog's row). Two index ranges at most.
 */
async function roleIdOf(ctx: QueryCtx, run: Run, key: string): Promise<string | undefined> {
  return (
    (await findByKey(ctx, "role", key))?.kindeId ?? (await roleTheRunReadAs(ctx, run._id, key))
  );
}

/** This transaction's share of each limit so far. */
async function sharesUsed(ctx: MutationCtx): Promise<TransactionCost> {
  const metrics = (await ctx.meta.getTransactionMetrics()) as MeasuredMetrics;
  return sharesOf(usedOf(metrics), limitsOf(metrics));
}

type Hook = (result: ApplyResult) => Promise<void>;

/** Runs the host's hook for a change the run made, in the same transaction. */
function hookOf(ctx: MutationCtx, run: Run, onEvent: string | undefined): Hook {
  const origin: ChangeOrigin = { kind: "backfill", runId: run._id };
  return async (result) => {
    if (!onEvent || result.outcome !== "applied" || !result.change) return;
    const event: MirrorEvent = { ...result.change, origin };
    await ctx.runMutation(onEvent as FunctionHandle<"mutation">, { event });
  };
}

/** What a page's rows did to the run's counts, and the memberships skipped at the limit. */
interface Tally {
  counts: BackfillCounts;
  skippedMemberships: SkippedMemberships | undefined;
}

/**
 * Counts one row by what applying it did (see `vBackfillCounts`): written,
 * under its kind and, when the host sees no change, also as unchanged; or
 * skipped when it was stale against the mirror (a newer webhook write, a
 * tombstone, or the run's own earlier write of it).
 */
function count(counts: BackfillCounts, kind: WrittenKind, result: ApplyResult | null) {
  if (!result || result.outcome === "stale") {
    counts.skipped++;
    return;
  }
  counts[kind]++;
  if (!result.change) counts.unchanged++;
}
type WrittenKind = "roles" | "permissions" | "organizations" | "users" | "memberships";

async function applyPage(
  ctx: MutationCtx,
  run: Run,
  page: BackfillRowsPage,
  tally: Tally,
  hook: Hook,
  refs: CatalogRefs,
): Promise<number> {
  const version = versionOf(run);
  const { counts } = tally;
  switch (page.kind) {
    case "roles":
    case "permissions": {
      const kind = page.kind === "roles" ? "role" : "permission";
      return await applyWithinBudget(
        ctx,
        page.items as (RoleSnapshot | PermissionSnapshot)[],
        (entry) => pageRowCost(page.kind, entry),
        async (entry) => {
          const result = await applyCatalogSnapshot(ctx, kind, version, entry);
          count(counts, page.kind, result);
          await hook(result);
        },
      );
    }
    case "organizations":
      return await applyWithinBudget(
        ctx,
        page.items,
        (organization) => pageRowCost(page.kind, organization),
        async (organization) => {
          // The Management API does not list `is_allow_registrations`: keep what a webhook said.
          const existing = await findOrganization(ctx, organization.code);
          const snapshot = {
            ...organization,
            isAllowRegistrations: existing?.isAllowRegistrations,
          };
          const result = await applyOrganizationSnapshot(ctx, version, snapshot);
          count(counts, "organizations", result);
          await hook(result);
        },
      );
    case "users":
      return await applyWithinBudget(
        ctx,
        page.items,
        (user) => pageRowCost(page.kind, user),
        async ({ orgCodes, ...profile }) => {
          // The list carries organization codes only: keep the roles already mirrored for each,
          // the memberships phase then sets them from each organization's member list.
          const existing = await findUser(ctx, profile.kindeId);
          const held = new Map(existing?.organizations.map((m) => [m.orgCode, m]));
          const result = await applyUserSnapshot(ctx, version, {
            ...profile,
            isPasswordResetRequested: existing?.isPasswordResetRequested ?? false,
            organizations: withinLimit(orgCodes, held).map(
              (orgCode) => held.get(orgCode) ?? { orgCode, roles: [], permissions: [] },
            ),
          });
          count(counts, "users", result);
          await hook(result);
        },
      );
    case "members": {
      return await applyWithinBudget(
        ctx,
        page.items,
        (member) => pageRowCost(page.kind, member),
        async (member) => {
          const result = await applyMember(ctx, run, page.orgCode, member, refs);
          if (result?.outcome === OVER_LIMIT.outcome) {
            counts.skipped++;
            tally.skippedMemberships = noteSkippedMembership(
              tally.skippedMemberships,
              member.kindeId,
            );
            return;
          }
          count(counts, "memberships", result);
          if (result) await hook(result);
        },
      );
    }
  }
}

/**
 * The organizations of a listed user that the mirror holds: all of them, or,
 * past `MAX_ORGANIZATIONS_PER_USER`, those already held first and then
 * Kinde's order, so a second run keeps the same ones. The members phase
 * skips (and reports) the rest.
 */
function withinLimit(orgCodes: string[], held: Map<string, unknown>): string[] {
  if (orgCodes.length <= MAX_ORGANIZATIONS_PER_USER) return orgCodes;
  const kept = new Set(
    [...orgCodes.filter((c) => held.has(c)), ...orgCodes.filter((c) => !held.has(c))].slice(
      0,
      MAX_ORGANIZATIONS_PER_USER,
    ),
  );
  return orgCodes.filter((c) => kept.has(c));
}

type CatalogRefs = ReturnType<typeof catalogRefs>;

/**
 * Role and permission refs for one mutation's members, each looked up once:
 * an organization's members mostly hold the same few roles, so a page costs
 * its members plus its distinct roles and permissions, not their product.
 */
function catalogRefs(ctx: MutationCtx, run: Run, relisted: KeyRef[] = []) {
  const version = versionOf(run);
  const relistedIds = new Map(relisted.map((r) => [r.key, r.kindeId]));
  const roleByKey = new Map<string, KeyRef>();
  const grantedBy = new Map<string, KeyRef[]>();
  const current = { role: new Map<string, KeyRef | null>(), permission: new Map() };
  return {
    async role(key: string): Promise<KeyRef> {
      let ref = roleByKey.get(key);
      if (!ref) {
        ref = { kindeId: (await roleIdOf(ctx, run, key)) ?? relistedIds.get(key) ?? "", key };
        roleByKey.set(key, ref);
      }
      return ref;
    },
    /**
     * The members' role keys of no role the mirror knows (`roleIdOf`): a role
     * renamed in Kinde after the run read the roles, its webhook not yet here.
     * Without the role's id its holders would get none of the permissions it
     * grants, and nothing would repair that (a rename sends no `user.updated`).
     * Two index ranges a key; a page names at most `MAX_CATALOG_SIZE` keys.
     */
    async unknownRoleKeys(members: BackfillMember[]): Promise<string[]> {
      const keys = [...new Set(members.flatMap((m) => m.roleKeys))].slice(0, MAX_CATALOG_SIZE);
      const unknown: string[] = [];
      for (const key of keys) if ((await this.role(key)).kindeId === "") unknown.push(key);
      return unknown;
    },
    /** The permissions the run read for a role (none for a role it did not read). */
    async granted(roleId: string): Promise<KeyRef[]> {
      let refs = grantedBy.get(roleId);
      if (!refs) {
        const rows = roleId === "" ? [] : await rolePermissionRows(ctx, run._id, roleId);
        refs = rows.flatMap((row) => row.permissions);
        grantedBy.set(roleId, refs);
      }
      return refs;
    },
    /** The current form of each ref (see `currentRefs`); unknown ids (`""`) kept as they are. */
    async current(kind: CatalogKind, refs: KeyRef[]): Promise<KeyRef[]> {
      const known: Map<string, KeyRef | null> = current[kind];
      const missing = refs.filter((r) => r.kindeId !== "" && !known.has(r.kindeId));
      if (missing.length > 0) {
        const found = await currentRefs(ctx, kind, missing, version);
        for (const { kindeId } of missing) known.set(kindeId, found.get(kindeId) ?? null);
      }
      return refs.flatMap((r) => (r.kindeId === "" ? [r] : (known.get(r.kindeId) ?? [])));
    },
  };
}

/**
 * Sets one member's roles in one organization, and the permissions those
 * roles grant, unless a webhook has written the user since the run started
 * (its snapshot is newer and complete). Null when it left the user alone;
 * {@link OVER_LIMIT} when the user holds as many organizations as the mirror
 * keeps and this is not one of them.
 */
async function applyMember(
  ctx: MutationCtx,
  run: Run,
  orgCode: string,
  { kindeId, roleKeys, permissions }: BackfillMember,
  refs: CatalogRefs,
): Promise<ApplyResult | typeof OVER_LIMIT | null> {
  const user = await findUser(ctx, kindeId);
  if (!user || user.version.at > run.startedAt) return null;
  const roles: KeyRef[] = [];
  for (const key of roleKeys) roles.push(await refs.role(key));
  const granted = new Map<string, KeyRef>();
  for (const role of roles) {
    for (const permission of await refs.granted(role.kindeId)) {
      granted.set(permission.kindeId, permission);
    }
  }
  return await replaceMembership(ctx, user, {
    orgCode,
    roles: await refs.current("role", roles),
    // Kinde's own list, where the run read it, also has permissions granted directly.
    permissions: await refs.current("permission", permissions ?? [...granted.values()]),
  });
}

/** Marks the run failed with an error a developer can act on; the next start resumes it. */
export const fail = mutation({
  args: { runId: v.string(), error: v.string() },
  returns: v.null(),
  handler: async (ctx, { runId, error }) => {
    const run = await runningRun(ctx, runId);
    await ctx.db.patch("backfillRuns", run._id, {
      status: "failed",
      lastError: error,
      heartbeatAt: Date.now(),
      waiting: undefined,
    });
    return null;
  },
});

/**
 * Records that the run waits for Kinde until `waiting.resumesAt`, where the
 * action scheduled its continuation: until then (and for the stall allowance
 * after) the run is not stalled, and its status says why it is silent.
 */
export const wait = mutation({
  args: { runId: v.string(), waiting: vBackfillWait },
  returns: vBackfillStatus,
  handler: async (ctx, { runId, waiting }) => {
    const run = await runningRun(ctx, runId);
    await ctx.db.patch("backfillRuns", run._id, { waiting });
    return toStatus({ ...run, waiting });
  },
});

/**
 * The role after `after` (by Kinde id) in the catalog, whose permissions the
 * run reads next: the run walks the catalog in id order, its position the
 * last role read.
 */
export const nextRole = query({
  args: { after: v.optional(v.string()) },
  returns: v.union(v.string(), v.null()),
  handler: async (ctx, { after }) => {
    const next = await ctx.db
      .query("kindeRoles")
      .withIndex("kindeId", (q) => (after === undefined ? q : q.gt("kindeId", after)))
      .first();
    return next?.kindeId ?? null;
  },
});

/** The organization after `after` (by code), whose members the run reads next. */
export const nextOrganization = query({
  args: { after: v.optional(v.string()) },
  returns: v.union(v.string(), v.null()),
  handler: async (ctx, { after }) => {
    const next = await ctx.db
      .query("kindeOrganizations")
      .withIndex("code", (q) => (after === undefined ? q : q.gt("code", after)))
      .first();
    return next?.code ?? null;
  },
});

/**
 * One batch of reconciliation, after a complete pass: users and then
 * organizations that the run did not see (their version predates its start)
 * and that no webhook touched since are gone from Kinde, so they are removed
 * and tombstoned, with the host's hook for each. The batch stops early at the
 * transaction budget. The cursor is `"<table>|<last key examined>"`.
 */
export const reconcileBatch = mutation({
  args: { runId: v.string(), retentionDays: v.optional(v.number()), onEvent: vOnEvent },
  returns: vAdvanceResult,
  handler: async (ctx, { runId, retentionDays, onEvent }) => {
    const run = await runningRun(ctx, runId);
    // `table|key`: the key (a Kinde id or code) may itself hold a `|`.
    const position = run.cursor ?? "kindeUsers|";
    const bar = position.indexOf("|");
    const table = position.slice(0, bar) as "kindeUsers" | "kindeOrganizations";
    const after = position.slice(bar + 1);
    const keepUntil = expiresAtFor(Date.now(), retentionDays);
    const version = versionOf(run);
    const hook = hookOf(ctx, run, onEvent);
    const batch: { key: string; row: Doc<"kindeUsers"> | Doc<"kindeOrganizations"> }[] =
      table === "kindeUsers"
        ? (
            await ctx.db
              .query("kindeUsers")
              .withIndex("kindeId", (q) => (after ? q.gt("kindeId", after) : q))
              .take(RECONCILE_BATCH_SIZE)
          ).map((row) => ({ key: row.kindeId, row }))
        : (
            await ctx.db
              .query("kindeOrganizations")
              .withIndex("code", (q) => (after ? q.gt("code", after) : q))
              .take(RECONCILE_BATCH_SIZE)
          ).map((row) => ({ key: row.code, row }));
    let removed = 0;
    const applied = await applyWithinBudget(
      ctx,
      batch,
      ({ row }) =>
        "kindeId" in row
          ? rowCost({ kind: "reconcileUser", organizations: row.organizations.length })
          : rowCost({ kind: "reconcileOrganization" }),
      async ({ key, row }) => {
        if (row.version.at >= run.startedAt) return;
        removed++;
        await hook(
          "kindeId" in row
            ? await deleteUser(ctx, version, key, keepUntil)
            : await deleteOrganization(ctx, version, key, keepUntil),
        );
      },
    );
    const tableDone = applied === batch.length && batch.length < RECONCILE_BATCH_SIZE;
    const cursor = !tableDone
      ? `${table}|${batch[applied - 1]?.key ?? after}`
      : table === "kindeUsers"
        ? "kindeOrganizations|"
        : undefined;
    const now = Date.now();
    const patch = {
      counts: { ...run.counts, removed: run.counts.removed + removed },
      cursor,
      heartbeatAt: now,
      ...(cursor === undefined
        ? { phase: "done" as const, status: "done" as const, finishedAt: now }
        : {}),
    };
    await ctx.db.patch("backfillRuns", run._id, patch);
    return { run: toStatus({ ...run, ...patch }), applied, shares: await sharesUsed(ctx) };
  },
});

/** The latest run, or null if none ever ran. */
export const getStatus = query({
  args: {},
  returns: v.union(vBackfillStatus, v.null()),
  handler: async (ctx) => {
    const run = await latestRun(ctx);
    return run && toStatus(run);
  },
});
