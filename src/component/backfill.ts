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
import { v } from "convex/values";
import { mutation, query, type MutationCtx } from "./_generated/server.js";
import type { Doc, Id } from "./_generated/dataModel.js";
import { applyCatalogSnapshot, currentRefs, findByKey, MAX_CATALOG_SIZE } from "./catalog.js";
import {
  applyOrganizationSnapshot,
  deleteOrganization,
  findOrganization,
} from "./organizations.js";
import { applyUserSnapshot, deleteUser, findUser, replaceMembership } from "./users.js";
import {
  expiresAtFor,
  MAX_VANISHED_LISTED,
  vBackfillPage,
  vBackfillPosition,
  vBackfillStatus,
  type BackfillCounts,
  type BackfillMember,
  type BackfillPage,
  type BackfillStatus,
  type KeyRef,
  type VanishedOrganizations,
  type Version,
} from "../shared.js";

/** A running run that has made no progress for this long has stopped (crash, deploy) and may be resumed. */
export const STALLED_AFTER_MS = 3 * 60_000;

/** Rows one reconciliation mutation examines. */
export const RECONCILE_BATCH_SIZE = 200;

type Run = Doc<"backfillRuns">;

function toStatus(run: Run): BackfillStatus {
  return {
    runId: run._id,
    status: run.status,
    phase: run.phase,
    cursor: run.cursor,
    paging: run.paging,
    orgCode: run.orgCode,
    reconcile: run.reconcile,
    exactPermissions: run.exactPermissions,
    vanished: run.vanished,
    startedAt: run.startedAt,
    heartbeatAt: run.heartbeatAt,
    finishedAt: run.finishedAt,
    pages: run.pages,
    counts: run.counts,
    lastError: run.lastError,
  };
}

/** The version of everything a run writes: older than any webhook event after its start. */
function versionOf(run: Run): Version {
  return { at: run.startedAt, eventId: "" };
}

async function latestRun(ctx: { db: MutationCtx["db"] }) {
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
  removed: 0,
};

/**
 * Starts a run, or joins the one under way. One run at a time: a running run
 * that made progress recently is reported, not doubled. A stalled or failed
 * run is resumed where it stopped (unless `restart`). `runId` continues a
 * specific run: the action's own scheduled continuation.
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
  }),
  handler: async (ctx, { reconcile, exactPermissions, restart, runId }) => {
    const now = Date.now();
    if (runId !== undefined) {
      const run = await runningRun(ctx, runId);
      await ctx.db.patch("backfillRuns", run._id, { heartbeatAt: now });
      return { outcome: "continued" as const, run: toStatus({ ...run, heartbeatAt: now }) };
    }
    const latest = await latestRun(ctx);
    if (latest?.status === "running" && now - latest.heartbeatAt < STALLED_AFTER_MS) {
      return { outcome: "running" as const, run: toStatus(latest) };
    }
    if (latest && latest.status !== "done" && !restart) {
      const resumed = {
        status: "running" as const,
        heartbeatAt: now,
        reconcile: reconcile || latest.reconcile,
        exactPermissions: exactPermissions || latest.exactPermissions,
        lastError: undefined,
      };
      await ctx.db.patch("backfillRuns", latest._id, resumed);
      return { outcome: "resumed" as const, run: toStatus({ ...latest, ...resumed }) };
    }
    if (latest?.status === "running") {
      await ctx.db.patch("backfillRuns", latest._id, {
        status: "failed",
        lastError: "Replaced by a restarted run.",
      });
    }
    const id: Id<"backfillRuns"> = await ctx.db.insert("backfillRuns", {
      startedAt: now,
      status: "running",
      phase: "roles",
      reconcile,
      exactPermissions,
      rolePermissions: [],
      counts: ZERO_COUNTS,
      pages: 0,
      heartbeatAt: now,
    });
    return { outcome: "started" as const, run: toStatus((await ctx.db.get("backfillRuns", id))!) };
  },
});

/**
 * Applies one page and moves the run to `next`, atomically. Without a page it
 * only moves the run (e.g. to the next phase). Moving to `done` finishes it.
 */
export const advance = mutation({
  args: {
    runId: v.string(),
    page: v.optional(vBackfillPage),
    next: vBackfillPosition,
  },
  returns: vBackfillStatus,
  handler: async (ctx, { runId, page, next }) => {
    const run = await runningRun(ctx, runId);
    const counts = { ...run.counts };
    let rolePermissions = run.rolePermissions;
    if (page?.kind === "rolePermissions") {
      rolePermissions = [
        ...rolePermissions.filter((r) => r.roleId !== page.roleId),
        { roleId: page.roleId, permissions: page.permissions },
      ];
    } else if (page) {
      await applyPage(ctx, run, page, counts);
    }
    const now = Date.now();
    const done = next.phase === "done";
    const vanished =
      page?.kind === "members" && page.vanished
        ? noteVanished(run.vanished, page.orgCode)
        : run.vanished;
    const patch = {
      phase: next.phase,
      cursor: next.cursor,
      paging: next.paging,
      orgCode: next.orgCode,
      vanished,
      counts,
      rolePermissions,
      pages: run.pages + (page ? 1 : 0),
      heartbeatAt: now,
      ...(done ? { status: "done" as const, finishedAt: now } : {}),
    };
    await ctx.db.patch("backfillRuns", run._id, patch);
    return toStatus({ ...run, ...patch });
  },
});

function noteVanished(
  vanished: VanishedOrganizations | undefined,
  orgCode: string,
): VanishedOrganizations {
  const orgCodes = vanished?.orgCodes ?? [];
  return {
    count: (vanished?.count ?? 0) + 1,
    orgCodes: orgCodes.length < MAX_VANISHED_LISTED ? [...orgCodes, orgCode] : orgCodes,
  };
}

async function applyPage(
  ctx: MutationCtx,
  run: Run,
  page: Exclude<BackfillPage, { kind: "rolePermissions" }>,
  counts: BackfillCounts,
) {
  const version = versionOf(run);
  switch (page.kind) {
    case "roles":
      for (const role of page.items) await applyCatalogSnapshot(ctx, "role", version, role);
      counts.roles += page.items.length;
      return;
    case "permissions":
      for (const p of page.items) await applyCatalogSnapshot(ctx, "permission", version, p);
      counts.permissions += page.items.length;
      return;
    case "organizations":
      for (const organization of page.items) {
        // The Management API does not list `is_allow_registrations`: keep what a webhook said.
        const existing = await findOrganization(ctx, organization.code);
        await applyOrganizationSnapshot(ctx, version, {
          ...organization,
          isAllowRegistrations: existing?.isAllowRegistrations,
        });
      }
      counts.organizations += page.items.length;
      return;
    case "users":
      for (const { orgCodes, ...profile } of page.items) {
        // The list carries organization codes only: keep the roles already mirrored for each,
        // the memberships phase then sets them from each organization's member list.
        const existing = await findUser(ctx, profile.kindeId);
        const held = new Map(existing?.organizations.map((m) => [m.orgCode, m]));
        await applyUserSnapshot(ctx, version, {
          ...profile,
          isPasswordResetRequested: existing?.isPasswordResetRequested ?? false,
          organizations: orgCodes.map(
            (orgCode) => held.get(orgCode) ?? { orgCode, roles: [], permissions: [] },
          ),
        });
      }
      counts.users += page.items.length;
      return;
    case "members":
      for (const member of page.items) {
        if (await applyMember(ctx, run, page.orgCode, member)) counts.memberships++;
      }
      return;
  }
}

/**
 * Sets one member's roles in one organization, and the permissions those
 * roles grant, unless a webhook has written the user since the run started
 * (its snapshot is newer and complete).
 */
async function applyMember(
  ctx: MutationCtx,
  run: Run,
  orgCode: string,
  { kindeId, roleKeys, permissions }: BackfillMember,
): Promise<boolean> {
  const user = await findUser(ctx, kindeId);
  if (!user || user.version.at > run.startedAt) return false;
  const roles: KeyRef[] = [];
  for (const key of roleKeys) {
    const role = await findByKey(ctx, "role", key);
    roles.push({ kindeId: role?.kindeId ?? "", key });
  }
  const granted = new Map<string, KeyRef>();
  for (const role of roles) {
    const entry = run.rolePermissions.find((r) => r.roleId === role.kindeId);
    for (const permission of entry?.permissions ?? []) granted.set(permission.kindeId, permission);
  }
  const current = async (kind: "role" | "permission", refs: KeyRef[]) => {
    const known = await currentRefs(ctx, kind, refs, versionOf(run));
    return refs.flatMap((r) => (r.kindeId === "" ? [r] : (known.get(r.kindeId) ?? [])));
  };
  await replaceMembership(ctx, user, {
    orgCode,
    roles: await current("role", roles),
    // Kinde's own list, where the run read it, also has permissions granted directly.
    permissions: await current("permission", permissions ?? [...granted.values()]),
  });
  return true;
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
    });
    return null;
  },
});

/** Role ids in the catalog whose permissions this run has not read yet. */
export const pendingRolePermissions = query({
  args: { runId: v.string() },
  returns: v.array(v.string()),
  handler: async (ctx, { runId }) => {
    const id = ctx.db.normalizeId("backfillRuns", runId);
    const run = id && (await ctx.db.get("backfillRuns", id));
    if (!run) return [];
    const done = new Set(run.rolePermissions.map((r) => r.roleId));
    const roles = await ctx.db.query("kindeRoles").withIndex("kindeId").take(MAX_CATALOG_SIZE);
    return roles.map((r) => r.kindeId).filter((roleId) => !done.has(roleId));
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
 * and tombstoned. The cursor is `"<table>|<paginate cursor>"`.
 */
export const reconcileBatch = mutation({
  args: { runId: v.string(), retentionDays: v.optional(v.number()) },
  returns: vBackfillStatus,
  handler: async (ctx, { runId, retentionDays }) => {
    const run = await runningRun(ctx, runId);
    const [table, position] = (run.cursor ?? "kindeUsers|").split("|") as [
      "kindeUsers" | "kindeOrganizations",
      string,
    ];
    const keepUntil = expiresAtFor(Date.now(), retentionDays);
    const version = versionOf(run);
    const batch = await ctx.db
      .query(table)
      .paginate({ cursor: position || null, numItems: RECONCILE_BATCH_SIZE });
    let removed = 0;
    for (const row of batch.page) {
      if (row.version.at >= run.startedAt) continue;
      if ("kindeId" in row) await deleteUser(ctx, version, row.kindeId, keepUntil);
      else await deleteOrganization(ctx, version, row.code, keepUntil);
      removed++;
    }
    const cursor = !batch.isDone
      ? `${table}|${batch.continueCursor}`
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
    return toStatus({ ...run, ...patch });
  },
});

/** The latest run, or null if none ever ran. */
export const getStatus = query({
  args: {},
  returns: v.union(vBackfillStatus, v.null()),
  handler: async (ctx) => {
    const run = await ctx.db.query("backfillRuns").withIndex("startedAt").order("desc").first();
    return run && toStatus(run);
  },
});
