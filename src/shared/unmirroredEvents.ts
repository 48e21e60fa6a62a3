/**
 * Kinde events of the types the mirror does not mirror (`customer.*`,
 * `user.authentication_failed`, …), as the host's handlers receive them: the
 * envelope camelCased, Kinde's own `data` untouched. Between the webhook, the
 * component and the host's hook the data travels as JSON text, since it may
 * hold keys Convex values refuse (`$…`, `_…`) and is bounded by
 * {@link MAX_UNMIRRORED_DATA_BYTES}.
 */
import { v, type Infer } from "convex/values";
import { parse, validate } from "convex-helpers/validators";
import { messageOf } from "./errors.js";

/** A JSON value, as `JSON.parse` gives it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object: Kinde's `data` of a type whose shape it does not publish. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * The most UTF-8 bytes of JSON a handler's `data` may take: far above any
 * published Kinde payload (a few hundred bytes), far below what Convex takes
 * as an argument or stores in a document (1 MiB), so a handler may store it
 * whole. An event with more is recorded `failed` if the host has a handler for
 * its type (which does not run), `ignored` if not, and answered 200 either way.
 */
export const MAX_UNMIRRORED_DATA_BYTES = 256 * 1024;

/**
 * The deepest a handler's `data` may nest (the object itself is level 1):
 * JSON.stringify and structured code recurse, and Kinde's payloads nest 3
 * deep. Deeper data is treated as data too large.
 */
export const MAX_UNMIRRORED_DATA_DEPTH = 64;

/** Kinde sends `""`, `null` or nothing for an empty field. */
const vText = v.optional(v.union(v.string(), v.null()));
const vUserRef = v.object({ id: v.string() });
const vPasskeyData = v.object({
  user: vUserRef,
  passkey: v.object({ id: v.string(), name: vText }),
});

/**
 * The `data` Kinde publishes for unmirrored types (`@kinde/webhooks`' types;
 * passkeys from a docs example Kinde later withdrew), checked before a handler
 * runs. Only ids are required; other fields may be empty, as in the mirrored
 * types. Fields Kinde adds stay in `data`. Not exported from the package:
 * Kinde's names (`id`, `user_id`) are not the glossary's.
 */
const DECLARED_DATA = {
  "user.authentication_failed": v.object({ user: vUserRef }),
  "subscriber.created": v.object({
    subscriber: v.object({
      id: v.string(),
      email: vText,
      first_name: vText,
      last_name: vText,
      user_id: vText,
    }),
  }),
  "access_request.created": v.object({
    access_request: v.object({
      email: vText,
      first_name: vText,
      last_name: vText,
      user_id: vText,
    }),
  }),
  "passkey.added": vPasskeyData,
  "passkey.removed": vPasskeyData,
};
type DeclaredType = keyof typeof DECLARED_DATA;

/**
 * Kinde's billing events. Kinde publishes no payload for them, and the
 * integrations in the wild read the customer from different fields
 * (`data.customer_id`, `data.customer.id`, `data.org_code`, `data.user_id`),
 * so their `data` is plain JSON.
 */
export const CUSTOMER_EVENT_TYPES = [
  "customer.agreement_cancelled",
  "customer.agreement_created",
  "customer.invoice_overdue",
  "customer.meter_usage_updated",
  "customer.payment_failed",
  "customer.payment_succeeded",
  "customer.plan_created",
  "customer.plan_assigned",
  "customer.plan_changed",
] as const;

/**
 * The Kinde event types the mirror does not mirror that Kinde documents. A
 * handler for another type (one Kinde adds later) is declared by naming it:
 * `kinde.events<DataModel, "customer.new_type">(…)`.
 */
export const UNMIRRORED_EVENT_TYPES = [
  ...(Object.keys(DECLARED_DATA) as DeclaredType[]),
  ...CUSTOMER_EVENT_TYPES,
] as const;
export type UnmirroredEventType = (typeof UNMIRRORED_EVENT_TYPES)[number];

/** Kinde's `data` of an event of type `T`: its published shape, or a JSON object. */
export type UnmirroredEventData<T extends string> = T extends DeclaredType
  ? Infer<(typeof DECLARED_DATA)[T]> & JsonObject
  : JsonObject;

/**
 * What a handler for a type the mirror does not mirror receives: Kinde's
 * event with its envelope camelCased and its `data` as Kinde sent it.
 */
export interface UnmirroredEvent<T extends string = string> {
  type: T;
  /** Kinde's signed `event_id`: each runs its handler once. */
  eventId: string;
  /** Who caused it in Kinde (`admin`, `api`, `user`), when Kinde says. */
  source?: string;
  /** `event_timestamp ?? timestamp`, in ms since epoch. */
  occurredAt: number;
  /** Kinde's top-level `ip_address` (`user.authentication_failed`), when it sends one. */
  ipAddress?: string;
  data: UnmirroredEventData<T>;
}

/**
 * Kinde's `data` on its way to a handler: its JSON text, or why it was left
 * out (larger than {@link MAX_UNMIRRORED_DATA_BYTES}, or nested deeper than
 * {@link MAX_UNMIRRORED_DATA_DEPTH}).
 */
export const vUnmirroredData = v.union(
  v.object({ json: v.string() }),
  v.object({ omitted: v.string() }),
);
export type UnmirroredData = Infer<typeof vUnmirroredData>;

/** What the component hands the host's hook for an unmirrored event: the envelope and the data. */
export const vUnmirroredDelivery = v.object({
  type: v.string(),
  eventId: v.string(),
  source: v.optional(v.string()),
  occurredAt: v.number(),
  ipAddress: v.optional(v.string()),
  data: vUnmirroredData,
});
export type UnmirroredDelivery = Infer<typeof vUnmirroredDelivery>;

/**
 * What the host's hook did with an unmirrored event, which the event log
 * records: `delivered` (its handler ran), `ignored` (the host has no handler
 * for the type), `failed` (it has one, which did not run: `error` says why).
 */
export const vUnmirroredReceipt = v.union(
  v.object({ outcome: v.literal("delivered") }),
  v.object({ outcome: v.literal("ignored") }),
  v.object({ outcome: v.literal("failed"), error: v.string() }),
);
export type UnmirroredReceipt = Infer<typeof vUnmirroredReceipt>;

/** `data` as the hook receives it: JSON text, unless too large or too deep to hand over. */
export function encodeUnmirroredData(data: unknown): UnmirroredData {
  // Checked before writing it: JSON.stringify recurses, and a verified token
  // may nest thousands deep (JSON.parse, which read it, does not recurse).
  if (nestsDeeperThan(data, MAX_UNMIRRORED_DATA_DEPTH)) {
    return {
      omitted: `its data nests deeper than ${MAX_UNMIRRORED_DATA_DEPTH} levels (MAX_UNMIRRORED_DATA_DEPTH)`,
    };
  }
  // `undefined` (no `data`) has no JSON and is sent as `null`. Lone
  // surrogates are escaped, so the text is a string Convex stores.
  const json = JSON.stringify(data) ?? "null";
  const bytes = new TextEncoder().encode(json).byteLength;
  return bytes > MAX_UNMIRRORED_DATA_BYTES
    ? {
        omitted: `its data is ${bytes} bytes of JSON, more than the ${MAX_UNMIRRORED_DATA_BYTES} a handler receives (MAX_UNMIRRORED_DATA_BYTES)`,
      }
    : { json };
}

/** Whether objects and arrays in `value` nest more than `limit` deep; walks without recursing. */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}

/**
 * The event a handler receives, rebuilt from what the component handed the
 * hook, or why the handler must not run: the data was too large or too
 * deep to hand over, is not a JSON object, or lacks what Kinde publishes for
 * the type.
 */
export function decodeUnmirroredEvent(
  delivery: UnmirroredDelivery,
): { event: UnmirroredEvent } | { error: string } {
  const { data: sent, ...envelope } = delivery;
  if ("omitted" in sent) return { error: `${sent.omitted}; the handler did not run` };
  const data = JSON.parse(sent.json) as JsonValue;
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return {
      error: `its data is ${data === null ? "null" : Array.isArray(data) ? "an array" : `a ${typeof data}`}, not a JSON object; the handler did not run`,
    };
  }
  const declared = Object.hasOwn(DECLARED_DATA, envelope.type)
    ? DECLARED_DATA[envelope.type as DeclaredType]
    : undefined;
  if (declared && !validate(declared, data, { allowUnknownFields: true })) {
    // parse's message names the field, never its value (which may be an email).
    let reason = "unexpected value";
    try {
      parse(declared, data);
    } catch (error) {
      reason = messageOf(error);
    }
    return {
      error: `its data does not have the shape Kinde publishes for ${envelope.type} (${reason}); the handler did not run`,
    };
  }
  return { event: { ...envelope, data } };
}
