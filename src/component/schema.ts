import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { backfillRunFields } from "../shared/backfill.js";
import { vEntitlement, vPlan } from "../shared/billing.js";
import { vEventRecord } from "../shared/events.js";
import { vEnrichedKind, vProperties, vStoredDetails } from "../shared/enrichment.js";
import {
  vEntityKind,
  vKeyRef,
  vMembershipSnapshot,
  vOrganizationSnapshot,
  vPermissionSnapshot,
  vRoleSnapshot,
  vUserSnapshot,
  vVersion,
} from "../shared/mirror.js";

/** The event record's fields as stored: `receivedAt` is the document's `_creationTime`. */
const { receivedAt: _receivedAt, ...storedEventFields } = vEventRecord.fields;

/**
 * Enrichment kept on a row (see src/shared/enrichment.ts), each part with the
 * time its fetch began: a fetch that began earlier never replaces it. Absent
 * until fetched; dropped (its fetch time kept) when the row would not fit 1 MiB with it.
 */
const propertiesFields = {
  properties: v.optional(vProperties),
  propertiesFetchedAt: v.optional(v.number()),
};

/**
 * Mirror tables are named `kinde*`; the component's own bookkeeping tables are
 * named plainly. No table has a row that every event writes: concurrent
 * deliveries touch disjoint documents and index ranges, so they never conflict.
 */
export default defineSchema({
  /** One row per Kinde user. `organizations` is kept inline so a read of one user is one document. */
  kindeUsers: defineTable({
    ...vUserSnapshot.fields,
    /** `email` lower-cased, for case-insensitive lookup. */
    emailLower: v.optional(v.string()),
    lastSignedInAt: v.optional(v.number()),
    /** The event that last wrote the synced profile fields (not `lastSignedInAt` or enrichment). */
    version: vVersion,
    details: v.optional(vStoredDetails),
    detailsFetchedAt: v.optional(v.number()),
    ...propertiesFields,
  })
    .index("kindeId", ["kindeId"])
    .index("emailLower", ["emailLower"])
    /** Kinde's E.164 form (`+442071838750`), as stored: `getUserByPhone` normalises what it is asked. */
    .index("phone", ["phone"]),

  /**
   * One row per (user, organization): the same memberships as
   * `kindeUsers.organizations`, indexed by organization so members of an
   * organization can be paged without reading every user.
   */
  kindeMemberships: defineTable({ kindeId: v.string(), ...vMembershipSnapshot.fields })
    .index("kindeId", ["kindeId", "orgCode"])
    .index("orgCode", ["orgCode", "kindeId"]),

  /** One row per Kinde organization. */
  kindeOrganizations: defineTable({
    ...vOrganizationSnapshot.fields,
    version: vVersion,
    ...propertiesFields,
  }).index("code", ["code"]),

  /** Kinde's role catalog. `kindeId` is Kinde's role id; `key` is what apps check. */
  kindeRoles: defineTable({ ...vRoleSnapshot.fields, version: vVersion })
    .index("kindeId", ["kindeId"])
    .index("key", ["key"]),

  /** Kinde's permission catalog. */
  kindePermissions: defineTable({ ...vPermissionSnapshot.fields, version: vVersion })
    .index("kindeId", ["kindeId"])
    .index("key", ["key"]),

  /**
   * Roles and permissions that some membership may hold under a key the
   * catalog has not confirmed: the catalog had not seen the id yet (its event
   * is late, or catalog events are not enabled), or had an older, different
   * key. The catalog's next event for such an id brings memberships to the
   * newer key in the background; without this record nothing would tell that
   * any membership needs it.
   */
  unsettledRefs: defineTable({
    kind: v.union(v.literal("role"), v.literal("permission")),
    kindeId: v.string(),
  }).index("kind", ["kind", "kindeId"]),

  /**
   * Enrichment refreshes scheduled and not yet begun, at most one per entity:
   * a trigger for an entity with one pending writes nothing. Removed when the
   * refresh begins or the entity is deleted, so only pending ones are here.
   */
  pendingRefreshes: defineTable({
    kind: vEnrichedKind,
    /** A user's Kinde id or an organization's code. */
    entityId: v.string(),
    scheduledId: v.id("_scheduled_functions"),
    /** When the refresh is due; past it by `ABANDONED_AFTER_MS` it no longer holds back others. */
    runAt: v.number(),
  }).index("entity", ["kind", "entityId"]),

  /**
   * Kinde Billing: one row per user or organization known to be a billing
   * customer (`ownerKind`, `ownerId`: a user's Kinde id or an organization's
   * code), with its customer id and plans. The customer id and the plans are
   * each versioned by the time the fetch that gave them began.
   */
  billingCustomers: defineTable({
    ownerKind: v.union(v.literal("user"), v.literal("organization")),
    ownerId: v.string(),
    /** Kinde's billing customer id; absent when the owner's last read said it is none. */
    customerId: v.optional(v.string()),
    /** When the read that gave `customerId` began. */
    customerIdFetchedAt: v.number(),
    /** When the fetch of `plans` and the entitlements began; absent: never fetched. */
    fetchedAt: v.optional(v.number()),
    plans: v.array(vPlan),
  })
    .index("owner", ["ownerKind", "ownerId"])
    .index("customerId", ["customerId"])
    // For the doctor: the newest fetch, one index entry whatever the number of customers.
    .index("fetchedAt", ["fetchedAt"]),

  /**
   * A billing customer's entitlements, a row each, so checking one feature is
   * one index range whatever the number of customers or entitlements. Rows
   * carry the customer id they were fetched for: a check reads only the
   * owner's current customer's.
   */
  billingEntitlements: defineTable({
    ownerKind: v.union(v.literal("user"), v.literal("organization")),
    ownerId: v.string(),
    customerId: v.string(),
    ...vEntitlement.fields,
  }).index("feature", ["ownerKind", "ownerId", "customerId", "featureCode"]),

  /**
   * Deleted entities. A tombstone makes deletion final: no later or retried
   * event for the same key can bring the entity back while it exists.
   */
  tombstones: defineTable({
    kind: vEntityKind,
    /** The entity's id: a user's, role's or permission's Kinde id, or an organization's code. */
    entityId: v.string(),
    /** The deleting event. */
    version: vVersion,
    /** When retention may remove this tombstone (ms since epoch). */
    expiresAt: v.number(),
  })
    .index("entity", ["kind", "entityId"])
    .index("expiresAt", ["expiresAt"]),

  /**
   * One row per verified event: the dedupe record and the event log. A
   * record is inserted when the webhook receives its event, so its
   * `_creationTime` is the public `receivedAt`, and the built-in creation-time
   * index (also the last field of every index) orders the log: no field or
   * index of its own to write with every event.
   */
  webhookEvents: defineTable({
    // eventId (Kinde's signed `event_id`), type, source, occurredAt, outcome,
    // entityKind/entityId, and the unsigned `webhook-id` (diagnostics only).
    ...storedEventFields,
    /** When retention may remove this record (ms since epoch). */
    expiresAt: v.number(),
  })
    .index("eventId", ["eventId"])
    .index("entity", ["entityKind", "entityId"])
    // For getSyncStatus: the latest event of a rare outcome (`failed`, `future`).
    .index("outcome", ["outcome"])
    .index("expiresAt", ["expiresAt"]),

  /**
   * How many users and organizations are mirrored, and how many verified
   * events were recorded but not applied, split over shards so that
   * concurrent sign-ups rarely touch the same document. Written only when a
   * row is inserted or deleted, or an event is not applied; never by every event.
   */
  counters: defineTable({
    name: v.union(v.literal("users"), v.literal("organizations"), v.literal("unappliedEvents")),
    shard: v.number(),
    count: v.number(),
  }).index("name", ["name", "shard"]),

  /**
   * Backfill runs: where each stopped (phase, Kinde's next_token, the
   * organization being paged) and what it wrote, so a crash, deploy or timeout
   * resumes instead of starting over. Written once per page of the run.
   */
  backfillRuns: defineTable(backfillRunFields).index("startedAt", ["startedAt"]),

  /**
   * The permissions each role grants, as a backfill run read them, so the
   * memberships it writes carry what their roles grant. Rows of their own, not
   * a field of the run: roles × permissions has no bound a document could
   * hold, while one part holds at most `ROLE_PERMISSIONS_PART_BYTES`. A
   * member's roles are read with one index range each.
   */
  backfillRolePermissions: defineTable({
    runId: v.id("backfillRuns"),
    roleId: v.string(),
    /**
     * The role's key when the run read its permissions: a members page read
     * later may still name it so after a rename's webhook changed the catalog.
     */
    roleKey: v.string(),
    /** A role's permissions too many for one part continue in the next. */
    part: v.number(),
    permissions: v.array(vKeyRef),
  })
    .index("role", ["runId", "roleId", "part"])
    .index("roleKey", ["runId", "roleKey"]),
});
