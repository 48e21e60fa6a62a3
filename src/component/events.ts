/**
 * The event log: one record per verified event (which is also its dedupe
 * record), and the reads that show what the webhook did.
 */
import { v } from "convex/values";
import { withoutSystemFields } from "convex-helpers";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import { query } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import schema from "./schema.js";
import { vEventRecord, type EventRecord } from "../shared/events.js";
import { vEntityKind } from "../shared/mirror.js";

export function toEventRecord(doc: Doc<"webhookEvents">): EventRecord {
  const { expiresAt: _, ...record } = withoutSystemFields(doc);
  return { ...record, receivedAt: doc._creationTime };
}

/** Every recorded event, newest first. */
export const listEvents = query({
  args: { paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(vEventRecord),
  handler: async (ctx, { paginationOpts }) => {
    const result = await paginator(ctx.db, schema)
      .query("webhookEvents")
      .withIndex("by_creation_time")
      .order("desc")
      .paginate(paginationOpts);
    return { ...result, page: result.page.map(toEventRecord) };
  },
});

/** The recorded events about one entity (`entityId`: a Kinde id, or an organization's code), newest first. */
export const listEntityEvents = query({
  args: { entityKind: vEntityKind, entityId: v.string(), paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(vEventRecord),
  handler: async (ctx, { entityKind, entityId, paginationOpts }) => {
    const result = await paginator(ctx.db, schema)
      .query("webhookEvents")
      .withIndex("entity", (q) => q.eq("entityKind", entityKind).eq("entityId", entityId))
      .order("desc")
      .paginate(paginationOpts);
    return { ...result, page: result.page.map(toEventRecord) };
  },
});
