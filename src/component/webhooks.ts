import { v, type ObjectType, type Validator } from "convex/values";
import type { FunctionHandle } from "convex/server";
import { mutation, type MutationCtx } from "./_generated/server.js";
import { applyUserSnapshot, deleteUser, recordSignIn } from "./users.js";
import { applyOrganizationSnapshot, deleteOrganization } from "./organizations.js";
import { applyCatalogSnapshot, deleteCatalogEntry } from "./catalog.js";
import {
  expiresAtFor,
  retentionWindowMs,
  vOrganizationEvent,
  vOutcome,
  vPermissionEvent,
  vRoleEvent,
  vUnhandledEvent,
  vUserEvent,
  type ChangeOrigin,
  type EntityKind,
  type KindeEvent,
  type MirrorEvent,
  type Outcome,
} from "../shared.js";
import type { ApplyResult } from "./changes.js";

/** What every apply mutation takes besides the event. */
const deliveryArgs = {
  /** Kinde's unsigned `webhook-id` header, kept for diagnostics only. */
  webhookId: v.optional(v.string()),
  /** A handle to the host's event hook, run in this transaction when the event is applied. */
  onEvent: v.optional(v.string()),
  /** How long events and deletions are remembered. Default 7 (`DEFAULT_RETENTION_DAYS`). */
  retentionDays: v.optional(v.number()),
};
type Delivery = ObjectType<typeof deliveryArgs>;

/**
 * A mutation that applies the events `vEvent` accepts with {@link applyOnce}.
 * There is one per kind of entity, so each validates only its own events and
 * its argument validator stays small.
 */
const applyMutation = <V extends Validator<KindeEvent, "required", string>>(vEvent: V) =>
  mutation({
    args: { event: vEvent, ...deliveryArgs },
    returns: v.object({ outcome: vOutcome }),
    handler: applyOnce,
  });

/** Applies one verified `user.*` event, exactly once. */
export const applyUserEvent = applyMutation(vUserEvent);
/** Applies one verified `organization.*` event, exactly once. */
export const applyOrganizationEvent = applyMutation(vOrganizationEvent);
/** Applies one verified `role.*` event, exactly once. */
export const applyRoleEvent = applyMutation(vRoleEvent);
/** Applies one verified `permission.*` event, exactly once. */
export const applyPermissionEvent = applyMutation(vPermissionEvent);
/** Records one verified event of a type the component does not mirror, exactly once. */
export const recordUnhandledEvent = applyMutation(vUnhandledEvent);

/**
 * Applies one verified Kinde event, exactly once: the dedupe check on the
 * signed `event_id`, the ordering check, the change to the mirror, the event
 * record and the host's hook all happen in this one transaction, so a crash,
 * a throwing hook or a concurrent delivery of the same event can neither lose
 * it nor apply it twice.
 */
async function applyOnce(
  ctx: MutationCtx,
  { event, webhookId, onEvent, retentionDays }: Delivery & { event: KindeEvent },
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
  // pruned event, so it is only recorded.
  const result: ApplyResult | { outcome: "expired" | "ignored" } =
    event.occurredAt < now - retentionWindowMs(retentionDays)
      ? { outcome: "expired" }
      : await dispatch(ctx, event, expiresAt);
  const { outcome } = result;

  await ctx.db.insert("webhookEvents", {
    eventId: event.eventId,
    type: event.type === "unhandled" ? event.kindeType : event.type,
    source: event.source,
    occurredAt: event.occurredAt,
    outcome,
    ...entityOf(event),
    webhookId,
    expiresAt,
  });
  if (result.outcome === "applied" && result.change && onEvent) {
    const origin: ChangeOrigin = {
      kind: "webhook",
      eventId: event.eventId,
      kindeType: event.type,
      source: event.source,
      occurredAt: event.occurredAt,
    };
    const hookEvent: MirrorEvent = { ...result.change, origin };
    await ctx.runMutation(onEvent as FunctionHandle<"mutation">, { event: hookEvent });
  }
  return { outcome };
}

async function dispatch(
  ctx: MutationCtx,
  event: KindeEvent,
  keepUntil: number,
): Promise<ApplyResult | { outcome: "ignored" }> {
  const version = { at: event.occurredAt, eventId: event.eventId };
  switch (event.type) {
    case "user.created":
    case "user.updated":
      return await applyUserSnapshot(ctx, version, event.user);
    case "user.deleted":
      return await deleteUser(ctx, version, event.kindeId, keepUntil);
    case "user.authenticated":
      return await recordSignIn(ctx, version, event.kindeId);
    case "organization.created":
    case "organization.updated":
      return await applyOrganizationSnapshot(ctx, version, event.organization);
    case "organization.deleted":
      return await deleteOrganization(ctx, version, event.orgCode, keepUntil);
    case "role.created":
    case "role.updated":
      return await applyCatalogSnapshot(ctx, "role", version, event.role);
    case "role.deleted":
      return await deleteCatalogEntry(ctx, "role", version, event.kindeId, keepUntil);
    case "permission.created":
    case "permission.updated":
      return await applyCatalogSnapshot(ctx, "permission", version, event.permission);
    case "permission.deleted":
      return await deleteCatalogEntry(ctx, "permission", version, event.kindeId, keepUntil);
    case "unhandled":
      return { outcome: "ignored" };
  }
}

/** The mirrored entity an event is about, as the event log records it. */
export function entityOf(event: KindeEvent): { entityKind?: EntityKind; entityId?: string } {
  const entity = (entityKind: EntityKind, entityId: string) => ({ entityKind, entityId });
  switch (event.type) {
    case "user.created":
    case "user.updated":
      return entity("user", event.user.kindeId);
    case "user.deleted":
    case "user.authenticated":
      return entity("user", event.kindeId);
    case "organization.created":
    case "organization.updated":
      return entity("organization", event.organization.code);
    case "organization.deleted":
      return entity("organization", event.orgCode);
    case "role.created":
    case "role.updated":
      return entity("role", event.role.kindeId);
    case "role.deleted":
      return entity("role", event.kindeId);
    case "permission.created":
    case "permission.updated":
      return entity("permission", event.permission.kindeId);
    case "permission.deleted":
      return entity("permission", event.kindeId);
    case "unhandled":
      return {};
  }
}
