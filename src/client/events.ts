/**
 * Kinde's webhook payloads as they arrive (validated loosely, unknown fields
 * stripped) and their mapping to the normalised events the component applies.
 * Pure functions: no Convex, no I/O.
 */
import { v, type GenericValidator, type Infer } from "convex/values";
import { parse, validate } from "convex-helpers/validators";
import { type KindeEvent } from "../shared/events.js";
import { EVENT_TYPES, isHandledType } from "../shared/eventTypes.js";
import {
  userLimitProblem,
  type EntityKind,
  type MembershipSnapshot,
  type UserSnapshot,
} from "../shared/mirror.js";
import {
  identifier,
  InvalidPayloadError,
  kindeProfileFields,
  parseKindeTimestamp,
  toKeyRefs,
  toOrganizationSnapshot,
  toPermissionSnapshot,
  toProfile,
  toRoleSnapshot,
  vKindeCatalogEntry,
  vKindeFlag,
  vKindeOrganization,
  vKindeRefs,
  vKindeText,
  withoutUndefined,
} from "./kindePayloads.js";
import { messageOf } from "../shared/errors.js";
import { encodeUnmirroredData } from "../shared/unmirroredEvents.js";
import { customerRefOf, isCustomerEventType } from "../shared/customerEvents.js";

/** The envelope every Kinde webhook shares. `data` is checked per event type. */
export const vKindeEnvelope = v.object({
  type: v.string(),
  event_id: v.string(),
  source: vKindeText,
  timestamp: v.string(),
  event_timestamp: vKindeText,
  data: v.any(),
});
export type KindeEnvelope = Infer<typeof vKindeEnvelope>;

/** `data.user` of `user.created` / `user.updated`: Kinde sends `""`, `null` or nothing for empty fields. */
const vWebhookUser = v.object({
  ...kindeProfileFields,
  is_password_reset_requested: vKindeFlag,
  organizations: v.optional(
    v.union(
      v.null(),
      v.array(v.object({ code: v.string(), roles: vKindeRefs, permissions: vKindeRefs })),
    ),
  ),
});
type WebhookUser = Infer<typeof vWebhookUser>;

/**
 * Where one kind of entity sits in a webhook's `data`: under the kind's name,
 * whole in a `snapshot` change (mapped by `toSnapshot`), or as its `idField`
 * alone in a `deletion` or `signIn`, which the normalised event calls
 * `eventIdField`.
 */
function webhookEntity<V extends GenericValidator>(
  kind: EntityKind,
  vSnapshot: V,
  toSnapshot: (raw: Infer<V>, path: string) => unknown,
  idField: string,
  eventIdField: string,
) {
  const path = `data.${kind}`;
  const snapshotData = v.object({ [kind]: vSnapshot });
  const idData = v.object({ [kind]: v.object({ [idField]: v.string() }) });
  return {
    snapshot: (data: unknown) =>
      toSnapshot(
        (parseOrThrow(snapshotData, data, "`data`") as Record<string, Infer<V>>)[kind]!,
        path,
      ),
    entityId: (data: unknown) =>
      identifier(parseOrThrow(idData, data, "`data`")[kind]![idField]!, `${path}.${idField}`),
    eventIdField,
  };
}

const FROM_WEBHOOK = {
  user: webhookEntity("user", vWebhookUser, toUserSnapshot, "id", "kindeId"),
  organization: webhookEntity(
    "organization",
    vKindeOrganization,
    toOrganizationSnapshot,
    "code",
    "orgCode",
  ),
  role: webhookEntity("role", vKindeCatalogEntry, toRoleSnapshot, "id", "kindeId"),
  permission: webhookEntity(
    "permission",
    vKindeCatalogEntry,
    toPermissionSnapshot,
    "id",
    "kindeId",
  ),
} satisfies Record<EntityKind, unknown>;

/**
 * Turns the verified claims of a Kinde webhook token into the event the
 * component applies.
 *
 * @param options `forHooks`: the host has event hooks, so an event of a type
 *   the mirror does not mirror carries its data for them (as JSON text, see
 *   `encodeUnmirroredData`) and its `ip_address`. Without hooks it carries
 *   neither, and costs what it always did. `billing`: the `billing` option is
 *   on, so a `customer.*` event carries whose customer it names (`customer`).
 * @throws InvalidPayloadError when the envelope is malformed or a handled event
 *   type lacks the data it needs (e.g. no user id).
 */
export function toKindeEvent(
  claims: unknown,
  { forHooks = false, billing = false }: { forHooks?: boolean; billing?: boolean } = {},
): KindeEvent {
  const event = mapEvent(claims, forHooks, billing);
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
  if (typeof value === "string") return value.isWellFormed();
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
    return value.isWellFormed() ? undefined : path;
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

function mapEvent(claims: unknown, forHooks: boolean, billing: boolean): KindeEvent {
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
  if (!isHandledType(type)) {
    const unhandled = {
      type: "unhandled" as const,
      ...meta,
      kindeType: type,
      ...(billing && isCustomerEventType(type) && { customer: customerRefOf(envelope.data) }),
    };
    return forHooks ? { ...unhandled, ...forUnmirroredHandlers(claims, envelope.data) } : unhandled;
  }
  const { entityKind, change } = EVENT_TYPES[type];
  const entity = FROM_WEBHOOK[entityKind];
  // The event's shape follows from its kind and change (see `vKindeEvent`);
  // TypeScript cannot follow it through the two tables, hence the casts.
  if (change === "snapshot") {
    return { type, ...meta, [entityKind]: entity.snapshot(envelope.data) } as KindeEvent;
  }
  return { type, ...meta, [entity.eventIdField]: entity.entityId(envelope.data) } as KindeEvent;
}

/**
 * What a handler of an unmirrored type receives besides the envelope: the
 * data as JSON text (unless too large) and Kinde's top-level `ip_address`,
 * kept only when it looks like one (an IPv6 address is at most 45 characters).
 */
function forUnmirroredHandlers(claims: unknown, data: unknown) {
  const ipAddress = (claims as { ip_address?: unknown }).ip_address;
  const looksLikeAnAddress =
    typeof ipAddress === "string" && ipAddress.length <= 64 && ipAddress.isWellFormed();
  return withoutUndefined({
    data: encodeUnmirroredData(data),
    ipAddress: looksLikeAnAddress ? ipAddress : undefined,
  });
}

/** Maps Kinde's user object to the mirror's snapshot: empty strings and nulls become absent. */
export function toUserSnapshot(user: WebhookUser, path = "data.user"): UserSnapshot {
  const organizations = new Map<string, MembershipSnapshot>();
  for (const org of user.organizations ?? []) {
    const orgCode = identifier(org.code, `${path}.organizations[].code`);
    organizations.set(orgCode, {
      orgCode,
      roles: toKeyRefs(org.roles),
      permissions: toKeyRefs(org.permissions),
    });
  }
  const problem = userLimitProblem(user.id, [...organizations.values()]);
  if (problem) throw new InvalidPayloadError(problem);
  return {
    ...toProfile(user, path),
    isPasswordResetRequested: user.is_password_reset_requested ?? false,
    organizations: [...organizations.values()],
  };
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
    reason = messageOf(error);
  }
  throw new InvalidPayloadError(`${what} does not have the shape of a Kinde webhook: ${reason}`);
}
