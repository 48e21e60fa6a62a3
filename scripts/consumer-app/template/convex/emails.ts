// The README's welcome-email hook schedules internal.emails.sendWelcome, "an
// action of yours": this stands in for it, sending nothing.
import { v } from "convex/values";
import { internalAction } from "./_generated/server";

export const sendWelcome = internalAction({
  args: { kindeId: v.string() },
  returns: v.null(),
  handler: async () => null,
});
