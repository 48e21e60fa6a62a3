import type { Customization } from "convex-helpers/server/customFunctions";
import type { GenericDataModel, GenericQueryCtx } from "convex/server";
import { v } from "convex/values";
import type { KindeUser, OrganizationMembership } from "../shared/mirror.js";
import type { Kinde } from "./index.js";
import { checkTarget, noOrganizationError } from "./identity.js";
import { forbidden, unauthenticated } from "./errors.js";
import { isMember } from "./membership.js";
import type { RunQueryAuthCtx } from "./types.js";

/**
 * What a function made with `kinde.customQuery` / `kinde.customMutation`
 * requires of the signed-in user in the organization the call is about,
 * written next to `args` and `handler`: `member: true` (membership is enough),
 * a `permission` or a `role` (each implies membership), or an `entitlement`
 * (a Kinde Billing feature code: the organization's customer's, for its
 * members, or with no organization the user's own). At most one: a
 * function that needs more checks makes them itself. With none, being signed
 * in and mirrored is enough, and `ctx.kinde.orgCode` is only what the caller
 * asked for: a function that reads an organization's data names one.
 */
export type KindeRequirement =
  | { member: true; permission?: never; role?: never; entitlement?: never }
  | { permission: string; role?: never; member?: never; entitlement?: never }
  | { role: string; permission?: never; member?: never; entitlement?: never }
  | { entitlement: string; permission?: never; role?: never; member?: never }
  | { permission?: never; role?: never; member?: never; entitlement?: never };

/** What such a function finds in `ctx.kinde`. */
export interface KindeFunctionContext {
  /** The signed-in user, as mirrored. */
  user: KindeUser;
  /** The organization the call is about: the `orgCode` argument, else the token's `org_code`. */
  orgCode: string | null;
  /**
   * The user's roles and permissions in `orgCode`, or null if not a member (or
   * no organization). Set whenever the function names a requirement.
   */
  membership: OrganizationMembership | null;
}

/** The argument every such function takes, consumed before the handler runs. */
const kindeArgs = { orgCode: v.optional(v.string()) };

/**
 * The customization behind `kinde.customQuery` and `kinde.customMutation`:
 * refuses callers who are not signed in, not (yet) mirrored, or lack the
 * required membership, permission or role in the organization, and hands the
 * handler the mirrored user. The requirement is checked by the component's own
 * check, so deletions and renames not yet cascaded into the user's memberships
 * count.
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
      if (requirement.entitlement !== undefined) {
        // The refusals of requireEntitlement: not a member, or not entitled.
        await kinde.requireEntitlement(ctx, {
          kindeId,
          orgCode,
          feature: requirement.entitlement,
        });
      } else if (isRequired(requirement)) {
        if (orgCode === null) throw noOrganizationError("This function");
        // Someone the mirror does not know holds nothing: no check to run.
        if (user === null || !(await meets(kinde, ctx, requirement, { kindeId, orgCode }))) {
          throw forbidden(orgCode, named(requirement));
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

/** Whether the function names a requirement (and so needs an organization). */
function isRequired(requirement: KindeRequirement): boolean {
  return (
    requirement.member === true ||
    requirement.permission !== undefined ||
    requirement.role !== undefined
  );
}

/** Whether the user meets the requirement in `orgCode`, by the component's checks. */
async function meets(
  kinde: Kinde,
  ctx: RunQueryAuthCtx,
  requirement: KindeRequirement,
  target: { kindeId: string; orgCode: string },
): Promise<boolean> {
  if (requirement.permission !== undefined) {
    return await kinde.hasPermission(ctx, { ...target, permission: requirement.permission });
  }
  if (requirement.role !== undefined) {
    return await kinde.hasRole(ctx, { ...target, role: requirement.role });
  }
  return await isMember(ctx, kinde.component, target);
}

/** What a refusal names: the permission or role, or nothing for membership. */
function named(requirement: KindeRequirement): Parameters<typeof forbidden>[1] {
  if (requirement.permission !== undefined) return { permission: requirement.permission };
  if (requirement.role !== undefined) return { role: requirement.role };
  return {};
}
