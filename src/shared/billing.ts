/**
 * Kinde Billing in the mirror: whose billing customer is whose, and what each
 * customer is subscribed to (plans) and entitled to (entitlements), as Kinde's
 * Management API lists them (`GET /api/v1/billing/entitlements?expand=plans`).
 * A customer is fetched and written as a whole, versioned by the time its
 * fetch began (`fetchedAt`): an older fetch never overwrites a newer one.
 *
 * A customer belongs to one owner: a user (B2C, the user pays) or an
 * organization (B2B, the organization pays). Validators are prefixed `v`.
 */
import { v, type Infer } from "convex/values";

/** Whose billing customer it is: a user's (`kindeId`) or an organization's (`orgCode`). */
export const vBillingOwner = v.union(
  v.object({ kind: v.literal("user"), kindeId: v.string() }),
  v.object({ kind: v.literal("organization"), orgCode: v.string() }),
);
export type BillingOwner = Infer<typeof vBillingOwner>;

/** A plan the customer is subscribed to (Kinde's `plans[]`: `code`, `subscribed_on`). */
export const vPlan = v.object({
  /** The plan's code in Kinde (`code`). */
  planCode: v.string(),
  /** When the customer subscribed, as Kinde writes it (`subscribed_on`, e.g. `2024-11-18T13:32:03+11`). */
  subscribedOn: v.optional(v.string()),
});
export type KindePlan = Infer<typeof vPlan>;

/**
 * A feature the customer is entitled to (Kinde's `entitlements[]`), each
 * field absent when Kinde gives none. `limitMin` / `limitMax` are the units
 * of a metered feature the customer may use.
 */
export const vEntitlement = v.object({
  /** The feature's code in Kinde (`feature_code`): what checks name. */
  featureCode: v.string(),
  featureName: v.optional(v.string()),
  /** `entitlement_limit_min`. */
  limitMin: v.optional(v.number()),
  /** `entitlement_limit_max`. */
  limitMax: v.optional(v.number()),
  priceName: v.optional(v.string()),
  /** The price per unit, in cents (`unit_amount`). */
  unitAmount: v.optional(v.number()),
  /** The fixed price of a fixed-charge entitlement (`fixed_charge`). */
  fixedCharge: v.optional(v.number()),
});
export type KindeEntitlement = Infer<typeof vEntitlement>;

/** A customer's billing as the host reads it (`getBilling`). */
export const vBilling = v.object({
  /** Kinde's billing customer id (`customer_…`). */
  customerId: v.string(),
  owner: vBillingOwner,
  plans: v.array(vPlan),
  entitlements: v.array(vEntitlement),
  /** When the fetch these plans and entitlements came from began, ms since epoch. */
  fetchedAt: v.number(),
});
export type KindeBilling = Infer<typeof vBilling>;

/**
 * The most entitlements and plans one customer may have in the mirror. A fetch
 * with more is refused whole (never kept in part: a check must not pass or
 * fail on an arbitrary subset). Real customers have a few dozen.
 */
export const MAX_ENTITLEMENTS_PER_CUSTOMER = 500;
export const MAX_PLANS_PER_CUSTOMER = 50;
/** The longest code (feature, plan) or customer id kept, in characters; an entitlement or plan with a longer one is left out. */
export const MAX_BILLING_CODE = 256;
/** The longest name (feature, price) or date text kept, in characters; longer ones are left out of the entitlement. */
export const MAX_BILLING_TEXT = 1024;
/** The most owners one `setCustomerIds` call takes: a page of Kinde's users. */
export const MAX_CUSTOMER_IDS_PER_CALL = 500;

/** What one customer's fetch gave, as `billing.applyCustomer` takes it. */
export const vCustomerFetch = {
  owner: vBillingOwner,
  customerId: v.string(),
  /** When the fetch began (ms since epoch): an older fetch never overwrites a newer one. */
  fetchedAt: v.number(),
  plans: v.array(vPlan),
  entitlements: v.array(vEntitlement),
};

/**
 * Why a customer's fetch cannot be written, or null: over a count bound, or a
 * value over its length bound (the mapping of Kinde's answers keeps within
 * them; this is the component's own check of what it is handed).
 */
export function customerProblem(fetch: {
  customerId: string;
  plans: KindePlan[];
  entitlements: KindeEntitlement[];
}): string | null {
  const { customerId, plans, entitlements } = fetch;
  if (customerId === "" || customerId.length > MAX_BILLING_CODE) {
    return `a billing customer id must have 1 to ${MAX_BILLING_CODE} characters (got ${customerId.length})`;
  }
  const whose = `billing customer ${customerId}`;
  if (entitlements.length > MAX_ENTITLEMENTS_PER_CUSTOMER) {
    return `${whose} has ${entitlements.length} entitlements: the mirror keeps at most ${MAX_ENTITLEMENTS_PER_CUSTOMER} per customer`;
  }
  if (plans.length > MAX_PLANS_PER_CUSTOMER) {
    return `${whose} has ${plans.length} plans: the mirror keeps at most ${MAX_PLANS_PER_CUSTOMER} per customer`;
  }
  const tooLong = [
    ...plans.flatMap((p) => [
      ["planCode", p.planCode, MAX_BILLING_CODE] as const,
      ["subscribedOn", p.subscribedOn, MAX_BILLING_TEXT] as const,
    ]),
    ...entitlements.flatMap((e) => [
      ["featureCode", e.featureCode, MAX_BILLING_CODE] as const,
      ["featureName", e.featureName, MAX_BILLING_TEXT] as const,
      ["priceName", e.priceName, MAX_BILLING_TEXT] as const,
    ]),
  ].find(([, text, max]) => text !== undefined && (text.length > max || text === ""));
  if (tooLong) {
    const [field, text, max] = tooLong;
    return `${whose}: a ${field} must have 1 to ${max} characters (got ${text!.length})`;
  }
  const notFinite = entitlements
    .flatMap((e) => [e.limitMin, e.limitMax, e.unitAmount, e.fixedCharge])
    .find((n) => n !== undefined && !Number.isFinite(n));
  if (notFinite !== undefined) return `${whose}: an entitlement's amount is ${notFinite}`;
  return null;
}
