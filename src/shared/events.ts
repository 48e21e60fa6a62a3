/**
 * Kinde's webhook events as the client normalises them for the component, what
 * the component did with each (the outcome) and what the event log records.
 */
import { v, type Infer, type PropertyValidators } from "convex/values";
import {
  vEntityKind,
  vOrganizationSnapshot,
  vPermissionSnapshot,
  vRoleSnapshot,
  vUserSnapshot,
} from "./mirror.js";
import { ofTypes, oneMemberPerType } from "./validators.js";
import { vUnmirroredData } from "./unmirroredEvents.js";
import { vCustomerRef } from "./customerEvents.js";

/** Fields every normalised event carries, taken from Kinde's signed envelope. */
const eventFields = {
  /** Kinde's signed `event_id`: the dedupe key. */
  eventId: v.string(),
  /** Who caused the event in Kinde (`admin`, `api`, `user`), when Kinde says. */
  source: v.optional(v.string()),
  /** `event_timestamp ?? timestamp`, in ms since epoch (fractional). */
  occurredAt: v.number(),
};

/** Kinde events of any of `types` whose data is `fields`. */
const events = <T extends string, F extends PropertyValidators>(types: [T, ...T[]], fields: F) =>
  ofTypes(types, { ...eventFields, ...fields });

/**
 * A verified Kinde event, normalised for the component and for the host's
 * event hooks: discriminated by `type`, camelCase, empty values absent.
 * Event types the component does not mirror arrive as
 * `{ type: "unhandled", kindeType }`, so they are still deduplicated and
 * recorded; they carry their data (as JSON text) only when the host has hooks
 * to hand it to. `webhooks.applyEvent` takes any of them; what
 * each type does is in `EVENT_TYPES` (`./eventTypes.ts`).
 *
 * Types that carry the same data share one union member (a smaller validator);
 * `oneMemberPerType` types it one member per type, which `EventOf<T>` and
 * `switch (event.type)` need to narrow to a single event.
 */
export const vKindeEvent = oneMemberPerType(
  v.union(
    events(["user.created", "user.updated"], { user: vUserSnapshot }),
    events(["user.deleted", "user.authenticated"], { kindeId: v.string() }),
    events(["organization.created", "organization.updated"], {
      organization: vOrganizationSnapshot,
    }),
    events(["organization.deleted"], { orgCode: v.string() }),
    events(["role.created", "role.updated"], { role: vRoleSnapshot }),
    events(["role.deleted"], { kindeId: v.string() }),
    events(["permission.created", "permission.updated"], { permission: vPermissionSnapshot }),
    events(["permission.deleted"], { kindeId: v.string() }),
    events(["unhandled"], {
      kindeType: v.string(),
      // Only when the host has hooks: what an unmirrored event's handler
      // receives besides the envelope (see `vUnmirroredDelivery`).
      ipAddress: v.optional(v.string()),
      data: v.optional(vUnmirroredData),
      // Only with the `billing` option, on a `customer.*` event: whose
      // customer it names, for the refresh it triggers.
      customer: v.optional(vCustomerRef),
    }),
  ),
);
export type KindeEvent = Infer<typeof vKindeEvent>;

/** Kinde's own name for the event's type, also for types the component does not mirror. */
export function kindeTypeOf(event: KindeEvent): string {
  return event.type === "unhandled" ? event.kindeType : event.type;
}

/**
 * What the component did with a verified event.
 * - `applied`: the mirror changed.
 * - `duplicate`: this `event_id` was seen before; nothing was written.
 * - `stale`: the mirror already holds newer state (or the entity was deleted);
 *   only the event record was written.
 * - `expired`: the event happened before the retention window, so the
 *   component no longer remembers enough to apply it safely (a replay of an
 *   old token, or a delivery days late); only the event record was written.
 * - `delivered`: an event type the component does not mirror, handed to the
 *   host's handler for it (`kinde.events`), which ran; recorded.
 * - `ignored`: an event type the component does not mirror and the host has
 *   no handler for; recorded only.
 * - `future`: dated later than its arrival by more than the allowed clock
 *   skew (`MAX_CLOCK_SKEW_MS`); not applied, so it cannot outrank the real
 *   events that follow it. Only the event record was written.
 * - `failed`: it could not be applied for a reason no retry changes (a Convex
 *   limit, a value Convex cannot store), or the host's handler for its
 *   unmirrored type could not receive it (its data too large, or not the
 *   shape Kinde publishes); nothing of it was written but the event record,
 *   which carries the `error`.
 */
const recordedOutcomes = [
  v.literal("applied"),
  v.literal("delivered"),
  v.literal("stale"),
  v.literal("expired"),
  v.literal("ignored"),
  v.literal("future"),
  v.literal("failed"),
] as const;
export const vOutcome = v.union(...recordedOutcomes, v.literal("duplicate"));
export type Outcome = Infer<typeof vOutcome>;
/** The outcomes the event log records: a duplicate is not recorded a second time. */
export const vRecordedOutcome = v.union(...recordedOutcomes);
export type RecordedOutcome = Infer<typeof vRecordedOutcome>;

/** Recorded outcomes of events the mirror holds but did not apply: what an app alerts on. */
export const UNAPPLIED_OUTCOMES = ["future", "failed"] as const satisfies RecordedOutcome[];

/**
 * How far in the future an event may be dated, relative to when the
 * component receives it, and still be applied: Kinde's and Convex's clocks
 * may differ by this much. A later date is a clock fault (or a forged
 * archive replay), and applying it would make every real event for the
 * entity `stale` until that date.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * How the component marks an error thrown by the host's event hook, so the
 * webhook answers it with a retryable 500 whatever the hook's message says.
 */
export const HOOK_FAILURE = "the host's event hook threw: ";

/** The longest `error` an event record keeps: enough to name the limit, never large enough to fail itself. */
export const MAX_RECORDED_ERROR_LENGTH = 1000;

/** What the event log records of one verified event. */
export const vEventRecord = v.object({
  eventId: v.string(),
  /** Kinde's event type, e.g. `user.updated` (also for types the component ignores). */
  type: v.string(),
  source: v.optional(v.string()),
  /** When it happened in Kinde, ms since epoch. */
  occurredAt: v.number(),
  /** When the webhook received it, ms since epoch. */
  receivedAt: v.number(),
  outcome: vRecordedOutcome,
  /** Why a `failed` event could not be applied (bounded; the limit Convex reported). */
  error: v.optional(v.string()),
  /** The entity it is about: its kind and id (a Kinde id, or an organization's code). */
  entityKind: v.optional(vEntityKind),
  entityId: v.optional(v.string()),
  /** Kinde's `webhook-id` header of the delivery, for matching Kinde's delivery logs. */
  webhookId: v.optional(v.string()),
  /**
   * With the `billing` option, a `customer.*` event whose customer matched
   * no mirrored user or organization: the top-level keys of its `data`
   * (never the values; at most 20, each at most 64 characters), so the
   * doctor can say what it carried. Its outcome is what it would be anyway.
   */
  unmatchedKeys: v.optional(v.array(v.string())),
});
export type EventRecord = Infer<typeof vEventRecord>;

/** A cheap summary of the mirror's state. */
export const vSyncStatus = v.object({
  lastEvent: v.union(vEventRecord, v.null()),
  users: v.number(),
  organizations: v.number(),
  /** Verified events recorded `failed` or `future` (not applied) since the component was installed. */
  unappliedEvents: v.number(),
  /** The latest of them still in the event log (within retention), or null. */
  lastUnappliedEvent: v.union(vEventRecord, v.null()),
});
export type SyncStatus = Infer<typeof vSyncStatus>;
