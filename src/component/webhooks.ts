import { v, type ObjectType } from "convex/values";
import { mutation, type MutationCtx } from "./_generated/server.js";
import { applyUserSnapshot, deleteUser, recordSignIn } from "./users.js";
import { applyOrganizationSnapshot, deleteOrganization } from "./organizations.js";
import {
  applyCatalogSnapshot,
  deleteCatalogEntry,
  findByKey,
  type CatalogKind,
} from "./catalog.js";
import { adjustCount } from "./counters.js";
import { isFutureDated } from "./ordering.js";
import {
  kindeTypeOf,
  MAX_RECORDED_ERROR_LENGTH,
  UNAPPLIED_OUTCOMES,
  vKindeEvent,
  vOutcome,
  type KindeEvent,
  type Outcome,
  type RecordedOutcome,
} from "../shared/events.js";
import { changeOf, entityOf, type HandledEvent } from "../shared/eventTypes.js";
import { type UnmirroredReceipt } from "../shared/unmirroredEvents.js";
import { deliverUnmirrored } from "./unmirrored.js";
import { runHook } from "./hooks.js";
import {
  vEntityKind,
  type EntityKind,
  type KeyRef,
  type OrganizationSnapshot,
  type PermissionSnapshot,
  type RoleSnapshot,
  type UserSnapshot,
  type Version,
} from "../shared/mirror.js";
import { type ChangeOrigin, type MirrorEvent } from "../shared/mirrorEvents.js";
import { expiresAtFor, retentionWindowMs } from "../shared/retention.js";
import type { ApplyResult } from "./changes.js";
import type { Doc } from "./_generated/dataModel.js";
import { requestTriggeredRefresh, vRefreshTriggers } from "./refreshTriggers.js";
import { requestBillingRefresh } from "./billingTriggers.js";

/** What `applyEvent` takes besides the event (`recordFailedEvent` shares some). */
const deliveryArgs = {
  /** Kinde's unsigned `webhook-id` header, kept for diagnostics only. */
  webhookId: v.optional(v.string()),
  /** A handle to the host's event hook, run in this transaction when the event is applied. */
  onEvent: v.optional(v.string()),
  /** How long events and deletions are remembered. Default 7 (`DEFAULT_RETENTION_DAYS`). */
  retentionDays: v.optional(v.number()),
  /** The host's enrichment refresh, when enrichment is on: an applied event may ask for one. */
  refresh: v.optional(vRefreshTriggers),
};
type Delivery = ObjectType<typeof deliveryArgs>;

/**
 * Applies one verified Kinde event, exactly once: the dedupe check on the
 * signed `event_id`, the ordering check, the change to the mirror, the event
 * record and the host's hook all happen in this one transaction, so a crash,
 * a throwing hook or a concurrent delivery of the same event can neither lose
 * it nor apply it twice.
 */
export const applyEvent = mutation({
  args: { event: vKindeEvent, ...deliveryArgs },
  returns: v.object({ outcome: vOutcome }),
  handler: applyOnce,
});

async function applyOnce(
  ctx: MutationCtx,
  { event, webhookId, onEvent, retentionDays, refresh }: Delivery & { event: KindeEvent },
): Promise<{ outcome: Outcome }> {
  const seen = await ctx.db
    .query("webhookEvents")
    .withIndex("eventId", (q) => q.eq("eventId", event.eventId))
    .first();
  if (seen) return { outcome: "duplicate" };

  const now = Date.now();
  const expiresAt = expiresAtFor(now, retentionDays);
  // Older than what the component still remembers (dedupe records,
  // tombstones): applying it could resurrect a pruned deletion or replay a
  // pruned event, so it is only recorded. Dated in the future: applying it
  // would outrank every real event for the entity until that date.
  const result: ApplyResult | UnmirroredReceipt | { outcome: "expired" | "future" } =
    event.occurredAt < now - retentionWindowMs(retentionDays)
      ? { outcome: "expired" }
      : isFutureDated(event.occurredAt, now)
        ? { outcome: "future" }
        : event.type === "unhandled"
          ? await deliverUnmirrored(ctx, onEvent, event)
          : await dispatch(ctx, event, expiresAt);
  const { outcome } = result;

  // A billing event asks for a refresh of its customer's owner, whatever the host's handler did.
  const billingRequest =
    event.type === "unhandled" &&
    event.customer &&
    refresh?.billing &&
    outcome !== "expired" &&
    outcome !== "future"
      ? await requestBillingRefresh(ctx, event.customer, refresh.handle)
      : {};

  await recordEvent(ctx, outcome, {
    eventId: event.eventId,
    type: kindeTypeOf(event),
    source: event.source,
    occurredAt: event.occurredAt,
    ...entityOf(event),
    ...("error" in result ? { error: bounded(result.error, MAX_RECORDED_ERROR_LENGTH) } : {}),
    webhookId,
    expiresAt,
    ...billingRequest,
  });
  if (result.outcome === "applied" && refresh && event.type !== "unhandled") {
    await requestTriggeredRefresh(ctx, event, refresh);
  }
  if (result.outcome === "applied" && result.change && onEvent) {
    const origin: ChangeOrigin = {
      kind: "webhook",
      eventId: event.eventId,
      kindeType: event.type,
      source: event.source,
      occurredAt: event.occurredAt,
    };
    const hookEvent: MirrorEvent = { ...result.change, origin };
    await runHook(ctx, onEvent, { event: hookEvent });
  }
  return { outcome };
}

/** What an event record holds besides its outcome. */
type RecordFields = Omit<Doc<"webhookEvents">, "_id" | "_creationTime" | "outcome">;

/** Inserts the event's record (its dedupe record); an unapplied one also counts for getSyncStatus. */
async function recordEvent(ctx: MutationCtx, outcome: RecordedOutcome, fields: RecordFields) {
  await ctx.db.insert("webhookEvents", { ...fields, outcome });
  if ((UNAPPLIED_OUTCOMES as readonly string[]).includes(outcome)) {
    await adjustCount(ctx, "unappliedEvents", fields.eventId, 1);
  }
}

/**
 * Records a verified event that could not be applied for a reason no retry
 * changes (the webhook classified the error), exactly once: an event already
 * recorded (an earlier delivery applied or recorded it) is a duplicate.
 * It takes a bounded summary, never the event, so it cannot itself exceed a
 * Convex limit where the event did.
 */
export const recordFailedEvent = mutation({
  args: {
    eventId: v.string(),
    type: v.string(),
    source: v.optional(v.string()),
    occurredAt: v.number(),
    entityKind: v.optional(vEntityKind),
    entityId: v.optional(v.string()),
    error: v.string(),
    webhookId: deliveryArgs.webhookId,
    retentionDays: deliveryArgs.retentionDays,
  },
  returns: v.object({ outcome: v.union(v.literal("failed"), v.literal("duplicate")) }),
  handler: async (ctx, { retentionDays, ...summary }) => {
    const seen = await ctx.db
      .query("webhookEvents")
      .withIndex("eventId", (q) => q.eq("eventId", summary.eventId))
      .first();
    if (seen) return { outcome: "duplicate" as const };
    await recordEvent(ctx, "failed", {
      ...summary,
      type: bounded(summary.type, MAX_SUMMARY_FIELD_LENGTH),
      source: summary.source && bounded(summary.source, MAX_SUMMARY_FIELD_LENGTH),
      entityId: summary.entityId && bounded(summary.entityId, MAX_SUMMARY_FIELD_LENGTH),
      error: bounded(summary.error, MAX_RECORDED_ERROR_LENGTH),
      expiresAt: expiresAtFor(Date.now(), retentionDays),
    });
    return { outcome: "failed" as const };
  },
});

/** Kinde's types, sources and ids are tens of characters; a failure record keeps at most this many. */
const MAX_SUMMARY_FIELD_LENGTH = 200;

function bounded(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** How each kind of entity takes each change `EVENT_TYPES` names. */
const APPLIERS: { [K in EntityKind]: Appliers<SnapshotOf[K]> } = {
  user: {
    snapshot: async (ctx, version, user) =>
      await applyUserSnapshot(ctx, version, await withCatalogIds(ctx, user)),
    deletion: deleteUser,
  },
  organization: { snapshot: applyOrganizationSnapshot, deletion: deleteOrganization },
  role: catalogAppliers("role"),
  permission: catalogAppliers("permission"),
};

interface SnapshotOf {
  user: UserSnapshot;
  organization: OrganizationSnapshot;
  role: RoleSnapshot;
  permission: PermissionSnapshot;
}

interface Appliers<S> {
  snapshot: (ctx: MutationCtx, version: Version, snapshot: S) => Promise<ApplyResult>;
  deletion: (
    ctx: MutationCtx,
    version: Version,
    entityId: string,
    keepUntil: number,
  ) => Promise<ApplyResult>;
}

function catalogAppliers(kind: CatalogKind): Appliers<RoleSnapshot | PermissionSnapshot> {
  return {
    snapshot: async (ctx, version, snapshot) =>
      await applyCatalogSnapshot(ctx, kind, version, snapshot),
    deletion: async (ctx, version, kindeId, keepUntil) =>
      await deleteCatalogEntry(ctx, kind, version, kindeId, keepUntil),
  };
}

async function dispatch(
  ctx: MutationCtx,
  event: HandledEvent,
  keepUntil: number,
): Promise<ApplyResult> {
  const version = { at: event.occurredAt, eventId: event.eventId };
  const { entityKind, entityId, change } = changeOf(event);
  // The table pairs each kind with its own snapshot; TypeScript cannot follow
  // that through two lookups, so the kind's appliers are read as taking any.
  const appliers = APPLIERS[entityKind] as Appliers<SnapshotOf[EntityKind]>;
  switch (change) {
    case "snapshot":
      return await appliers.snapshot(ctx, version, (event as SnapshotEvent)[entityKind]!);
    case "deletion":
      return await appliers.deletion(ctx, version, entityId, keepUntil);
    case "signIn": // only users sign in
      return await recordSignIn(ctx, version, entityId);
  }
}

/** A snapshot event: its entity sits under the entity kind's name. */
type SnapshotEvent = { [K in EntityKind]?: SnapshotOf[K] };

/**
 * Gives key-only refs (Kinde's published types declare roles and permissions
 * as plain keys) the Kinde id of the catalog entry holding that key now, so
 * deletions and renames of that entry reach them. A key the catalog does not
 * know stays key-only (`kindeId: ""`) and is checked by its key. One index
 * range per distinct key, and none for a snapshot of `{ id, key }` refs.
 */
async function withCatalogIds(ctx: MutationCtx, user: UserSnapshot): Promise<UserSnapshot> {
  const keyOnly = (refs: KeyRef[]) => refs.some((r) => r.kindeId === "");
  if (!user.organizations.some((m) => keyOnly(m.roles) || keyOnly(m.permissions))) return user;
  const resolved = new Map<string, string>();
  const resolve = async (kind: CatalogKind, refs: KeyRef[]) => {
    const byId = new Map<string, KeyRef>();
    for (const ref of refs) {
      let kindeId = ref.kindeId;
      if (kindeId === "") {
        const cacheKey = `${kind} ${ref.key}`;
        if (!resolved.has(cacheKey)) {
          resolved.set(cacheKey, (await findByKey(ctx, kind, ref.key))?.kindeId ?? "");
        }
        kindeId = resolved.get(cacheKey)!;
      }
      // A key-only ref resolved to an id the snapshot also lists is held once.
      const identity = kindeId === "" ? `key ${ref.key}` : kindeId;
      if (!byId.has(identity)) byId.set(identity, { kindeId, key: ref.key });
    }
    return [...byId.values()];
  };
  const organizations = [];
  for (const membership of user.organizations) {
    organizations.push({
      orgCode: membership.orgCode,
      roles: await resolve("role", membership.roles),
      permissions: await resolve("permission", membership.permissions),
    });
  }
  return { ...user, organizations };
}
