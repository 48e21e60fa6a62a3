/**
 * Pending enrichment refreshes: at most one scheduled per entity, however
 * many events ask for one, and none for an entity that is not mirrored.
 */
import type { FunctionHandle } from "convex/server";
import type { MutationCtx, QueryCtx } from "./_generated/server.js";
import type { EnrichedKind } from "../shared/enrichment.js";

/**
 * How long past its due time a pending refresh that never began stops
 * holding back new ones: its action failed before `begin`, or was never
 * run. Longer than any wait the action schedules itself for in practice, so
 * a refresh waiting on Kinde's rate limit is not doubled.
 */
export const ABANDONED_AFTER_MS = 15 * 60 * 1000;

/** What the host's refresh action is scheduled with. */
export interface RefreshArgs {
  kind: EnrichedKind;
  entityId: string;
}

async function findPending(ctx: QueryCtx, { kind, entityId }: RefreshArgs) {
  return await ctx.db
    .query("pendingRefreshes")
    .withIndex("entity", (q) => q.eq("kind", kind).eq("entityId", entityId))
    .unique();
}

/** Whether a refresh due at `runAt` still holds back new ones at `now`. */
export function isStillPending(runAt: number, now: number): boolean {
  return now <= runAt + ABANDONED_AFTER_MS;
}

/**
 * Schedules the host's refresh action (`handle`) for the entity in `delayMs`,
 * unless one is already pending. A refresh that has begun is no longer
 * pending: its fetch may have read Kinde before what prompted this request,
 * so another one is scheduled. Returns whether it scheduled one. The caller
 * has checked that the entity is mirrored.
 */
export async function requestRefresh(
  ctx: MutationCtx,
  entity: RefreshArgs,
  handle: string,
  delayMs = 0,
): Promise<boolean> {
  const now = Date.now();
  const pending = await findPending(ctx, entity);
  if (pending && isStillPending(pending.runAt, now)) return false;
  const args: RefreshArgs = { kind: entity.kind, entityId: entity.entityId };
  const scheduledId = await ctx.scheduler.runAfter(
    delayMs,
    handle as FunctionHandle<"action">,
    args,
  );
  const row = { ...args, scheduledId, runAt: now + delayMs };
  if (pending) await ctx.db.replace("pendingRefreshes", pending._id, row);
  else await ctx.db.insert("pendingRefreshes", row);
  return true;
}

/** Ends the entity's pending refresh, if any, as its action begins: later requests schedule anew. */
export async function endPending(ctx: MutationCtx, entity: RefreshArgs) {
  const pending = await findPending(ctx, entity);
  if (pending) await ctx.db.delete("pendingRefreshes", pending._id);
}

/**
 * Cancels the entity's pending refresh, if any: the entity is being deleted.
 * Its run may already have ended without beginning (it failed early), or
 * Convex may have forgotten it: only a run still waiting or running is cancelled.
 */
export async function cancelRefresh(ctx: MutationCtx, entity: RefreshArgs) {
  const pending = await findPending(ctx, entity);
  if (!pending) return;
  const run = await ctx.db.system.get("_scheduled_functions", pending.scheduledId);
  if (run?.state.kind === "pending" || run?.state.kind === "inProgress") {
    await ctx.scheduler.cancel(pending.scheduledId);
  }
  await ctx.db.delete("pendingRefreshes", pending._id);
}
