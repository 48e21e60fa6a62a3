import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";

// The Kinde mirror lives in the component; the app keeps only its own data.
export default defineSchema({
  documents: defineTable({
    orgCode: v.string(),
    title: v.string(),
    /** The Kinde user id (kp_…) of the publisher. */
    publishedBy: v.string(),
  })
    .index("orgCode", ["orgCode"])
    .index("publishedBy", ["publishedBy"]),
  /** Written by the event hooks in kinde.ts, in the same transaction as the mirror. */
  profiles: defineTable({
    kindeId: v.string(),
    displayName: v.string(),
  }).index("kindeId", ["kindeId"]),
});
