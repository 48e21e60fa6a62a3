import { defineSchema } from "convex/server";

// The example app keeps no tables of its own: the Kinde mirror lives in the component.
export default defineSchema({});
