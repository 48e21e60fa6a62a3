/**
 * Kinde Billing in the Management API stand-in, on spec (v0.19.0):
 * `GET /api/v1/billing/entitlements` (`customer_id` required, `page_size`
 * default 10, `starting_after` an entitlement id, `has_more`, `expand=plans`),
 * and `billing` on users (`expand=billing`: `billing.customer_id`) and on an
 * organization (`billing.billing_customer_id`, `agreements`). Plugged into
 * `startKindeManagementApi` by its scope table, a route, and a pass over
 * what it answers; a tenant's customers are in `tenant.billing`.
 */
import type { Tenant } from "./managementApi.js";

/** An entitlement as Kinde's `get_billing_entitlements_response` lists it; every field may be null. */
export interface TenantEntitlement {
  id: string;
  feature_code: string | null;
  feature_name: string | null;
  entitlement_limit_min: number | null;
  entitlement_limit_max: number | null;
  price_name: string | null;
  unit_amount: number | null;
  fixed_charge: number | null;
}

/** A billing customer: a user's (B2C) or an organization's (B2B). */
export interface TenantCustomer {
  id: string;
  owner: { user: string } | { organization: string };
  plans: { code: string | null; subscribed_on: string | null }[];
  entitlements: TenantEntitlement[];
}

export interface TenantBilling {
  customers: TenantCustomer[];
}

/** The scopes of the routes billing adds, as the spec's `x-scope` names them. */
export const BILLING_ROUTE_SCOPES: [RegExp, string][] = [
  [/^\/api\/v1\/billing\/entitlements$/, "read:billing_entitlements"],
  [/^\/api\/v1\/user$/, "read:users"],
];

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/** An entitlement with Kinde's id shape, nulls where `fields` gives none. */
export function tenantEntitlement(
  i: number,
  fields: Partial<Omit<TenantEntitlement, "id">> = {},
): TenantEntitlement {
  return {
    id: `entitlement_0195ac80a14e8d71f42b${hex(i + 1, 12)}`,
    feature_code: `feature-${i + 1}`,
    feature_name: `Feature ${i + 1}`,
    entitlement_limit_min: null,
    entitlement_limit_max: null,
    price_name: null,
    unit_amount: null,
    fixed_charge: null,
    ...fields,
  };
}

/**
 * Customers for a stand-in tenant: its first user (B2C) and first
 * organization (B2B), each on a plan with a metered and a plain feature.
 */
export function makeTenantBilling(tenant: Pick<Tenant, "users" | "organizations">): TenantBilling {
  const customers: TenantCustomer[] = [];
  const user = tenant.users[0];
  if (user) {
    customers.push({
      id: "customer_0195ac80a14e8d71f42b98e75d3c61ad",
      owner: { user: user.id },
      plans: [{ code: "personal", subscribed_on: "2024-11-18T13:32:03+11" }],
      entitlements: [
        tenantEntitlement(0, {
          feature_code: "CcdkvEXpbg6UY",
          feature_name: "Pro Gym",
          price_name: "Pro gym",
          fixed_charge: 35,
        }),
      ],
    });
  }
  const organization = tenant.organizations[0];
  if (organization) {
    customers.push({
      id: "customer_0195ac80a14e8d71f42b98e75d3c61ae",
      owner: { organization: organization.code },
      plans: [
        { code: "team", subscribed_on: "2025-01-02T03:04:05+00" },
        { code: "addon-export", subscribed_on: null },
      ],
      entitlements: [
        tenantEntitlement(1, {
          feature_code: "seats",
          feature_name: "Seats",
          entitlement_limit_min: 1,
          entitlement_limit_max: 25,
          price_name: "Per seat",
          unit_amount: 900,
        }),
        tenantEntitlement(2, { feature_code: "csv-export", feature_name: "CSV export" }),
      ],
    });
  }
  return { customers };
}

/**
 * A hostile customer for `owner`: `count` entitlements (several pages), with
 * nulls everywhere Kinde allows them, a feature code and a name longer than
 * the mirror keeps, an entitlement without a code, and one feature listed twice.
 */
export function hostileCustomer(
  owner: TenantCustomer["owner"],
  count: number,
  id = "customer_hostile0000000000000000001",
): TenantCustomer {
  const entitlements = Array.from({ length: count }, (_, i) =>
    tenantEntitlement(i, {
      feature_name: i % 3 ? null : `Feature ${i + 1}`,
      entitlement_limit_max: i % 2 ? null : i,
      unit_amount: i % 5 ? null : 0,
    }),
  );
  entitlements[0] = tenantEntitlement(0, { feature_code: "x".repeat(300) });
  entitlements[1] = tenantEntitlement(1, { feature_code: null });
  entitlements[2] = tenantEntitlement(2, { feature_name: "n".repeat(5000) });
  entitlements[3] = tenantEntitlement(3, { feature_code: "feature-5", entitlement_limit_max: 99 });
  return {
    id,
    owner,
    plans: [
      { code: "plan-with-a-long-history", subscribed_on: "2024-11-18T13:32:03+11" },
      { code: null, subscribed_on: null },
    ],
    entitlements,
  };
}

type Query = Record<string, string>;
const ownedBy = (customer: TenantCustomer, owner: { user: string } | { organization: string }) =>
  "user" in owner
    ? "user" in customer.owner && customer.owner.user === owner.user
    : "organization" in customer.owner && customer.owner.organization === owner.organization;

function customerOf(tenant: Tenant, owner: { user: string } | { organization: string }) {
  return tenant.billing?.customers.find((c) => ownedBy(c, owner));
}

const badRequest = (code: string, message: string, field: string) => ({
  status: 400,
  body: { errors: [{ code, message, field }] },
});

/**
 * What billing's route answers (`GET /api/v1/billing/entitlements`), or
 * undefined for any other path.
 */
export function answerBilling(
  tenant: Tenant,
  path: string,
  query: Query,
): { status: number; body: unknown } | undefined {
  if (path !== "/api/v1/billing/entitlements") return undefined;
  if (!query.customer_id)
    return badRequest("INVALID_REQUEST", "customer_id is required", "customer_id");
  const customer = tenant.billing?.customers.find((c) => c.id === query.customer_id);
  if (!customer) return badRequest("CUSTOMER_NOT_FOUND", "Customer not found", "customer_id");
  const size = Math.max(1, Number(query.page_size) || 10);
  const start = query.starting_after
    ? customer.entitlements.findIndex((e) => e.id === query.starting_after) + 1
    : 0;
  const page = customer.entitlements.slice(start, start + size);
  return {
    status: 200,
    body: {
      code: "OK",
      message: "Success",
      has_more: start + size < customer.entitlements.length,
      entitlements: page,
      ...(query.expand === "plans" ? { plans: customer.plans } : {}),
    },
  };
}

/**
 * Adds `billing` to what the stand-in answered when `expand` asks for it:
 * each user of `GET /api/v1/users`, the user of `GET /api/v1/user`, the
 * organization of `GET /api/v1/organization`. Others pass unchanged.
 */
export function withBilling<A extends { status: number; body: string }>(
  tenant: Tenant,
  path: string,
  query: Query,
  answer: A,
): A {
  const expanded = (query.expand ?? "").split(",").includes("billing");
  if (!expanded || answer.status !== 200) return answer;
  const ofUser = (user: { id: string }) => {
    const customer = customerOf(tenant, { user: user.id });
    return customer ? { ...user, billing: { customer_id: customer.id } } : user;
  };
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  let billed: unknown;
  if (path === "/api/v1/users" && Array.isArray(body.users)) {
    billed = { ...body, users: (body.users as { id: string }[]).map(ofUser) };
  } else if (path === "/api/v1/user" && typeof body.id === "string") {
    billed = ofUser(body as { id: string });
  } else if (path === "/api/v1/organization" && typeof body.code === "string") {
    const customer = customerOf(tenant, { organization: body.code });
    billed = customer
      ? {
          ...body,
          billing: {
            billing_customer_id: customer.id,
            agreements: customer.plans.map((plan, i) => ({
              plan_code: plan.code,
              agreement_id: `agreement_${hex(i + 1, 6)}`,
            })),
          },
        }
      : body;
  } else {
    return answer;
  }
  return { ...answer, body: JSON.stringify(billed) };
}
