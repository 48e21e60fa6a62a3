/**
 * The webhook events that ask for an enrichment refresh, when the host
 * turned enrichment on and gave `registerRoutes` its refresh action: a
 * user's or organization's snapshot (Kinde may have changed what no webhook
 * carries at the same time), and optionally a sign-in, at most once per
 * interval per user.
 */
import { v, type Infer } from "convex/values";
import type { MutationCtx } from "./_generated/server.js";
import { changeOf, type HandledEvent } from "../shared/eventTypes.js";
import { findUser } from "./users.js";
import { requestRefresh, type RefreshArgs } from "./refreshes.js";

/** What `webhooks.applyEvent` is told of the host's enrichment, when it is on. */
export const vRefreshTriggers = v.object({
  /** A handle to the host's refresh action (`kinde.refreshAction()`). */
  handle: v.string(),
  /** Whether users are enriched (details or properties). */
  users: v.boolean(),
  /** Whether organizations are (their properties). */
  organizations: v.boolean(),
  /** Refresh a user after a sign-in when its last fetch is at least this old; absent: never. */
  afterSignInMs: v.optional(v.number()),
  /** The `billing` option: a `customer.*` event refreshes the user or organization it names. */
  billing: v.optional(v.boolean()),
});
export type RefreshTriggers = Infer<typeof vRefreshTriggers>;

/**
 * How long a trigger waits before the refresh runs: Kinde sends a burst of
 * events for one change (a sign-up is `user.created`, then `user.updated`s
 * as organizations and roles are assigned), and a refresh pending meanwhile
 * takes them all.
 */
export const TRIGGER_DELAY_MS = 5000;

/** What an applied event asks to refresh, if anything, and whether only after a sign-in interval. */
export function refreshWanted(
  event: HandledEvent,
  triggers: RefreshTriggers,
): { entity: RefreshArgs; afterSignInMs?: number } | null {
  const { entityKind, entityId, change } = changeOf(event);
  if (entityKind === "user" && change === "snapshot" && triggers.users) {
    return { entity: { kind: "user", entityId } };
  }
  if (entityKind === "organization" && change === "snapshot" && triggers.organizations) {
    return { entity: { kind: "organization", entityId } };
  }
  if (change === "signIn" && triggers.users && triggers.afterSignInMs !== undefined) {
    return { entity: { kind: "user", entityId }, afterSignInMs: triggers.afterSignInMs };
  }
  return null;
}

/**
 * Whether a sign-in at `now` is due a refresh of a user last fetched at
 * `fetchedAt` (either part; undefined: never fetched).
 */
export function isDueAfterSignIn(
  fetchedAt: number | undefined,
  afterSignInMs: number,
  now: number,
): boolean {
  return fetchedAt === undefined || now - fetchedAt >= afterSignInMs;
}

/** Requests the refresh an applied event asks for, if any (see {@link refreshWanted}). */
export async function requestTriggeredRefresh(
  ctx: MutationCtx,
  event: HandledEvent,
  triggers: RefreshTriggers,
): Promise<void> {
  const wanted = refreshWanted(event, triggers);
  if (!wanted) return;
  if (wanted.afterSignInMs !== undefined) {
    const user = await findUser(ctx, wanted.entity.entityId);
    const fetchedAt = lastFetchOf(user?.detailsFetchedAt, user?.propertiesFetchedAt);
    if (!isDueAfterSignIn(fetchedAt, wanted.afterSignInMs, Date.now())) return;
  }
  await requestRefresh(ctx, wanted.entity, triggers.handle, TRIGGER_DELAY_MS);
}

function lastFetchOf(...times: (number | undefined)[]): number | undefined {
  const known = times.filter((t): t is number => t !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}
