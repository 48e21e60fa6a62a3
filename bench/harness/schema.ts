/**
 * The bench app's schema: the example app's tables plus the floors' own, so
 * the component and both baselines live in one deployment and one run.
 */
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import exampleSchema from "../../example/convex/schema.js";

const safeFloorTables = {
  /** The safe floor's dedupe record: one row per `event_id`. */
  benchSafeEvents: defineTable({ eventId: v.string() }).index("eventId", ["eventId"]),
  /** The safe floor's mirror: the raw Kinde user, upserted by id. */
  benchSafeUsers: defineTable({ kindeId: v.string(), user: v.any() }).index("kindeId", ["kindeId"]),
};

/** The schema of the component that holds the safe floor's mutation on its own. */
export const floorComponentSchema = defineSchema(safeFloorTables);

export default defineSchema({
  ...exampleSchema.tables,
  ...safeFloorTables,
  /** The unsafe floor: one row per delivery, no index, no checks. */
  benchUnsafeEvents: defineTable({ eventId: v.string(), kindeId: v.string(), user: v.any() }),
});
