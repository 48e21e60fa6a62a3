import { query } from "./_generated/server";
import { kinde } from "./kinde";

export const me = query({
  args: {},
  handler: async (ctx) => await kinde.getAuthUser(ctx),
});
