import { cronJobs } from "convex/server";
import { internal } from "./_generated/api.js";

const crons = cronJobs();

// Hourly is plenty: records expire days after they are written.
crons.interval(
  "prune expired event records and tombstones",
  { hours: 1 },
  internal.maintenance.prune,
  {},
);

export default crons;
