import { v } from "convex/values";
import { mutation, type MutationCtx } from "./_generated/server.js";
import { applyUserSnapshot, deleteUser, recordSignIn } from "./users.js";
import { applyOrganizationSnapshot, deleteOrganization } from "./organizations.js";
import { applyCatalogSnapshot, deleteCatalogEntry } from "./catalog.js";
import { vKindeEvent, vOutcome, type KindeEvent, type Outcome } from "../shared.js";

/**
 * Applies one verified Kinde event, exactly once: the dedupe check on the
 * signed `event_id`, the ordering check, the change to the mirror and the event
 * record all happen in this one transaction, so a crash or a concurrent
 * delivery of the same event can neither lose it nor apply it twice.
 */
export const apply = mutation({
  args: {
    event: vKindeEvent,
    /** Kinde's unsigned `webhook-id` header, kept for diagnostics only. */
    webhookId: v.optional(v.string()),
  },
  returns: v.object({ outcome: vOutcome }),
  handler: async (ctx, { event, webhookId }) => {
    const seen = await ctx.db
      .query("webhookEvents")
      .withIndex("eventId", (q) => q.eq("eventId", event.eventId))
      .first();
    if (seen) return { outcome: "duplicate" as const };

    const outcome = await dispatch(ctx, event);
    await ctx.db.insert("webhookEvents", {
      eventId: event.eventId,
      type: event.type === "unhandled" ? event.kindeType : event.type,
      source: event.source,
      occurredAt: event.occurredAt,
      receivedAt: Date.now(),
      outcome,
      entityKey: entityKeyOf(event),
      webhookId,
    });
    return { outcome };
  },
});

async function dispatch(ctx: MutationCtx, event: KindeEvent): Promise<Outcome> {
  const version = { at: event.occurredAt, eventId: event.eventId };
  switch (event.type) {
    case "user.created":
    case "user.updated":
      return await applyUserSnapshot(ctx, version, event.user);
    case "user.deleted":
      return await deleteUser(ctx, version, event.kindeId);
    case "user.authenticated":
      return await recordSignIn(ctx, version, event.kindeId);
    case "organization.created":
    case "organization.updated":
      return await applyOrganizationSnapshot(ctx, version, event.organization);
    case "organization.deleted":
      return await deleteOrganization(ctx, version, event.orgCode);
    case "role.created":
    case "role.updated":
      return await applyCatalogSnapshot(ctx, "role", version, event.role);
    case "role.deleted":
      return await deleteCatalogEntry(ctx, "role", version, event.kindeId);
    case "permission.created":
    case "permission.updated":
      return await applyCatalogSnapshot(ctx, "permission", version, event.permission);
    case "permission.deleted":
      return await deleteCatalogEntry(ctx, "permission", version, event.kindeId);
    case "unhandled":
      return "ignored";
  }
}

/** The mirrored entity an event is about, as recorded in the event log. */
export function entityKeyOf(event: KindeEvent): string | undefined {
  switch (event.type) {
    case "user.created":
    case "user.updated":
      return `user:${event.user.kindeId}`;
    case "user.deleted":
    case "user.authenticated":
      return `user:${event.kindeId}`;
    case "organization.created":
    case "organization.updated":
      return `organization:${event.organization.code}`;
    case "organization.deleted":
      return `organization:${event.orgCode}`;
    case "role.created":
    case "role.updated":
      return `role:${event.role.kindeId}`;
    case "permission.created":
    case "permission.updated":
      return `permission:${event.permission.kindeId}`;
    case "role.deleted":
      return `role:${event.kindeId}`;
    case "permission.deleted":
      return `permission:${event.kindeId}`;
    case "unhandled":
      return undefined;
  }
}
