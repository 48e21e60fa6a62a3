/**
 * Kinde's Management API answers to enrichment's shapes
 * (`src/shared/enrichment.ts`): a user as `GET /api/v1/user`, `GET
 * /api/v1/users` or `GET /api/v1/search/users` gives it to {@link UserDetails},
 * and property values, as a list (`GET …/properties`) or an object (the
 * search listing's `expand=properties`), to {@link KindeProperties} holding
 * the keys the `enrichment` option names. Pure functions: no Convex, no I/O.
 *
 * The rules, those of `kindePayloads.ts` where they meet: text is trimmed and
 * `""` or `null` is "not set", so the field is absent; a date is Kinde's ISO
 * timestamp (microseconds, an offset) in ms since epoch, and absent when it
 * is not one; an identity keeps its `type` and `identity` and nothing else.
 * What exceeds enrichment's caps, or cannot be a stored key, is dropped and
 * named in `dropped`, for the caller to log.
 */
import { v } from "convex/values";
import {
  MAX_ENRICHMENT_TEXT,
  MAX_IDENTITIES,
  MAX_PROPERTIES,
  type DetailField,
  type KindeIdentity,
  type KindeProperties,
  type UserDetails,
} from "../shared/enrichment.js";
import type { PropertySelection } from "./config.js";
import { parseKindeTimestamp, text, withoutUndefined } from "./kindePayloads.js";

/**
 * The detail fields of a Management API user, unchecked: a value of the wrong
 * type leaves its field absent, it never drops the user.
 */
export const kindeDetailFields = {
  picture: v.optional(v.any()),
  created_on: v.optional(v.any()),
  total_sign_ins: v.optional(v.any()),
  last_signed_in: v.optional(v.any()),
  identities: v.optional(v.any()),
};

/** A value within enrichment's caps, and what was left out to get there (empty if nothing). */
export interface Mapped<T> {
  value: T;
  dropped: string[];
}

const quoted = (value: string) =>
  JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);

/** Trimmed text of at most {@link MAX_ENRICHMENT_TEXT} characters; `too long` when it is longer. */
function boundedText(value: unknown): string | undefined | "too long" {
  const cleaned = typeof value === "string" ? text(value) : undefined;
  if (cleaned === undefined) return undefined;
  return cleaned.length > MAX_ENRICHMENT_TEXT ? "too long" : cleaned;
}

function timestamp(value: unknown): number | undefined {
  return typeof value === "string" ? parseKindeTimestamp(value) : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * A user's identities as `{ type, identity }` (Kinde's `connection_id` and
 * anything else left out), each once, in Kinde's order, at most
 * {@link MAX_IDENTITIES}. Undefined when Kinde did not list them.
 */
export function toIdentities(identities: unknown, dropped: string[]): KindeIdentity[] | undefined {
  if (!Array.isArray(identities)) return undefined;
  const kept = new Map<string, KindeIdentity>();
  for (const item of identities as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const { type, identity } = item as Record<string, unknown>;
    const cleanType = boundedText(type);
    const cleanIdentity = boundedText(identity);
    if (cleanType === undefined) continue; // names no way to sign in
    if (cleanType === "too long" || cleanIdentity === "too long") {
      dropped.push(`an identity longer than ${MAX_ENRICHMENT_TEXT} characters`);
      continue;
    }
    const entry = withoutUndefined({ type: cleanType, identity: cleanIdentity });
    kept.set(JSON.stringify([cleanType, cleanIdentity ?? null]), entry);
  }
  const all = [...kept.values()];
  if (all.length > MAX_IDENTITIES) {
    dropped.push(`${all.length - MAX_IDENTITIES} identities past the first ${MAX_IDENTITIES}`);
  }
  return all.slice(0, MAX_IDENTITIES);
}

/**
 * The details `fields` names of a user as a Management API read gave it:
 * every named field the read carried, so one Kinde no longer has is absent.
 * `signIns` is the sign-in count and the last sign-in. Null when `fields` is
 * empty (nothing to send).
 */
export function toUserDetails(
  user: Record<string, unknown>,
  fields: readonly DetailField[],
): Mapped<UserDetails> | null {
  if (fields.length === 0) return null;
  const dropped: string[] = [];
  const wants = (field: DetailField) => fields.includes(field);
  let picture: string | undefined;
  if (wants("picture")) {
    const cleaned = boundedText(user.picture);
    if (cleaned === "too long")
      dropped.push(`picture: longer than ${MAX_ENRICHMENT_TEXT} characters`);
    else picture = cleaned;
  }
  const value = withoutUndefined<UserDetails>({
    picture,
    createdAt: wants("createdAt") ? timestamp(user.created_on) : undefined,
    totalSignIns: wants("signIns") ? count(user.total_sign_ins) : undefined,
    lastSignedInAt: wants("signIns") ? timestamp(user.last_signed_in) : undefined,
    identities: wants("identities") ? toIdentities(user.identities, dropped) : undefined,
  });
  return { value, dropped };
}

/** Whether `key` may be a key of a stored object: printable ASCII, not starting with `$` or `_`. */
export function isPropertyKey(key: string): boolean {
  return /^[\x20-\x7e]+$/.test(key) && !key.startsWith("$") && !key.startsWith("_");
}

/**
 * The properties `selection` names, from Kinde's key-value pairs: keys
 * trimmed, a `""` or `null` value is not set (absent), a number or boolean
 * becomes its text. A key that cannot be stored, or a key or value longer
 * than {@link MAX_ENRICHMENT_TEXT}, is dropped; past {@link MAX_PROPERTIES}
 * (in key order, so every fetch keeps the same ones) the rest are.
 */
export function toProperties(
  entries: Iterable<readonly [unknown, unknown]>,
  selection: PropertySelection,
): Mapped<KindeProperties> {
  const wanted = selection === "all" ? undefined : new Set(selection);
  const found = new Map<string, string>();
  const dropped: string[] = [];
  for (const [rawKey, rawValue] of entries) {
    if (typeof rawKey !== "string") continue;
    const key = rawKey.trim();
    if (wanted && !wanted.has(key)) continue;
    if (found.has(key)) continue;
    const value =
      typeof rawValue === "number" || typeof rawValue === "boolean"
        ? String(rawValue)
        : typeof rawValue === "string"
          ? text(rawValue)
          : undefined;
    if (value === undefined) continue;
    if (!isPropertyKey(key)) dropped.push(`property ${quoted(key)}: not a key a document may hold`);
    else if (key.length > MAX_ENRICHMENT_TEXT || value.length > MAX_ENRICHMENT_TEXT) {
      dropped.push(`property ${quoted(key)}: longer than ${MAX_ENRICHMENT_TEXT} characters`);
    } else found.set(key, value);
  }
  const keys = [...found.keys()].sort();
  if (keys.length > MAX_PROPERTIES) {
    dropped.push(`${keys.length - MAX_PROPERTIES} properties past the first ${MAX_PROPERTIES}`);
  }
  const value = Object.fromEntries(keys.slice(0, MAX_PROPERTIES).map((k) => [k, found.get(k)!]));
  return { value, dropped };
}

/** Property values as `GET /api/v1/users/{id}/properties` lists them: `[{ key, value, … }]`. */
export function propertyListEntries(list: unknown): [unknown, unknown][] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[]).flatMap((item) =>
    typeof item === "object" && item !== null
      ? [[(item as Record<string, unknown>).key, (item as Record<string, unknown>).value]]
      : [],
  );
}

/** Property values as the search listing's `expand=properties` gives them: `{ key: value }`. */
export function propertyObjectEntries(object: unknown): [unknown, unknown][] {
  return typeof object === "object" && object !== null && !Array.isArray(object)
    ? Object.entries(object)
    : [];
}
