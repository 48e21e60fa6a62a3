import type { Customization } from "convex-helpers/server/customFunctions";
import type { GenericDataModel, GenericQueryCtx } from "convex/server";
import { v } from "convex/values";
import type { KindeUser, OrganizationMembership } from "../shared/mirror.js";
import type { Kinde } from "./index.js";
import { checkTarget, noOrganizationError } from "./identity.js";
import { forbidden, unauthenticated } from "./errors.js";

/**
 * What a function made with `kinde.customQuery` / `kinde.customMutation`
 * requires of the signed-in user, written next to `args` and `handler`. At
 * most one of the two: a function that needs more checks makes them itself.
 */
export type KindeRequirement =
  | { permission: string; role?: never }
  | { role: string; permission?: never }
  | { permission?: never; role?: never };

/** What such a function finds in `ctx.kinde`. */
export interface KindeFunctionContext {
  /** The signed-in user, as mirrored. */
  user: KindeUser;
  /** The organization the call is about: the `orgCode` argument, else the token's `org_code`. */
  orgCode: string | null;
  /** The user's roles and permissions in `orgCode`, or null if not a member (or no organization). */
  membership: OrganizationMembership | null;
}

/** The argument every such function takes, consumed before the handler runs. */
const kindeArgs = { orgCode: v.optional(v.string()) };

/**
 * The customization behind `kinde.customQuery` and `kinde.customMutation`:
 * refuses callers who are not signed in, not (yet) mirrored, or lack the
 * required permission or role in the organization, and hands the handler the
 * mirrored user. The requirement is checked by the component's own check, so
 * deletions and renames not yet cascaded into the user's memberships count.
 */
export function kindeCustomization<DataModel extends GenericDataModel>(
  kinde: Kinde,
): Customization<
  GenericQueryCtx<DataModel>,
  typeof kindeArgs,
  { kinde: KindeFunctionContext },
  Record<string, never>,
  KindeRequirement
> {
  return {
    args: kindeArgs,
    input: async (ctx, args, requirement) => {
      const { kindeId, orgCode } = await checkTarget(ctx.auth, { orgCode: args.orgCode });
      if (kindeId === null) throw unauthenticated();
      const user = await kinde.getUser(ctx, kindeId);
      if (requirement.permission !== undefined || requirement.role !== undefined) {
        if (orgCode === null) throw noOrganizationError("This function");
        // Someone the mirror does not know holds nothing: no check to run.
        const held =
          user !== null &&
          (requirement.permission !== undefined
            ? await kinde.hasPermission(ctx, {
                kindeId,
                orgCode,
                permission: requirement.permission,
              })
            : await kinde.hasRole(ctx, { kindeId, orgCode, role: requirement.role }));
        if (!held) {
          throw forbidden(
            orgCode,
            requirement.permission !== undefined
              ? { permission: requirement.permission }
              : { role: requirement.role },
          );
        }
      }
      if (user === null) {
        throw unauthenticated(
          "Kinde has not told this app about your account yet. Try again in a moment.",
        );
      }
      const membership = user.organizations.find((m) => m.orgCode === orgCode) ?? null;
      return { ctx: { kinde: { user, orgCode, membership } }, args: {} };
    },
  };
}
