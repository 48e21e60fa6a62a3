/**
 * Kinde's payloads, from a webhook or from the Management API, to the
 * mirror's row shapes (`src/shared/mirror.ts`). Both sources send the same
 * entities with the same field names, give or take a field, and the same
 * untidiness (`""`, `null`, stray whitespace), so the cleaning rules live
 * here once and the per-source mappings (`events.ts`, `backfill.ts`) stay
 * thin. Pure functions: no Convex, no I/O.
 *
 * The rules:
 * - **Identifiers** (Kinde ids, organization codes, role and permission
 *   keys, event ids) are trimmed. An entity whose own identifier is empty is
 *   refused with {@link InvalidPayloadError}: a webhook answers it 400, the
 *   backfill skips that item and logs why.
 * - **References** to other entities in a list (a user's organizations, a
 *   membership's roles and permissions) are trimmed too; a blank one names
 *   nothing and is dropped, and each is held once.
 * - **Text** (names, email, phone, …): trimmed; `""`, whitespace and `null`
 *   mean "not set", so the field is absent, never `""` or `null`.
 * - **Flags**: `null` means "not set" (absent, or `false` where the row
 *   needs a value).
 */
import { v, type Infer, type ObjectType } from "convex/values";
import type {
  KeyRef,
  OrganizationSnapshot,
  PermissionSnapshot,
  RoleSnapshot,
} from "../shared/mirror.js";

/** A Kinde payload the mirror cannot hold (e.g. an entity with an empty id). */
export class InvalidPayloadError extends Error {
  override name = "InvalidPayloadError";
}

/** A text field Kinde may send as a string, `""`, `null` or not at all. */
export const vKindeText = v.optional(v.union(v.string(), v.null()));
/** A flag Kinde may send as a boolean, `null` or not at all. */
export const vKindeFlag = v.optional(v.union(v.boolean(), v.null()));

/** A role or permission, as both sources send it (`is_default_role` on roles only). */
export const vKindeCatalogEntry = v.object({
  id: v.string(),
  key: v.string(),
  name: vKindeText,
  description: vKindeText,
  is_default_role: vKindeFlag,
});
export type KindeCatalogEntry = Infer<typeof vKindeCatalogEntry>;

/** An organization, as both sources send it (`is_allow_registrations` in webhooks only). */
export const vKindeOrganization = v.object({
  code: v.string(),
  name: vKindeText,
  handle: vKindeText,
  external_id: vKindeText,
  is_allow_registrations: vKindeFlag,
});
export type KindeOrganization = Infer<typeof vKindeOrganization>;

/** A user's profile fields, as both sources name them. */
export const kindeProfileFields = {
  id: v.string(),
  email: vKindeText,
  phone: vKindeText,
  username: vKindeText,
  first_name: vKindeText,
  last_name: vKindeText,
  is_suspended: vKindeFlag,
};
type KindeProfile = ObjectType<typeof kindeProfileFields>;

/**
 * A role or permission held in a membership. Webhooks carry `{ id, key }`
 * objects; `@kinde/webhooks` 1.0.0, the release on npm, declares plain key
 * strings. Both are accepted, mixed too: a string is a key.
 */
export const vKindeRefs = v.optional(
  v.union(v.null(), v.array(v.union(v.string(), v.object({ id: v.string(), key: v.string() })))),
);

/** The trimmed identifier `value`. @throws InvalidPayloadError naming `path` when it is empty. */
export function identifier(value: string, path: string): string {
  const id = value.trim();
  if (id === "") throw new InvalidPayloadError(`\`${path}\` is empty`);
  return id;
}

/** Trimmed text, or undefined for `""`, whitespace, `null` and absence. */
export function text(value: string | null | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** Drops keys whose value is undefined, so optional fields are truly absent. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** References by key or code: trimmed, blanks dropped, each once, in first-seen order. */
export function toKeys(keys: string[] | null | undefined): string[] {
  return [...new Set((keys ?? []).map((key) => key.trim()).filter((key) => key !== ""))];
}

/**
 * Kinde's role or permission refs, each held once: `{ id, key }` objects by
 * id, and key strings (or objects with a blank id) as key-only refs
 * (`kindeId: ""`, resolved against the catalog when applied), dropped where
 * an object in the same list has the same key. A ref with neither names
 * nothing.
 */
export function toKeyRefs(
  refs: readonly ({ id: string; key: string } | string)[] | null | undefined,
): KeyRef[] {
  const byId = new Map<string, KeyRef>();
  const keyOnly = new Map<string, KeyRef>();
  for (const ref of refs ?? []) {
    const kindeId = typeof ref === "string" ? "" : ref.id.trim();
    const key = (typeof ref === "string" ? ref : ref.key).trim();
    if (kindeId !== "") byId.set(kindeId, { kindeId, key });
    else if (key !== "") keyOnly.set(key, { kindeId: "", key });
  }
  const keysWithId = new Set([...byId.values()].map((r) => r.key));
  return [...byId.values(), ...[...keyOnly.values()].filter((r) => !keysWithId.has(r.key))];
}

/**
 * A user's identity and profile (`profileFields`). The email may be named
 * otherwise by a source (the Management API's single-user endpoint says
 * `preferred_email`): it passes it as `email`.
 *
 * @param path Where the user sits in the payload, for the refusal message.
 */
export function toProfile(user: KindeProfile, path: string) {
  return withoutUndefined({
    kindeId: identifier(user.id, `${path}.id`),
    email: text(user.email),
    phone: text(user.phone),
    username: text(user.username),
    firstName: text(user.first_name),
    lastName: text(user.last_name),
    isSuspended: user.is_suspended ?? false,
  });
}

export function toOrganizationSnapshot(
  organization: KindeOrganization,
  path: string,
): OrganizationSnapshot {
  return withoutUndefined({
    code: identifier(organization.code, `${path}.code`),
    name: text(organization.name),
    handle: text(organization.handle),
    externalId: text(organization.external_id),
    isAllowRegistrations: organization.is_allow_registrations ?? undefined,
  });
}

export function toPermissionSnapshot(entry: KindeCatalogEntry, path: string): PermissionSnapshot {
  return withoutUndefined({
    kindeId: identifier(entry.id, `${path}.id`),
    key: identifier(entry.key, `${path}.key`),
    name: text(entry.name),
    description: text(entry.description),
  });
}

export function toRoleSnapshot(entry: KindeCatalogEntry, path: string): RoleSnapshot {
  return withoutUndefined({
    ...toPermissionSnapshot(entry, path),
    isDefaultRole: entry.is_default_role ?? undefined,
  });
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Parses Kinde's timestamps, e.g. `2024-05-01T17:41:45.592145+10:00` (tenant
 * offset, microseconds) or `2026-02-03T12:00:00.000Z`, to ms since epoch. The
 * sub-millisecond part is kept as a fraction so events microseconds apart still
 * order correctly. Returns undefined for anything that is not such a date-time
 * (unlike `Date.parse`, which accepts many non-ISO strings).
 */
export function parseKindeTimestamp(value: string): number | undefined {
  const m = ISO_DATE_TIME.exec(value.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const wholeMs = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(wholeMs).getUTCDate() !== day) return undefined; // e.g. 31 February
  const offset = offsetMs(m[8]!);
  return offset === undefined ? undefined : wholeMs + fraction - offset;
}

/** The offset in ms, or undefined for an impossible one (hours over 23, minutes over 59). */
function offsetMs(zone: string): number | undefined {
  if (zone.toUpperCase() === "Z") return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes) * 60_000;
}
