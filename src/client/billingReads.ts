/**
 * Kinde Billing from the Management API: a customer's entitlements and plans
 * (`GET /api/v1/billing/entitlements?expand=plans`, paged with
 * `starting_after` / `has_more`), and whose customer is whose (`expand=billing`
 * on users and organizations). Mapping is pure: Kinde's `null`s become absent
 * fields, values past the mirror's bounds are left out and named. Fetching
 * goes through `ManagementApi` (its retries, 429 waits and `WaitRequired`).
 */
import {
  MAX_BILLING_CODE,
  MAX_BILLING_TEXT,
  MAX_ENTITLEMENTS_PER_CUSTOMER,
  MAX_PLANS_PER_CUSTOMER,
  type KindeEntitlement,
  type KindePlan,
} from "../shared/billing.js";
import { ManagementApiError, type ManagementApi } from "./managementApi.js";

/** The Management API scopes billing reads need, as the spec names them. */
export const BILLING_SCOPES = {
  entitlements: "read:billing_entitlements",
  users: "read:users",
  organizations: "read:organizations",
} as const;

export const ENTITLEMENTS_PATH = "/api/v1/billing/entitlements";

/** Entitlements asked for per page (the spec sets no maximum; Kinde's listings take up to 500). */
export const ENTITLEMENTS_PAGE_SIZE = 100;

/** A mapping's result: what fits the mirror, and what was left out, said for the log. */
export interface MappedBilling<T> {
  value: T;
  dropped: string[];
}

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/** A text field: absent for null, "", a non-string or past `max` (then named in `dropped`). */
function text(item: Record<string, unknown>, field: string, max: number, dropped: string[]) {
  const value = item[field];
  if (typeof value !== "string" || value === "") return undefined;
  if (value.length > max) {
    dropped.push(`${field} of ${value.length} characters (over ${max})`);
    return undefined;
  }
  return value;
}

function amount(item: Record<string, unknown>, field: string) {
  const value = item[field];
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/**
 * One entitlement of Kinde's answer, or null when it has no usable
 * `feature_code` (none, or too long to be a code the mirror keeps: such a
 * feature could never be checked, so it is named in `dropped`).
 */
export function toEntitlement(item: unknown, dropped: string[]): KindeEntitlement | null {
  if (!isRecord(item)) {
    dropped.push("an entitlement that is not an object");
    return null;
  }
  const code = item.feature_code;
  if (typeof code === "string" && code.length > MAX_BILLING_CODE) {
    dropped.push(
      `an entitlement whose feature_code has ${code.length} characters (over ${MAX_BILLING_CODE})`,
    );
    return null;
  }
  const featureCode = text(item, "feature_code", MAX_BILLING_CODE, dropped);
  if (featureCode === undefined) {
    dropped.push(`an entitlement without a feature_code (${String(item.id ?? "no id")})`);
    return null;
  }
  const entitlement: KindeEntitlement = { featureCode };
  const fields = {
    featureName: text(item, "feature_name", MAX_BILLING_TEXT, dropped),
    limitMin: amount(item, "entitlement_limit_min"),
    limitMax: amount(item, "entitlement_limit_max"),
    priceName: text(item, "price_name", MAX_BILLING_TEXT, dropped),
    unitAmount: amount(item, "unit_amount"),
    fixedCharge: amount(item, "fixed_charge"),
  };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) Object.assign(entitlement, { [key]: value });
  }
  return entitlement;
}

/** One plan of Kinde's answer (`code`, `subscribed_on`), or null without a usable code. */
export function toPlan(item: unknown, dropped: string[]): KindePlan | null {
  if (!isRecord(item)) return null;
  const planCode = text(item, "code", MAX_BILLING_CODE, dropped);
  if (planCode === undefined) {
    dropped.push("a plan without a code");
    return null;
  }
  const subscribedOn = text(item, "subscribed_on", MAX_BILLING_TEXT, dropped);
  return subscribedOn === undefined ? { planCode } : { planCode, subscribedOn };
}

/** A customer id Kinde gave, or null (none, empty, or past the bound). */
function customerIdOf(value: unknown): string | null {
  return typeof value === "string" && value !== "" && value.length <= MAX_BILLING_CODE
    ? value
    : null;
}

/** A listed or read user's customer id (`billing.customer_id`, with `expand=billing`), or null. */
export function userCustomerId(user: unknown): string | null {
  return isRecord(user) && isRecord(user.billing) ? customerIdOf(user.billing.customer_id) : null;
}

/** An organization's customer id (`billing.billing_customer_id`, with `expand=billing`), or null. */
export function organizationCustomerId(organization: unknown): string | null {
  return isRecord(organization) && isRecord(organization.billing)
    ? customerIdOf(organization.billing.billing_customer_id)
    : null;
}

/** The customer ids of a `GET /api/v1/users?expand=billing` page, by user: for `billing.setCustomerIds`. */
export function customerIdsOfListed(
  users: unknown,
): { kindeId: string; customerId: string | null }[] {
  if (!Array.isArray(users)) return [];
  return users.flatMap((user: unknown) =>
    isRecord(user) && typeof user.id === "string" && user.id !== ""
      ? [{ kindeId: user.id, customerId: userCustomerId(user) }]
      : [],
  );
}

/** A customer with more entitlements or plans than the mirror keeps: refused whole, never kept in part. */
export class BillingLimitError extends Error {
  override name = "BillingLimitError";
}

/** What one customer's fetch read. */
export interface CustomerRead {
  plans: KindePlan[];
  entitlements: KindeEntitlement[];
  /** Values left out, for the log. */
  dropped: string[];
  /** Requests the read took (pages). */
  pages: number;
}

/**
 * Every entitlement of `customerId`, with its plans: pages of
 * {@link ENTITLEMENTS_PAGE_SIZE} after the last entitlement's id until Kinde
 * says `has_more: false`. It also ends on an empty page, and on a page whose
 * last id was seen before (Kinde paging in a loop), so it always ends; past
 * the mirror's bounds it throws {@link BillingLimitError} without reading
 * on. Plans come with the first page (`expand=plans` lists them all).
 */
export async function readCustomer(api: ManagementApi, customerId: string): Promise<CustomerRead> {
  const dropped: string[] = [];
  const entitlements: KindeEntitlement[] = [];
  let plans: KindePlan[] = [];
  const seen = new Set<string>();
  let startingAfter: string | undefined;
  let pages = 0;
  for (;;) {
    const body = await api.get(
      ENTITLEMENTS_PATH,
      {
        customer_id: customerId,
        page_size: String(ENTITLEMENTS_PAGE_SIZE),
        starting_after: startingAfter,
        expand: pages === 0 ? "plans" : undefined,
      },
      BILLING_SCOPES.entitlements,
    );
    pages++;
    const items: unknown[] = Array.isArray(body.entitlements) ? body.entitlements : [];
    if (pages === 1 && Array.isArray(body.plans)) {
      plans = body.plans.flatMap((p: unknown) => toPlan(p, dropped) ?? []);
      if (plans.length > MAX_PLANS_PER_CUSTOMER) {
        throw new BillingLimitError(
          `billing customer ${customerId} has ${plans.length} plans: the mirror keeps at most ${MAX_PLANS_PER_CUSTOMER} per customer`,
        );
      }
    }
    entitlements.push(...items.flatMap((item) => toEntitlement(item, dropped) ?? []));
    if (entitlements.length > MAX_ENTITLEMENTS_PER_CUSTOMER) {
      throw new BillingLimitError(
        `billing customer ${customerId} has more than ${MAX_ENTITLEMENTS_PER_CUSTOMER} entitlements: the mirror keeps at most ${MAX_ENTITLEMENTS_PER_CUSTOMER} per customer`,
      );
    }
    const last = items.at(-1);
    const lastId = isRecord(last) && typeof last.id === "string" ? last.id : undefined;
    if (body.has_more !== true || lastId === undefined) break;
    if (seen.has(lastId)) {
      dropped.push(`${ENTITLEMENTS_PATH} listed entitlement ${lastId} again; ended there`);
      break;
    }
    seen.add(lastId);
    startingAfter = lastId;
  }
  return { plans, entitlements, dropped, pages };
}

/**
 * Whether `error` says Kinde has no such user or organization: a 404, or the
 * 400 the spec documents for an id or code it does not know.
 */
function isGone(error: unknown): boolean {
  return error instanceof ManagementApiError && (error.status === 404 || error.status === 400);
}

/**
 * A user's billing customer id (`GET /api/v1/user?id=…&expand=billing`):
 * `{ customerId }` (null when the user is no customer), or null when Kinde
 * has no such user.
 */
export async function readUserCustomerId(
  api: ManagementApi,
  kindeId: string,
): Promise<{ customerId: string | null } | null> {
  try {
    const user = await api.get(
      "/api/v1/user",
      { id: kindeId, expand: "billing" },
      BILLING_SCOPES.users,
    );
    return { customerId: userCustomerId(user) };
  } catch (error) {
    if (isGone(error)) return null;
    throw error;
  }
}

/**
 * An organization's billing customer id (`GET /api/v1/organization?code=…&expand=billing`):
 * `{ customerId }` (null when it is no customer), or null when Kinde has no such organization.
 */
export async function readOrganizationCustomerId(
  api: ManagementApi,
  orgCode: string,
): Promise<{ customerId: string | null } | null> {
  try {
    const organization = await api.get(
      "/api/v1/organization",
      { code: orgCode, expand: "billing" },
      BILLING_SCOPES.organizations,
    );
    return { customerId: organizationCustomerId(organization) };
  } catch (error) {
    if (isGone(error)) return null;
    throw error;
  }
}
