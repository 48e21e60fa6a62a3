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
 * named in `dropped`, for the caller to log (`boundDetails`, `boundProperties`).
 */
import {
  boundDetails,
  boundProperties,
  type Bounded,
  type DetailField,
  type KindeIdentity,
  type KindeProperties,
  type UserDetails,
} from "../shared/enrichment.js";
import type { PropertySelection } from "./config.js";
import { parseKindeTimestamp, text, withoutUndefined } from "./kindePayloads.js";

function cleanText(value: unknown): string | undefined {
  return typeof value === "string" ? text(value) : undefined;
}

function timestamp(value: unknown): number | undefined {
  return typeof value === "string" ? parseKindeTimestamp(value) : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * A user's identities as `{ type, identity }` (Kinde's `connection_id` and
 * anything else left out), each once, in Kinde's order; one without a type
 * names no way to sign in. Undefined when Kinde did not list them.
 */
export function toIdentities(identities: unknown): KindeIdentity[] | undefined {
  if (!Array.isArray(identities)) return undefined;
  const kept = new Map<string, KindeIdentity>();
  for (const item of identities as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const type = cleanText((item as Record<string, unknown>).type);
    const identity = cleanText((item as Record<string, unknown>).identity);
    if (type === undefined) continue;
    kept.set(JSON.stringify([type, identity ?? null]), withoutUndefined({ type, identity }));
  }
  return [...kept.values()];
}

/**
 * The details `fields` names of a user as a Management API read gave it:
 * every named field the read carried, so one Kinde no longer has is absent.
 * `signIns` is the sign-in count and the last sign-in. Within enrichment's
 * bounds (`boundDetails`). Null when `fields` is empty (nothing to send).
 */
export function toUserDetails(
  user: Record<string, unknown>,
  fields: readonly DetailField[],
): Bounded<UserDetails> | null {
  if (fields.length === 0) return null;
  const wants = (field: DetailField) => fields.includes(field);
  return boundDetails(
    withoutUndefined<UserDetails>({
      picture: wants("picture") ? cleanText(user.picture) : undefined,
      createdAt: wants("createdAt") ? timestamp(user.created_on) : undefined,
      totalSignIns: wants("signIns") ? count(user.total_sign_ins) : undefined,
      lastSignedInAt: wants("signIns") ? timestamp(user.last_signed_in) : undefined,
      identities: wants("identities") ? toIdentities(user.identities) : undefined,
    }),
  );
}

/**
 * The properties `selection` names, from Kinde's key-value pairs: keys
 * trimmed, each once (the first), a `""` or `null` value is not set (absent),
 * a number or boolean becomes its text. Within enrichment's bounds
 * (`boundProperties`: keys a document may not hold, long keys and values,
 * and past the most kept, in key order, are dropped).
 */
export function toProperties(
  entries: Iterable<readonly [unknown, unknown]>,
  selection: PropertySelection,
): Bounded<KindeProperties> {
  const wanted = selection === "all" ? undefined : new Set(selection);
  const found = new Map<string, string>();
  for (const [rawKey, rawValue] of entries) {
    if (typeof rawKey !== "string") continue;
    const key = rawKey.trim();
    if ((wanted && !wanted.has(key)) || found.has(key)) continue;
    const value =
      typeof rawValue === "number" || typeof rawValue === "boolean"
        ? String(rawValue)
        : cleanText(rawValue);
    if (value !== undefined) found.set(key, value);
  }
  return boundProperties(Object.fromEntries(found));
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
