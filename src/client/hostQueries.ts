import { queryGeneric } from "convex/server";
import { v, type Infer, type ObjectType } from "convex/values";
import { vNamedMembership, vUser } from "../shared/mirror.js";
import type { Kinde } from "./index.js";
import { organizationOf } from "./identity.js";

/**
 * One of the signed-in user's organizations, as `organizations` returns it:
 * its code, name and handle, the role and permission keys the user holds there.
 */
export const vSignedInOrganization = v.object({
  ...vNamedMembership.fields,
  /** Whether the signed-in token was issued for this organization (its `org_code`). */
  isCurrent: v.boolean(),
});
export type SignedInOrganization = Infer<typeof vSignedInOrganization>;

/**
 * What `can` asks: exactly one of `permission`, `role` and `entitlement` (a
 * Kinde Billing feature code), in `orgCode` or the token's organization (an
 * entitlement with neither: the user's own customer's). (A public function's
 * arguments must be one object, so "exactly one" is checked when it runs.)
 */
export const vCanArgs = {
  permission: v.optional(v.string()),
  role: v.optional(v.string()),
  entitlement: v.optional(v.string()),
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
        // One component call, whatever the number of memberships.
        const memberships = await ctx.runQuery(
          kinde.component.organizations.listUserOrganizations,
          { kindeId: identity.subject },
        );
        const current = organizationOf(identity);
        return memberships.map((membership) => ({
          ...membership,
          isCurrent: membership.orgCode === current,
        }));
      },
    }),

    can: queryGeneric({
      args: vCanArgs,
      returns: v.boolean(),
      handler: async (ctx, { permission, role, entitlement, orgCode }: CanArgs) => {
        const asked = [permission, role, entitlement].filter((a) => a !== undefined).length;
        if (asked !== 1) {
          throw new Error("can: pass exactly one of `permission`, `role` and `entitlement`.");
        }
        if (entitlement !== undefined) {
          return await kinde.hasEntitlement(ctx, { feature: entitlement, orgCode });
        }
        return permission !== undefined
          ? await kinde.hasPermission(ctx, { permission, orgCode })
          : await kinde.hasRole(ctx, { role: role!, orgCode });
      },
    }),
  };
}
