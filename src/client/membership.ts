import type { ComponentApi } from "../component/_generated/component.js";
import type { RunQueryAuthCtx, RunQueryCtx } from "./types.js";
import { requireTarget } from "./identity.js";
import { forbidden } from "./errors.js";

/**
 * Whom and where a membership check is about. `kindeId` defaults to the
 * signed-in user, `orgCode` to the organization the signed-in token names
 * (`org_code`, in Kinde's access tokens).
 */
export interface MembershipCheck {
  orgCode?: string;
  kindeId?: string;
}

/**
 * Whether the user is a member of the organization, by the component's check:
 * mirrored, not suspended, in it, and the organization not deleted.
 */
export async function isMember(
  ctx: RunQueryCtx,
  component: ComponentApi,
  target: { kindeId: string; orgCode: string },
): Promise<boolean> {
  return await ctx.runQuery(component.authorization.isMember, target);
}

/** `Kinde.requireMember`: the documentation is there. */
export async function requireMember(
  ctx: RunQueryAuthCtx,
  component: ComponentApi,
  given: MembershipCheck,
): Promise<string> {
  const target = await requireTarget(ctx.auth, given, "requireMember");
  if (!(await isMember(ctx, component, target))) throw forbidden(target.orgCode);
  return target.kindeId;
}
