/**
 * Kinde's webhook payloads as they arrive (validated loosely, unknown fields
 * stripped) and their mapping to the normalised events the component applies.
 * Pure functions: no Convex, no I/O.
 */
import { v, type Infer } from "convex/values";
import { parse, validate } from "convex-helpers/validators";
import { type KindeEvent } from "../shared/events.js";
import {
  MAX_ORGANIZATIONS_PER_USER,
  MAX_ROLES_AND_PERMISSIONS_PER_USER,
  type KeyRef,
  type MembershipSnapshot,
  type UserSnapshot,
} from "../shared/mirror.js";

/** A verified token whose content is not a usable Kinde event: answered with 400. */
export class InvalidPayloadError extends Error {
  override name = "InvalidPayloadError";
}

const vNullableString = v.optional(v.union(v.string(), v.null()));
const vNullableBoolean = v.optional(v.union(v.boolean(), v.null()));
/**
 * A user's roles or permissions in one organization. Real payloads carry
 * `{ id, key }` objects; `@kinde/webhooks` 1.0.0, the release on npm,
 * declares plain key strings. Both are accepted, mixed too: a string is a key.
 */
const vRawKeyRefs = v.optional(
  v.union(v.null(), v.array(v.union(v.string(), v.object({ id: v.string(), key: v.string() })))),
);

/** The envelope every Kinde webhook shares. `data` is checked per event type. */
export const vKindeEnvelope = v.object({
  type: v.string(),
  event_id: v.string(),
  source: vNullableString,
  timestamp: v.string(),
  event_timestamp: vNullableString,
  data: v.any(),
});
export type KindeEnvelope = Infer<typeof vKindeEnvelope>;

/** `data.user` of `user.created` / `user.updated`: Kinde sends `""`, `null` or nothing for empty fields. */
const vRawUser = v.object({
  id: v.string(),
  email: vNullableString,
  phone: vNullableString,
  username: vNullableString,
  first_name: vNullableString,
  last_name: vNullableString,
  is_suspended: vNullableBoolean,
  is_password_reset_requested: vNullableBoolean,
  organizations: v.optional(
    v.union(
      v.null(),
      v.array(v.object({ code: v.string(), roles: vRawKeyRefs, permissions: vRawKeyRefs })),
    ),
  ),
});
type RawUser = Infer<typeof vRawUser>;

const vUserSnapshotData = v.object({ user: vRawUser });
const vUserIdData = v.object({ user: v.object({ id: v.string() }) });

const vOrganizationData = v.object({
  organization: v.object({
    code: v.string(),
    name: vNullableString,
    handle: vNullableString,
    external_id: vNullableString,
    is_allow_registrations: vNullableBoolean,
  }),
});
const vOrganizationCodeData = v.object({ organization: v.object({ code: v.string() }) });

const vCatalogEntry = v.object({
  id: v.string(),
  key: v.string(),
  name: vNullableString,
  description: vNullableString,
  is_default_role: vNullableBoolean,
});
const vRoleData = v.object({ role: vCatalogEntry });
const vRoleIdData = v.object({ role: v.object({ id: v.string() }) });
const vPermissionData = v.object({ permission: vCatalogEntry });
const vPermissionIdData = v.object({ permission: v.object({ id: v.string() }) });

/**
 * Turns the verified claims of a Kinde webhook token into the event the
 * component applies.
 *
 * @throws InvalidPayloadError when the envelope is malformed or a handled event
 *   type lacks the data it needs (e.g. no user id).
 */
export function toKindeEvent(claims: unknown): KindeEvent {
  const event = mapEvent(claims);
  if (!isWellFormed(event)) {
    throw new InvalidPayloadError(
      `\`${firstMalformedString(event)}\` is not valid Unicode (it contains a lone surrogate), which Convex cannot store`,
    );
  }
  return event;
}

/**
 * Whether every string in `value` is well-formed UTF-16. Valid JSON may
 * escape lone surrogates (`"\ud800"`); Convex refuses such strings, so they
 * must be a 400 here, not a 500 (and 36 h of retries) later. Only the
 * normalised event is walked: it is shallow, unlike the raw claims.
 */
function isWellFormed(value: unknown): boolean {
  if (typeof value === "string")
    return (value as string & { isWellFormed(): boolean }).isWellFormed();
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) return value.every(isWellFormed);
  for (const key in value) {
    if (!isWellFormed((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/** The path of the first string in `value` that is not well-formed, for the refusal message. */
function firstMalformedString(value: unknown, path = "event"): string | undefined {
  if (typeof value === "string") {
    return (value as string & { isWellFormed(): boolean }).isWellFormed() ? undefined : path;
  }
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = firstMalformedString(item, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const found = firstMalformedString(item, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

function mapEvent(claims: unknown): KindeEvent {
  const envelope = parseOrThrow(vKindeEnvelope, claims, "the event envelope");
  const eventId = envelope.event_id.trim();
  if (eventId === "") throw new InvalidPayloadError("`event_id` is empty");
  const occurredAtText = envelope.event_timestamp ?? envelope.timestamp;
  const occurredAt = parseKindeTimestamp(occurredAtText);
  if (occurredAt === undefined) {
    throw new InvalidPayloadError(
      `\`${envelope.event_timestamp != null ? "event_timestamp" : "timestamp"}\` is not an ISO 8601 date-time: ${JSON.stringify(occurredAtText).slice(0, 80)}`,
    );
  }
  const meta = withoutUndefined({ eventId, occurredAt, source: envelope.source ?? undefined });
  const type = envelope.type;
  switch (type) {
    case "user.created":
    case "user.updated": {
      const { user } = parseOrThrow(vUserSnapshotData, envelope.data, "`data`");
      return { type, ...meta, user: toUserSnapshot(user) };
    }
    case "user.deleted":
    case "user.authenticated": {
      const { user } = parseOrThrow(vUserIdData, envelope.data, "`data`");
      return { type, ...meta, kindeId: requireId(user.id, "data.user.id") };
    }
    case "organization.created":
    case "organization.updated": {
      const { organization: o } = parseOrThrow(vOrganizationData, envelope.data, "`data`");
      const organization = withoutUndefined({
        code: requireId(o.code, "data.organization.code"),
        name: present(o.name),
        handle: present(o.handle),
        externalId: present(o.external_id),
        isAllowRegistrations: o.is_allow_registrations ?? undefined,
      });
      return { type, ...meta, organization };
    }
    case "organization.deleted": {
      const { organization } = parseOrThrow(vOrganizationCodeData, envelope.data, "`data`");
      return { type, ...meta, orgCode: requireId(organization.code, "data.organization.code") };
    }
    case "role.created":
    case "role.updated": {
      const { role } = parseOrThrow(vRoleData, envelope.data, "`data`");
      return {
        type,
        ...meta,
        role: withoutUndefined({
          ...toCatalogEntry(role, "data.role"),
          isDefaultRole: role.is_default_role ?? undefined,
        }),
      };
    }
    case "role.deleted": {
      const { role } = parseOrThrow(vRoleIdData, envelope.data, "`data`");
      return { type, ...meta, kindeId: requireId(role.id, "data.role.id") };
    }
    case "permission.created":
    case "permission.updated": {
      const { permission } = parseOrThrow(vPermissionData, envelope.data, "`data`");
      return { type, ...meta, permission: toCatalogEntry(permission, "data.permission") };
    }
    case "permission.deleted": {
      const { permission } = parseOrThrow(vPermissionIdData, envelope.data, "`data`");
      return { type, ...meta, kindeId: requireId(permission.id, "data.permission.id") };
    }
    default:
      return { type: "unhandled", ...meta, kindeType: type };
  }
}

function toCatalogEntry(entry: Infer<typeof vCatalogEntry>, path: string) {
  return withoutUndefined({
    kindeId: requireId(entry.id, `${path}.id`),
    key: requireId(entry.key, `${path}.key`),
    name: present(entry.name),
    description: present(entry.description),
  });
}

/** Maps Kinde's user object to the mirror's snapshot: empty strings and nulls become absent. */
export function toUserSnapshot(user: RawUser): UserSnapshot {
  const organizations = new Map<string, MembershipSnapshot>();
  for (const org of user.organizations ?? []) {
    const orgCode = requireId(org.code, "data.user.organizations[].code");
    organizations.set(orgCode, {
      orgCode,
      roles: toKeyRefs(org.roles),
      permissions: toKeyRefs(org.permissions),
    });
  }
  if (organizations.size > MAX_ORGANIZATIONS_PER_USER) {
    throw new InvalidPayloadError(
      `user ${user.id} belongs to ${organizations.size} organizations; convex-kinde mirrors at most ${MAX_ORGANIZATIONS_PER_USER} per user`,
    );
  }
  const identity = (r: KeyRef) => (r.kindeId === "" ? `key ${r.key}` : `id ${r.kindeId}`);
  const distinct = new Set(
    [...organizations.values()].flatMap((m) => [
      ...m.roles.map((r) => `role ${identity(r)}`),
      ...m.permissions.map((p) => `permission ${identity(p)}`),
    ]),
  );
  if (distinct.size > MAX_ROLES_AND_PERMISSIONS_PER_USER) {
    throw new InvalidPayloadError(
      `user ${user.id} holds ${distinct.size} distinct roles and permissions; convex-kinde mirrors at most ${MAX_ROLES_AND_PERMISSIONS_PER_USER} per user`,
    );
  }
  return withoutUndefined({
    kindeId: requireId(user.id, "data.user.id"),
    email: present(user.email),
    phone: present(user.phone),
    username: present(user.username),
    firstName: present(user.first_name),
    lastName: present(user.last_name),
    isSuspended: user.is_suspended ?? false,
    isPasswordResetRequested: user.is_password_reset_requested ?? false,
    organizations: [...organizations.values()],
  });
}

/** Drops keys whose value is undefined, so optional fields are truly absent. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Kinde's refs, each held once: `{ id, key }` objects by id, and key strings
 * as key-only refs (`kindeId: ""`, resolved against the catalog when
 * applied), dropped where an object in the same list names the same key.
 * A blank string names nothing.
 */
export function toKeyRefs(
  refs: ({ id: string; key: string } | string)[] | null | undefined,
): KeyRef[] {
  const byId = new Map<string, KeyRef>();
  const keyOnly = new Map<string, KeyRef>();
  for (const ref of refs ?? []) {
    if (typeof ref !== "string") {
      byId.set(ref.id, { kindeId: ref.id, key: ref.key });
      continue;
    }
    const key = present(ref);
    if (key !== undefined) keyOnly.set(key, { kindeId: "", key });
  }
  const keysWithId = new Set([...byId.values()].map((r) => r.key));
  return [...byId.values(), ...[...keyOnly.values()].filter((r) => !keysWithId.has(r.key))];
}

/** `""`, whitespace and `null` mean "not set" in Kinde payloads. */
function present(value: string | null | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function requireId(value: string, path: string): string {
  const id = value.trim();
  if (id === "") throw new InvalidPayloadError(`\`${path}\` is empty`);
  return id;
}

/**
 * Checks `value` against `validator`, allowing fields Kinde may add. The
 * result may still carry such fields: every mapping here copies the fields it
 * knows by name, so none reaches the component. A valid payload costs one
 * validation pass; only a refused one pays for `parse`'s detailed message
 * (which throws and catches once per union member it tries).
 */
function parseOrThrow<V extends Parameters<typeof parse>[0]>(
  validator: V,
  value: unknown,
  what: string,
): Infer<V> {
  if (validate(validator, value, { allowUnknownFields: true })) return value as Infer<V>;
  let reason = "unexpected value";
  try {
    parse(validator, value);
  } catch (error) {
    reason = error instanceof Error ? error.message : String(error);
  }
  throw new InvalidPayloadError(`${what} does not have the shape of a Kinde webhook: ${reason}`);
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
export function parseKindeTimestamp(text: string): number | undefined {
  const m = ISO_DATE_TIME.exec(text.trim());
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
