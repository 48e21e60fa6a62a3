/**
 * The billing reads and checks of the `Kinde` class: whose customer a check
 * is about (the organization the call names or the token's `org_code`, else
 * the user's own), and the refusals of `requireEntitlement`.
 */
import type { ComponentApi } from "../component/_generated/component.js";
import type { KindeBilling, KindeEntitlement } from "../shared/billing.js";
import { checkTarget } from "./identity.js";
import { forbidden, notEntitled, unauthenticated } from "./errors.js";
import { isMember } from "./membership.js";
import type { RunQueryAuthCtx, RunQueryCtx } from "./types.js";

/**
 * What an entitlement check asks about: the feature's code in Kinde, and
 * whose customer. `kindeId` defaults to the signed-in user; `orgCode` to the
 * organization the signed-in token names (`org_code`). With an organization,
 * it is the organization's customer, for its members; without, the user's
 * own customer; `orgCode: null` asks about the user's own customer even when
 * the token names an organization (Kinde's access tokens name one, the
 * default organization at least, for most users).
 */
export interface EntitlementCheck {
  feature: string;
  orgCode?: string | null;
  kindeId?: string;
}

/** Whom and whose customer a check is about: the user, and the organization or null for the user's own. */
async function entitlementTarget(
  ctx: RunQueryAuthCtx,
  { orgCode, kindeId }: Omit<EntitlementCheck, "feature">,
) {
  if (orgCode === null) {
    const user = kindeId ?? (await ctx.auth.getUserIdentity())?.subject ?? null;
    return { kindeId: user, orgCode: null };
  }
  return await checkTarget(ctx.auth, {
    ...(kindeId !== undefined && { kindeId }),
    ...(orgCode !== undefined && { orgCode }),
  });
}

/** Whose billing `getBilling` reads: an organization's, or a user's. */
export type BillingOf = { orgCode: string; kindeId?: never } | { kindeId: string; orgCode?: never };

export async function getBilling(
  ctx: RunQueryCtx,
  component: ComponentApi,
  of: BillingOf,
): Promise<KindeBilling | null> {
  const owner =
    of.orgCode !== undefined
      ? { kind: "organization" as const, orgCode: of.orgCode }
      : { kind: "user" as const, kindeId: of.kindeId };
  return await ctx.runQuery(component.billing.getBilling, { owner });
}

/** The entitlement the check is about, or null (nobody signed in, not a member, not entitled). */
export async function getEntitlement(
  ctx: RunQueryAuthCtx,
  component: ComponentApi,
  { feature, ...given }: EntitlementCheck,
): Promise<KindeEntitlement | null> {
  const { kindeId, orgCode } = await entitlementTarget(ctx, given);
  if (kindeId === null) return null;
  return await ctx.runQuery(component.billing.getEntitlement, {
    kindeId,
    feature,
    ...(orgCode !== null && { orgCode }),
  });
}

export async function hasEntitlement(
  ctx: RunQueryAuthCtx,
  component: ComponentApi,
  { feature, ...given }: EntitlementCheck,
): Promise<boolean> {
  const { kindeId, orgCode } = await entitlementTarget(ctx, given);
  if (kindeId === null) return false;
  return await ctx.runQuery(component.billing.hasEntitlement, {
    kindeId,
    feature,
    ...(orgCode !== null && { orgCode }),
  });
}

/**
 * `Kinde.requireEntitlement`: the entitlement, or a refusal. One component
 * call when it passes; a refusal in an organization asks once more whether
 * the user is a member, to say which refusal it is.
 */
export async function requireEntitlement(
  ctx: RunQueryAuthCtx,
  component: ComponentApi,
  { feature, ...given }: EntitlementCheck,
): Promise<KindeEntitlement> {
  const { kindeId, orgCode } = await entitlementTarget(ctx, given);
  if (kindeId === null) throw unauthenticated();
  const entitlement = await getEntitlement(ctx, component, { feature, kindeId, orgCode });
  if (entitlement) return entitlement;
  if (orgCode !== null && !(await isMember(ctx, component, { kindeId, orgCode }))) {
    throw forbidden(orgCode);
  }
  throw notEntitled(feature, orgCode);
}
