/**
 * The Kinde event types the mirror handles, in one table: which entity each
 * is about, what applying it does to that entity, and where its id is. The
 * client's normaliser (`src/client/events.ts`) reads it to know what data to
 * expect, the component's dispatcher (`src/component/webhooks.ts`) to pick
 * the applier, and the event log to record the entity (`entityOf`).
 */
import type { KindeEvent } from "./events.js";
import type { EntityKind } from "./mirror.js";

/** An event the mirror handles (not `unhandled`). */
export type HandledEvent = Exclude<KindeEvent, { type: "unhandled" }>;
export type HandledEventType = HandledEvent["type"];
/** The normalised event of one type. */
export type EventOf<T extends HandledEventType> = Extract<HandledEvent, { type: T }>;

/**
 * What an event does to its entity:
 * - `snapshot`: carries the entity whole, under the kind's name (`user`,
 *   `organization`, `role`, `permission`), and replaces it if newer;
 * - `deletion`: carries the entity's id only, and removes it for good;
 * - `signIn`: carries the user's id only, and moves `lastSignedInAt`.
 */
export type Change = "snapshot" | "deletion" | "signIn";

interface EventTypeEntry<T extends HandledEventType> {
  entityKind: EntityKind;
  change: Change;
  /** The entity's id: a Kinde id, or an organization's code. */
  entityId: (event: EventOf<T>) => string;
}

/** A snapshot of `entityKind`, whose id is `entityId` of the entity it carries. */
const snapshot = <K extends EntityKind, E>(entityKind: K, entityId: (event: E) => string) =>
  ({ entityKind, change: "snapshot", entityId }) as const;
const userSnapshot = snapshot("user", (e: { user: { kindeId: string } }) => e.user.kindeId);
const organizationSnapshot = snapshot(
  "organization",
  (e: { organization: { code: string } }) => e.organization.code,
);
const roleSnapshot = snapshot("role", (e: { role: { kindeId: string } }) => e.role.kindeId);
const permissionSnapshot = snapshot(
  "permission",
  (e: { permission: { kindeId: string } }) => e.permission.kindeId,
);
const byKindeId = (e: { kindeId: string }) => e.kindeId;

export const EVENT_TYPES = {
  "user.created": userSnapshot,
  "user.updated": userSnapshot,
  "user.deleted": { entityKind: "user", change: "deletion", entityId: byKindeId },
  "user.authenticated": { entityKind: "user", change: "signIn", entityId: byKindeId },
  "organization.created": organizationSnapshot,
  "organization.updated": organizationSnapshot,
  "organization.deleted": {
    entityKind: "organization",
    change: "deletion",
    entityId: (e) => e.orgCode,
  },
  "role.created": roleSnapshot,
  "role.updated": roleSnapshot,
  "role.deleted": { entityKind: "role", change: "deletion", entityId: byKindeId },
  "permission.created": permissionSnapshot,
  "permission.updated": permissionSnapshot,
  "permission.deleted": { entityKind: "permission", change: "deletion", entityId: byKindeId },
} as const satisfies { [T in HandledEventType]: EventTypeEntry<T> };

/** Whether the mirror handles Kinde events of `type`. */
export function isHandledType(type: string): type is HandledEventType {
  return Object.hasOwn(EVENT_TYPES, type);
}

/** What `event` changes: its entity's kind and id, and how. */
export function changeOf(event: HandledEvent): {
  entityKind: EntityKind;
  entityId: string;
  change: Change;
} {
  const { entityKind, change, entityId } = EVENT_TYPES[event.type];
  // Each row's `entityId` takes that row's event; TypeScript cannot pair the
  // two lookups by `event.type`, so the row is read as taking any event.
  return { entityKind, change, entityId: (entityId as (e: HandledEvent) => string)(event) };
}

/** The mirrored entity an event is about, as the event log records it. */
export function entityOf(event: KindeEvent): { entityKind?: EntityKind; entityId?: string } {
  if (event.type === "unhandled") return {};
  const { entityKind, entityId } = changeOf(event);
  return { entityKind, entityId };
}
