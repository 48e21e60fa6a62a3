/**
 * Enrichment (#21): what the host's refresh action and the backfill fetched
 * from Kinde's Management API, written onto the mirrored rows, and the
 * pending refreshes that ask for it. See docs/enrichment.md and
 * src/shared/enrichment.ts. Never inserts a row: a user or organization that
 * is not mirrored, or was deleted, takes nothing.
 */
import { getDocumentSize, v } from "convex/values";
import { mutation, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import {
  boundDetails,
  boundProperties,
  MAX_USERS_PER_APPLY,
  vEnrichedKind,
  vProperties,
  vUserDetails,
  type KindeProperties,
  type UserDetails,
} from "../shared/enrichment.js";
import type { ChangeOrigin, MirrorChange, MirrorEvent } from "../shared/mirrorEvents.js";
import { updateChange } from "./changes.js";
import { runHook } from "./hooks.js";
import { applyWithinBudget } from "./limits.js";
import { rowCost } from "./budget.js";
import {
  clearedParts,
  droppedToFit,
  mergePropertiesFetch,
  mergeUserFetch,
  withinDocumentLimit,
} from "./enrichmentMerge.js";
import { findUser, fitUserRow, toKindeUser } from "./users.js";
import { findOrganization, toKindeOrganization } from "./organizations.js";
import { endPending, requestRefresh, type RefreshArgs } from "./refreshes.js";

const entityArgs = { kind: vEnrichedKind, entityId: v.string() };

/** The host's hook, and the backfill run a write belongs to (else it is a refresh's). */
const hookArgs = {
  /** A handle to the host's event hook, run in this transaction for each change the host can see. */
  onEvent: v.optional(v.string()),
  /** The backfill run that fetched it, for the hook's `origin`. */
  runId: v.optional(v.string()),
};

/** The mirrored row of the entity, or null when it is not mirrored (a deleted one has no row). */
async function findEnriched(ctx: QueryCtx, { kind, entityId }: RefreshArgs) {
  return kind === "user" ? await findUser(ctx, entityId) : await findOrganization(ctx, entityId);
}

/**
 * Asks for a refresh of a mirrored user or organization: schedules the host's
 * refresh action (`refresh`, a function handle) with `{ kind, entityId }`
 * in `delayMs`, unless one is already scheduled and not yet begun.
 */
export const request = mutation({
  args: { ...entityArgs, refresh: v.string(), delayMs: v.optional(v.number()) },
  returns: v.object({ scheduled: v.boolean() }),
  handler: async (ctx, { refresh, delayMs, ...entity }) => {
    if (!(await findEnriched(ctx, entity))) return { scheduled: false };
    return { scheduled: await requestRefresh(ctx, entity, refresh, Math.max(0, delayMs ?? 0)) };
  },
});

/**
 * Called by the refresh action right before it fetches: ends the entity's
 * pending refresh and answers the time to version the fetch with, or null
 * when the entity is not mirrored (then there is nothing to fetch).
 */
export const begin = mutation({
  args: entityArgs,
  returns: v.union(v.object({ fetchedAt: v.number() }), v.null()),
  handler: async (ctx, entity) => {
    await endPending(ctx, entity);
    if (!(await findEnriched(ctx, entity))) return null;
    return { fetchedAt: Date.now() };
  },
});

const vUserFetch = v.object({
  kindeId: v.string(),
  /** The details as the fetch read them; absent: not read (the stored ones stay). */
  details: v.optional(vUserDetails),
  /** The properties as the fetch read them; absent: not read. */
  properties: v.optional(vProperties),
});

/**
 * Writes what one fetch (begun at `fetchedAt`) read of each user, part by
 * part where it is newer than what the row holds, in order and within the
 * transaction budget: `handled` says how many of `users`, from the first,
 * it went through; send the rest again. At most `MAX_USERS_PER_APPLY`.
 */
export const applyUsers = mutation({
  args: { fetchedAt: v.number(), users: v.array(vUserFetch), ...hookArgs },
  returns: v.object({
    /** How many of `users`, from the first, were handled. */
    handled: v.number(),
    /** Users with at least one part newer than the row's, written. */
    applied: v.number(),
    /** Users whose every part read was older than the row's: nothing written. */
    stale: v.number(),
    /** Users not mirrored, or deleted: nothing written. */
    missing: v.number(),
    /** Users of whom something was left out: over a bound, or past one document (the log says what). */
    trimmed: v.number(),
  }),
  handler: async (ctx, { fetchedAt, users, onEvent, runId }) => {
    if (users.length > MAX_USERS_PER_APPLY) {
      throw new Error(
        `enrichment.applyUsers takes at most ${MAX_USERS_PER_APPLY} users per call, not ${users.length}`,
      );
    }
    const hook = hookOf(ctx, onEvent, originOf(fetchedAt, runId));
    const tally = { applied: 0, stale: 0, missing: 0, trimmed: 0 };
    const handled = await applyWithinBudget(
      ctx,
      users,
      (user) => rowCost({ kind: "enrichUser", bytes: getDocumentSize(user) }),
      async (user) => {
        const result = await applyUserFetch(ctx, fetchedAt, user);
        tally[result.outcome]++;
        if (result.trimmed) tally.trimmed++;
        await hook(result.change);
      },
    );
    return { handled, ...tally };
  },
});

/** What one fetch did to a user's or an organization's row. */
interface FetchResult {
  outcome: "applied" | "stale" | "missing";
  change: MirrorChange | null;
  trimmed: boolean;
}

async function applyUserFetch(
  ctx: MutationCtx,
  fetchedAt: number,
  user: { kindeId: string; details?: UserDetails; properties?: KindeProperties },
): Promise<FetchResult> {
  const existing = await findUser(ctx, user.kindeId);
  if (!existing) return { outcome: "missing", change: null, trimmed: false };
  const details = user.details && boundDetails(user.details);
  const properties = user.properties && boundProperties(user.properties);
  const outOfBounds = [...(details?.dropped ?? []), ...(properties?.dropped ?? [])];
  if (outOfBounds.length > 0) {
    console.warn(`[convex-kinde] user ${user.kindeId}: left out ${outOfBounds.join("; ")}`);
  }
  const { outcome, patch } = mergeUserFetch(existing, {
    fetchedAt,
    details: details?.value,
    properties: properties?.value,
  });
  if (outcome === "stale" || Object.keys(patch).length === 0) {
    return { outcome, change: null, trimmed: outOfBounds.length > 0 };
  }
  const { row, dropped } = fitUserRow({ ...existing, ...patch });
  await ctx.db.patch("kindeUsers", existing._id, { ...patch, ...clearedParts(dropped) });
  return {
    outcome,
    change: updated(toKindeUser(existing), toKindeUser(row)),
    trimmed: outOfBounds.length > 0 || dropped.length > 0,
  };
}

/** Writes what one fetch (begun at `fetchedAt`) read of an organization's properties, if newer. */
export const applyOrganization = mutation({
  args: { orgCode: v.string(), fetchedAt: v.number(), properties: vProperties, ...hookArgs },
  returns: v.object({
    outcome: v.union(v.literal("applied"), v.literal("stale"), v.literal("missing")),
    /** Whether some properties were left out (over a bound; the log says which). */
    trimmed: v.boolean(),
  }),
  handler: async (ctx, { orgCode, fetchedAt, properties, onEvent, runId }) => {
    const { outcome, change, trimmed } = await applyOrganizationFetch(
      ctx,
      orgCode,
      fetchedAt,
      properties,
    );
    await hookOf(ctx, onEvent, originOf(fetchedAt, runId))(change);
    return { outcome, trimmed };
  },
});

async function applyOrganizationFetch(
  ctx: MutationCtx,
  orgCode: string,
  fetchedAt: number,
  properties: KindeProperties,
): Promise<FetchResult> {
  const existing = await findOrganization(ctx, orgCode);
  if (!existing) return { outcome: "missing", change: null, trimmed: false };
  const bounded = boundProperties(properties);
  if (bounded.dropped.length > 0) {
    console.warn(`[convex-kinde] organization ${orgCode}: left out ${bounded.dropped.join("; ")}`);
  }
  const { outcome, patch } = mergePropertiesFetch(existing, fetchedAt, bounded.value);
  if (outcome === "stale") return { outcome, change: null, trimmed: bounded.dropped.length > 0 };
  const { row, dropped } = withinDocumentLimit({ ...existing, ...patch });
  if (dropped.length > 0) {
    console.warn("[convex-kinde]", droppedToFit(`organization ${orgCode}`, dropped));
  }
  await ctx.db.patch("kindeOrganizations", existing._id, { ...patch, ...clearedParts(dropped) });
  const organization = toKindeOrganization(row);
  return {
    outcome,
    change: updateChange(toKindeOrganization(existing), organization, (previous) => ({
      type: "organization.updated",
      organization,
      previous,
    })),
    trimmed: bounded.dropped.length > 0 || dropped.length > 0,
  };
}

/** A user's `user.updated` when what the host reads of it changed, else nothing. */
function updated(
  before: ReturnType<typeof toKindeUser>,
  after: ReturnType<typeof toKindeUser>,
): MirrorChange | null {
  return updateChange(before, after, (previous) => ({
    type: "user.updated",
    user: after,
    previous,
  }));
}

function originOf(fetchedAt: number, runId: string | undefined): ChangeOrigin {
  return runId === undefined ? { kind: "refresh", fetchedAt } : { kind: "backfill", runId };
}

/** Runs the host's hook (if any) for a change, in this transaction: a throw undoes the write. */
function hookOf(ctx: MutationCtx, onEvent: string | undefined, origin: ChangeOrigin) {
  return async (change: MirrorChange | null) => {
    if (!onEvent || !change) return;
    const event: MirrorEvent = { ...change, origin };
    await runHook(ctx, onEvent, { event });
  };
}
