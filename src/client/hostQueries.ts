import { queryGeneric } from "convex/server";
import { v, type Infer, type ObjectType } from "convex/values";
import { vUser } from "../shared/mirror.js";
import type { Kinde } from "./index.js";
import { organizationOf } from "./identity.js";

/**
 * How many of the user's organizations `organizations` looks up by name. Each
 * look-up is a component call and an index range, so the query stays within
 * Convex's limits for any number of memberships; past this many, an entry has
 * its code, roles and permissions but no name or handle.
 */
export const ORGANIZATION_DETAILS_LIMIT = 100;

/** One of the signed-in user's organizations, as `organizations` returns it. */
export const vSignedInOrganization = v.object({
  orgCode: v.string(),
  name: v.optional(v.string()),
  handle: v.optional(v.string()),
  /** Role keys the user holds there. */
  roles: v.array(v.string()),
  /** Permission keys the user holds there. */
  permissions: v.array(v.string()),
  /** Whether the signed-in token was issued for this organization (its `org_code`). */
  isCurrent: v.boolean(),
});
export type SignedInOrganization = Infer<typeof vSignedInOrganization>;

/**
 * What `can` asks: exactly one of `permission` and `role`, in `orgCode` or
 * the token's organization. (A public function's arguments must be one
 * object, so "exactly one" is checked when it runs.)
 */
export const vCanArgs = {
  permission: v.optional(v.string()),
  role: v.optional(v.string()),
  orgCode: v.optional(v.string()),
};
export type CanArgs = ObjectType<typeof vCanArgs>;

/** See {@link Kinde.userQueries}. */
export function userQueries(kinde: Kinde) {
  return {
    user: queryGeneric({
      args: {},
      returns: v.union(vUser, v.null()),
      handler: async (ctx) => await kinde.getAuthUser(ctx),
    }),

    organizations: queryGeneric({
      args: {},
      returns: v.array(vSignedInOrganization),
      handler: async (ctx): Promise<SignedInOrganization[]> => {
        const identity = await ctx.auth.getUserIdentity();
        if (!identity) return [];
        const user = await kinde.getUser(ctx, identity.subject);
        if (!user) return [];
        const current = organizationOf(identity);
        return await Promise.all(
          user.organizations.map(async ({ orgCode, roles, permissions }, index) => {
            const details =
              index < ORGANIZATION_DETAILS_LIMIT ? await kinde.getOrganization(ctx, orgCode) : null;
            return {
              orgCode,
              ...(details?.name !== undefined && { name: details.name }),
              ...(details?.handle !== undefined && { handle: details.handle }),
              roles,
              permissions,
              isCurrent: orgCode === current,
            };
          }),
        );
      },
    }),

    can: queryGeneric({
      args: vCanArgs,
      returns: v.boolean(),
      handler: async (ctx, { permission, role, orgCode }: CanArgs) => {
        if ((permission === undefined) === (role === undefined)) {
          throw new Error("can: pass exactly one of `permission` and `role`.");
        }
        return permission !== undefined
          ? await kinde.hasPermission(ctx, { permission, orgCode })
          : await kinde.hasRole(ctx, { role: role!, orgCode });
      },
    }),
  };
}
