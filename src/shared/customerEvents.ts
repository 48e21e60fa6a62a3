/**
 * Whose billing customer a `customer.*` event is about. Kinde publishes no
 * payload for these events; the shapes seen in the wild name the customer
 * by `data.customer_id`, `data.customer.id`, `data.org_code` or
 * `data.user_id`. The webhook reads each of them tolerantly (anything not a
 * usable id is left out) and keeps the top-level keys of `data`, never its
 * values, so an event whose owner cannot be found says what it carried.
 */
import { v, type Infer } from "convex/values";
import { MAX_BILLING_CODE } from "./billing.js";

/** The most top-level keys of an unmatched event's `data` its record keeps. */
export const MAX_UNMATCHED_KEYS = 20;
/** Each key cut to this many characters. */
export const MAX_UNMATCHED_KEY_LENGTH = 64;

/** What a `customer.*` event names of its customer, and the keys of its data. */
export const vCustomerRef = v.object({
  /** `data.customer_id`, else `data.customer.id`. */
  customerId: v.optional(v.string()),
  /** `data.org_code`. */
  orgCode: v.optional(v.string()),
  /** `data.user_id`: a Kinde user id. */
  kindeId: v.optional(v.string()),
  /** The top-level keys of `data`, bounded (see {@link MAX_UNMATCHED_KEYS}). */
  keys: v.array(v.string()),
});
export type CustomerRef = Infer<typeof vCustomerRef>;

/** Whether `type` is one of Kinde's billing events (any `customer.` type, also ones Kinde adds later). */
export function isCustomerEventType(type: string): boolean {
  return type.startsWith("customer.");
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** An id as a customer event may carry it: a non-empty, well-formed string within the code bound. */
function idOf(value: unknown): string | undefined {
  return typeof value === "string" &&
    value.trim() !== "" &&
    value.length <= MAX_BILLING_CODE &&
    value.isWellFormed()
    ? value
    : undefined;
}

/** A key cut to {@link MAX_UNMATCHED_KEY_LENGTH} characters (whole code points), made well-formed. */
function boundedKey(key: string): string {
  return [...key.toWellFormed()].slice(0, MAX_UNMATCHED_KEY_LENGTH).join("");
}

/** What a `customer.*` event's `data` names of its customer (pure; any value is accepted). */
export function customerRefOf(data: unknown): CustomerRef {
  if (!isRecord(data)) return { keys: [] };
  const ref: CustomerRef = {
    keys: Object.keys(data).slice(0, MAX_UNMATCHED_KEYS).map(boundedKey),
  };
  const customerId =
    idOf(data.customer_id) ?? (isRecord(data.customer) ? idOf(data.customer.id) : undefined);
  const orgCode = idOf(data.org_code);
  const kindeId = idOf(data.user_id);
  if (customerId !== undefined) ref.customerId = customerId;
  if (orgCode !== undefined) ref.orgCode = orgCode;
  if (kindeId !== undefined) ref.kindeId = kindeId;
  return ref;
}
