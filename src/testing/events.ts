/**
 * Builders of Kinde webhook payloads in the shapes Kinde really sends
 * (snake_case, `null`s, microsecond timestamps with the tenant's offset,
 * time-ordered `event_…` ids), for tests that sign and deliver them.
 */

/** Options every builder takes. */
export interface EventOptions {
  /** When the event happened, ms since epoch. Default: now. */
  at?: number;
  /** The event id. Default: a fresh, time-ordered `event_…` id for `at`. */
  eventId?: string;
  /** Default `"admin"`. */
  source?: string;
  /** The tenant's UTC offset in minutes used to write `timestamp`. Default +600 (like the real token). */
  offsetMinutes?: number;
}

/** A Kinde user object as `user.created` / `user.updated` carry it. */
export interface KindeUserPayload {
  id: string;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  phone?: string | null;
  username?: string | null;
  is_suspended?: boolean;
  is_password_reset_requested?: boolean;
  organizations?: Array<{
    code: string;
    roles: Array<{ id: string; key: string }> | null;
    permissions: Array<{ id: string; key: string }> | null;
  }> | null;
}

const hex = (bytes: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");

/** An id like Kinde's: `event_` + 32 hex digits whose first 12 encode the time in ms. */
export function kindeEventId(at = Date.now()): string {
  return `event_${Math.floor(at).toString(16).padStart(12, "0")}${hex(10)}`;
}

/** A user id like Kinde's: `kp_` + 32 hex digits. */
export function kindeUserId(): string {
  return `kp_${hex(16)}`;
}

/** An organization code like Kinde's: `org_` + 11 hex digits. */
export function kindeOrgCode(): string {
  return `org_${hex(6).slice(0, 11)}`;
}

/**
 * Writes `at` as Kinde does: local time at the tenant's offset with six
 * fractional digits, e.g. `2024-05-01T17:41:45.592145+10:00`. The sub-ms
 * digits come from the fraction of `at`.
 */
export function kindeTimestamp(at: number, offsetMinutes = 600): string {
  const local = new Date(Math.floor(at) + offsetMinutes * 60_000);
  const micros = Math.round((at - Math.floor(at)) * 1000);
  const base = local.toISOString().slice(0, 19);
  const fraction = `${String(local.getUTCMilliseconds()).padStart(3, "0")}${String(micros).padStart(3, "0")}`;
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
  return `${base}.${fraction}${offset}`;
}

/** A webhook payload of any type with the given `data`. */
export function kindeEvent(type: string, data: object, options: EventOptions = {}) {
  const at = options.at ?? Date.now();
  return {
    data,
    event_id: options.eventId ?? kindeEventId(at),
    source: options.source ?? "admin",
    timestamp: kindeTimestamp(at, options.offsetMinutes),
    type,
  };
}

/** A full Kinde user object with every field Kinde sends, `null` where unset. */
export function kindeUser(user: KindeUserPayload): Required<KindeUserPayload> {
  return {
    email: null,
    first_name: null,
    last_name: null,
    phone: null,
    username: null,
    is_suspended: false,
    is_password_reset_requested: false,
    organizations: [],
    ...user,
  };
}

export const userCreated = (user: KindeUserPayload, options?: EventOptions) =>
  kindeEvent("user.created", { user: kindeUser(user) }, options);

export const userUpdated = (user: KindeUserPayload, options?: EventOptions) =>
  kindeEvent("user.updated", { user: kindeUser(user) }, options);

export const userDeleted = (id: string, options?: EventOptions) =>
  kindeEvent("user.deleted", { user: { id } }, options);

export const userAuthenticated = (id: string, options?: EventOptions) => ({
  ...kindeEvent("user.authenticated", { user: { id } }, { source: "user", ...options }),
  ip_address: "203.0.113.10",
});

/** A Kinde organization as `organization.created` / `organization.updated` carry it. */
export interface KindeOrganizationPayload {
  code: string;
  name?: string | null;
  handle?: string | null;
  external_id?: string | null;
  is_allow_registrations?: boolean | null;
}

export const organizationCreated = (
  organization: KindeOrganizationPayload,
  options?: EventOptions,
) =>
  kindeEvent(
    "organization.created",
    { organization: { external_id: null, handle: null, name: null, ...organization } },
    options,
  );

export const organizationUpdated = (
  organization: KindeOrganizationPayload,
  options?: EventOptions,
) =>
  kindeEvent(
    "organization.updated",
    {
      organization: {
        external_id: null,
        handle: null,
        name: null,
        is_allow_registrations: false,
        ...organization,
      },
    },
    options,
  );

export const organizationDeleted = (code: string, options?: EventOptions) =>
  kindeEvent("organization.deleted", { organization: { code } }, options);

/** A role or permission as Kinde's catalog events carry it. */
export interface KindeCatalogPayload {
  id: string;
  key: string;
  name?: string | null;
  description?: string | null;
}

export const roleCreated = (
  role: KindeCatalogPayload & { is_default_role?: boolean },
  options?: EventOptions,
) =>
  kindeEvent(
    "role.created",
    { role: { description: null, is_default_role: false, name: role.key, ...role } },
    options,
  );

export const roleUpdated = (
  role: KindeCatalogPayload & { is_default_role?: boolean },
  options?: EventOptions,
) =>
  kindeEvent(
    "role.updated",
    { role: { description: null, is_default_role: false, name: role.key, ...role } },
    options,
  );

export const roleDeleted = (id: string, options?: EventOptions) =>
  kindeEvent("role.deleted", { role: { id } }, options);

export const permissionCreated = (permission: KindeCatalogPayload, options?: EventOptions) =>
  kindeEvent(
    "permission.created",
    { permission: { description: null, name: permission.key, ...permission } },
    options,
  );

export const permissionUpdated = (permission: KindeCatalogPayload, options?: EventOptions) =>
  kindeEvent(
    "permission.updated",
    { permission: { description: null, name: permission.key, ...permission } },
    options,
  );

export const permissionDeleted = (id: string, options?: EventOptions) =>
  kindeEvent("permission.deleted", { permission: { id } }, options);

/** A UUID like Kinde's role and permission ids. */
export function kindeUuid(): string {
  return crypto.randomUUID();
}

/**
 * `user.authentication_failed`: a sign-in to a known user's account failed.
 * Kinde puts the `ip_address` beside `data`, as for `user.authenticated`.
 */
export const userAuthenticationFailed = (
  id: string,
  options?: EventOptions & { ipAddress?: string },
) => ({
  ...kindeEvent("user.authentication_failed", { user: { id } }, { source: "user", ...options }),
  ip_address: options?.ipAddress ?? "203.0.113.10",
});

/** The person `access_request.created` and `subscriber.created` carry. */
export interface KindePersonPayload {
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  /** The Kinde user, when the person is one. */
  user_id?: string | null;
}

/** Every field Kinde declares for a person, `null` where unset. */
const kindePerson = (person: KindePersonPayload) => ({
  email: null,
  first_name: null,
  last_name: null,
  user_id: null,
  ...person,
});

/** A subscriber as `subscriber.created` carries it. */
export interface KindeSubscriberPayload extends KindePersonPayload {
  id: string;
}

export const subscriberCreated = (subscriber: KindeSubscriberPayload, options?: EventOptions) =>
  kindeEvent(
    "subscriber.created",
    { subscriber: kindePerson(subscriber) },
    { source: "user", ...options },
  );

/** An access request, as `access_request.created` carries it: a person, with no id of its own. */
export const accessRequestCreated = (request: KindePersonPayload, options?: EventOptions) =>
  kindeEvent(
    "access_request.created",
    { access_request: kindePerson(request) },
    { source: "user", ...options },
  );

/** `passkey.added` / `passkey.removed`, in the shape of Kinde's withdrawn docs example. */
export const passkeyEvent = (
  type: "passkey.added" | "passkey.removed",
  {
    userId,
    passkeyId = kindeUuid(),
    name = "Passkey 1",
  }: {
    userId: string;
    passkeyId?: string;
    name?: string;
  },
  options?: EventOptions,
) =>
  kindeEvent(
    type,
    { user: { id: userId }, passkey: { id: passkeyId, name } },
    {
      source: "user",
      ...options,
    },
  );

/**
 * Where a `customer.*` event names its customer. Kinde publishes no billing
 * payload, and the integrations in the wild read each of these:
 * `data.customer_id`, `data.customer.id`, `data.org_code`, `data.user_id`.
 */
export type CustomerShape = "customer_id" | "customer.id" | "org_code" | "user_id";

/** Every {@link CustomerShape}, for a test that runs each. */
export const CUSTOMER_SHAPES: readonly CustomerShape[] = [
  "customer_id",
  "customer.id",
  "org_code",
  "user_id",
];

/**
 * A `customer.*` (billing) event naming its customer `id` in the given
 * `shape` (default `customer_id`), with `fields` beside it in `data`, e.g.
 * `customerEvent("customer.plan_changed", { id: "customer_…", fields: { plan_code: "pro" } })`.
 */
export function customerEvent(
  type: `customer.${string}`,
  {
    id,
    shape = "customer_id",
    fields = {},
  }: { id: string; shape?: CustomerShape; fields?: Record<string, unknown> },
  options?: EventOptions,
) {
  const named: Record<CustomerShape, object> = {
    customer_id: { customer_id: id },
    "customer.id": { customer: { id } },
    org_code: { org_code: id },
    user_id: { user_id: id },
  };
  return kindeEvent(type, { ...fields, ...named[shape] }, options);
}

/** An invented customer id, `customer_` + 32 hex digits: Kinde publishes no billing payload to copy. */
export function kindeCustomerId(): string {
  return `customer_${hex(16)}`;
}
