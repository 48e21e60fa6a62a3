/**
 * Waiting on Kinde, for every action that calls it: how long an action may
 * sleep inline, and what it does instead. Kinde's headers may ask for any
 * wait (`Retry-After: 900`), and a retry backoff grows; an action sleeping
 * through that would be killed at Convex's action time limit. So a short
 * wait is slept, and a longer one ends the action with {@link WaitRequired}:
 * a resumable action records it and schedules its continuation at that time
 * ({@link scheduleContinuation}); a one-shot action (setup, the doctor)
 * answers at once, saying when to try again ({@link retryLaterMessage}).
 */
import { makeFunctionReference, type GenericActionCtx, type GenericDataModel } from "convex/server";

/** The longest wait an action sleeps through; a longer one is scheduled or reported. */
export const MAX_INLINE_WAIT_MS = 5_000;

/**
 * How long a one-shot action (setup, the doctor) may spend sleeping in all,
 * from when it builds its Management API client: it answers within this
 * and a few requests, never at the action time limit.
 */
export const ONE_SHOT_WAIT_BUDGET_MS = 30_000;

export type WaitDecision = { sleepMs: number } | { resumesAt: number };

/**
 * Sleep `waitMs` now, or end the action and resume at `resumesAt`: a wait is
 * slept only when it is at most {@link MAX_INLINE_WAIT_MS} and ends by
 * `deadline`, the end of the action's slice.
 */
export function decideWait(waitMs: number, now: number, deadline: number): WaitDecision {
  const wait = Number.isFinite(waitMs) ? Math.max(0, waitMs) : Number.MAX_SAFE_INTEGER;
  if (wait <= MAX_INLINE_WAIT_MS && now + wait <= deadline) return { sleepMs: wait };
  return { resumesAt: now + wait };
}

/**
 * One request's tries so far, carried to the action that makes it again, so
 * the retry policy's limits count every try, not only this action's.
 */
export interface RequestTries {
  /** `GET /api/v1/users`: the method and path the tries belong to. */
  request: string;
  /** 5xx answers and network errors. */
  failures: number;
  /** 429 answers. */
  rateLimited: number;
}

/**
 * Kinde needs a wait longer than the action may sleep: the action ends here
 * and continues (or is run again) at `resumesAt`.
 */
export class WaitRequired extends Error {
  override name = "WaitRequired";
  constructor(
    /** When to try again, in ms since epoch. */
    readonly resumesAt: number,
    /** Why, e.g. `Kinde rate-limited the Management API (429 on GET /api/v1/users, asked to wait 900 s)`. */
    readonly reason: string,
    readonly tries: RequestTries,
  ) {
    super(`${reason}; waiting until ${new Date(resumesAt).toISOString()}`);
  }
}

/** Sleeps a wait {@link decideWait} allows; otherwise throws `longWait(resumesAt)`. */
export async function waitOrThrow(
  waitMs: number,
  deadline: number,
  longWait: (resumesAt: number) => WaitRequired,
): Promise<void> {
  const decision = decideWait(waitMs, Date.now(), deadline);
  if ("resumesAt" in decision) throw longWait(decision.resumesAt);
  await new Promise<void>((resolve) => setTimeout(resolve, decision.sleepMs));
}

/** What a one-shot action answers when Kinde needs a long wait: what happened and when to retry. */
export function retryLaterMessage(wait: WaitRequired): string {
  return `${wait.reason}; retry after ${new Date(wait.resumesAt).toISOString()}`;
}

/**
 * Schedules the running action to run again with `args` at `resumesAt` (at
 * once if that has passed): how a resumable action continues after its
 * slice, or after a wait it may not sleep.
 */
export async function scheduleContinuation(
  ctx: GenericActionCtx<GenericDataModel>,
  resumesAt: number,
  args: Record<string, unknown>,
): Promise<void> {
  const self = await ctx.meta.getFunctionMetadata();
  // At the time itself, not after a delay counted from now: the status the
  // caller reports (`resumesAt`) is then exactly when it runs.
  await ctx.scheduler.runAt(resumesAt, makeFunctionReference<"action">(self.name), args);
}
