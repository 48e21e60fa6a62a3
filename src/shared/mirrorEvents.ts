/**
 * What the host's event hooks receive: a change the component made to the
 * mirror, in the shapes the host reads, and where it came from.
 */
import { v, type Infer, type PropertyValidators } from "convex/values";
import { vOrganization, vPermission, vRole, vUser } from "./mirror.js";
import { ofTypes, oneMemberPerType } from "./validators.js";
import { vBilling } from "./billing.js";

/**
 * Where a change to the mirror came from: a verified webhook event (its
 * signed id, Kinde's type for it, who caused it and when), a backfill run, or
 * an enrichment refresh (when its fetch from Kinde's Management API began).
 */
export const vChangeOrigin = v.union(
  v.object({
    kind: v.literal("webhook"),
    eventId: v.string(),
    /** Kinde's event type; a `user.updated` that arrives before its `user.created` creates the user. */
    kindeType: v.string(),
    source: v.optional(v.string()),
    /** When it happened in Kinde, ms since epoch. */
    occurredAt: v.number(),
  }),
  v.object({ kind: v.literal("backfill"), runId: v.string() }),
  v.object({ kind: v.literal("refresh"), fetchedAt: v.number() }),
);
export type ChangeOrigin = Infer<typeof vChangeOrigin>;

const changes = <T extends string, F extends PropertyValidators>(types: [T, ...T[]], fields: F) =>
  ofTypes(types, { ...fields, origin: vChangeOrigin });

/**
 * A change the component made to the mirror: what the host's event hooks
 * receive, in the shapes the host reads. `type` says what happened to the
 * mirrored row: `*.created` when it first appears, `*.updated` when what the
 * host reads of it changed (with `previous`, what the host read of it just
 * before, so a hook can tell what changed), `*.deleted` when it is removed, and
 * `user.authenticated` when a known user's `lastSignedInAt` moved. So a host
 * that inserts on `created`, updates on `updated` and deletes on `deleted`
 * keeps exactly one row per mirrored entity, in whatever order Kinde's events
 * arrive and whether they came by webhook or backfill.
 */
export const vMirrorEvent = oneMemberPerType(
  v.union(
    changes(["user.created", "user.authenticated"], { user: vUser }),
    changes(["user.updated"], { user: vUser, previous: vUser }),
    changes(["user.deleted"], { kindeId: v.string() }),
    changes(["organization.created"], { organization: vOrganization }),
    changes(["organization.updated"], { organization: vOrganization, previous: vOrganization }),
    changes(["organization.deleted"], { orgCode: v.string() }),
    changes(["role.created"], { role: vRole }),
    changes(["role.updated"], { role: vRole, previous: vRole }),
    changes(["role.deleted"], { kindeId: v.string() }),
    changes(["permission.created"], { permission: vPermission }),
    changes(["permission.updated"], { permission: vPermission, previous: vPermission }),
    changes(["permission.deleted"], { kindeId: v.string() }),
    // A customer's plans or entitlements changed; `previous` is what the host read before (null: nothing).
    changes(["billing.updated"], { billing: vBilling, previous: v.union(vBilling, v.null()) }),
  ),
);
export type MirrorEvent = Infer<typeof vMirrorEvent>;
/** The types of change the host's event hooks can handle. */
export type MirrorEventType = MirrorEvent["type"];
/** A change before its origin is attached: what the component's appliers report. */
export type MirrorChange = MirrorEvent extends infer E
  ? E extends MirrorEvent
    ? Omit<E, "origin">
    : never
  : never;
