/**
 * Kinde Billing: each user's or organization's billing customer, its plans
 * and entitlements, written as a whole from one fetch (`applyCustomer`), and
 * the checks the host makes of them. A check reads a constant number of
 * documents and index ranges, whatever the number of customers or of the
 * customer's entitlements.
 */
import type { FunctionHandle } from "convex/server";
import { v } from "convex/values";
import { mutation, query, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import { membershipOf } from "./authorization.js";
import { samePublicShape } from "./changes.js";
import { findOrganization } from "./organizations.js";
import { findUser } from "./users.js";
import {
  customerProblem,
  MAX_BILLING_CODE,
  MAX_CUSTOMER_IDS_PER_CALL,
  MAX_ENTITLEMENTS_PER_CUSTOMER,
  vBilling,
  vBillingOwner,
  vCustomerFetch,
  vEntitlement,
  type BillingOwner,
  type KindeBilling,
  type KindeEntitlement,
  type KindePlan,
} from "../shared/billing.js";
import { vChangeOrigin, type MirrorEvent } from "../shared/mirrorEvents.js";

type OwnerKey = { ownerKind: BillingOwner["kind"]; ownerId: string };

function keyOf(owner: BillingOwner): OwnerKey {
  return owner.kind === "user"
    ? { ownerKind: "user", ownerId: owner.kindeId }
    : { ownerKind: "organization", ownerId: owner.orgCode };
}

function ownerOf({ ownerKind, ownerId }: OwnerKey): BillingOwner {
  return ownerKind === "user"
    ? { kind: "user", kindeId: ownerId }
    : { kind: "organization", orgCode: ownerId };
}

async function findCustomerRow(ctx: QueryCtx, { ownerKind, ownerId }: OwnerKey) {
  return await ctx.db
    .query("billingCustomers")
    .withIndex("owner", (q) => q.eq("ownerKind", ownerKind).eq("ownerId", ownerId))
    .unique();
}

/** Whether the owner is mirrored: a deleted owner has no row (its tombstone's invariant), nor has one never seen. */
export async function isMirrored(ctx: QueryCtx, owner: BillingOwner): Promise<boolean> {
  return owner.kind === "user"
    ? (await findUser(ctx, owner.kindeId)) !== null
    : (await findOrganization(ctx, owner.orgCode)) !== null;
}

/** The owner's entitlement rows (any customer's): at most one fetch's, so bounded. */
async function entitlementRows(ctx: QueryCtx, { ownerKind, ownerId }: OwnerKey) {
  return await ctx.db
    .query("billingEntitlements")
    .withIndex("feature", (q) => q.eq("ownerKind", ownerKind).eq("ownerId", ownerId))
    .take(2 * MAX_ENTITLEMENTS_PER_CUSTOMER);
}

/** The entitlements of the owner's customer `customerId` (to `featureCode` only, if given). */
function currentEntitlements(
  ctx: QueryCtx,
  { ownerKind, ownerId }: OwnerKey,
  customerId: string,
  featureCode?: string,
) {
  return ctx.db.query("billingEntitlements").withIndex("feature", (q) => {
    const customer = q
      .eq("ownerKind", ownerKind)
      .eq("ownerId", ownerId)
      .eq("customerId", customerId);
    return featureCode === undefined ? customer : customer.eq("featureCode", featureCode);
  });
}

function toEntitlement(row: Doc<"billingEntitlements">): KindeEntitlement {
  return {
    featureCode: row.featureCode,
    featureName: row.featureName,
    limitMin: row.limitMin,
    limitMax: row.limitMax,
    priceName: row.priceName,
    unitAmount: row.unitAmount,
    fixedCharge: row.fixedCharge,
  };
}

/** One order for entitlements and plans, whatever order Kinde listed them in, so equal sets compare equal. */
const entitlementKey = (e: KindeEntitlement) =>
  JSON.stringify(
    Object.entries(e)
      .filter(([, value]) => value !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
const byEntitlement = (a: KindeEntitlement, b: KindeEntitlement) =>
  a.featureCode < b.featureCode
    ? -1
    : a.featureCode > b.featureCode
      ? 1
      : entitlementKey(a).localeCompare(entitlementKey(b));
const byPlan = (a: KindePlan, b: KindePlan) =>
  a.planCode < b.planCode ? -1 : a.planCode > b.planCode ? 1 : 0;

/** What the host reads of a customer, or null when none was fetched for its current customer id. */
function toBilling(
  row: Doc<"billingCustomers"> | null,
  rows: Doc<"billingEntitlements">[],
): KindeBilling | null {
  if (!row || row.customerId === undefined || row.fetchedAt === undefined) return null;
  const customerId = row.customerId;
  return {
    customerId,
    owner: ownerOf(row),
    plans: row.plans,
    entitlements: rows
      .filter((r) => r.customerId === customerId)
      .map(toEntitlement)
      .sort(byEntitlement),
    fetchedAt: row.fetchedAt,
  };
}

/** Both the same for the host, the time of the fetch aside. */
function sameBilling(a: KindeBilling | null, b: KindeBilling) {
  return a !== null && samePublicShape({ ...a, fetchedAt: 0 }, { ...b, fetchedAt: 0 });
}

/** Deletes the owner's customer and entitlements: its owner is being deleted. Bounded by one fetch. */
export async function deleteBillingOf(ctx: MutationCtx, owner: BillingOwner) {
  const key = keyOf(owner);
  const row = await findCustomerRow(ctx, key);
  if (row) await ctx.db.delete("billingCustomers", row._id);
  for (const entitlement of await entitlementRows(ctx, key)) {
    await ctx.db.delete("billingEntitlements", entitlement._id);
  }
}

const vApplyOutcome = v.union(v.literal("applied"), v.literal("stale"), v.literal("missing"));

/**
 * Writes one customer as a fetch that began at `fetchedAt` read it: its
 * plans and entitlements replace the stored ones (those unchanged are not
 * rewritten), unless a fetch that began later was applied already (`stale`),
 * the owner's customer id was read since as another one (`stale`), or the
 * owner is not mirrored or deleted (`missing`: nothing written, so a fetch
 * in flight never brings a deleted user or organization back). Over the
 * bounds of `customerProblem` it throws, writing nothing.
 *
 * `hook`: the host's hook (`kinde.events`) and the origin it is told, run
 * with `billing.updated` when what `getBilling` reads changed.
 */
export const applyCustomer = mutation({
  args: {
    ...vCustomerFetch,
    hook: v.optional(v.object({ onEvent: v.string(), origin: vChangeOrigin })),
  },
  returns: v.object({ outcome: vApplyOutcome }),
  handler: async (ctx, { owner, customerId, fetchedAt, plans, entitlements, hook }) => {
    const problem = customerProblem({ customerId, plans, entitlements });
    if (problem) throw new Error(`billing.applyCustomer: ${problem}`);
    if (!(await isMirrored(ctx, owner))) return { outcome: "missing" as const };
    const key = keyOf(owner);
    const row = await findCustomerRow(ctx, key);
    if (row?.fetchedAt !== undefined && fetchedAt <= row.fetchedAt) {
      return { outcome: "stale" as const };
    }
    // A later read of the owner named another customer: this fetch is of a customer it no longer is.
    if (row && row.customerIdFetchedAt > fetchedAt && row.customerId !== customerId) {
      return { outcome: "stale" as const };
    }

    const stored = await entitlementRows(ctx, key);
    const previous = toBilling(row, stored);
    const unmatched = new Map<string, Doc<"billingEntitlements">[]>();
    for (const r of stored) {
      const k = r.customerId === customerId ? entitlementKey(toEntitlement(r)) : "";
      unmatched.set(k, [...(unmatched.get(k) ?? []), r]);
    }
    for (const entitlement of entitlements) {
      const k = entitlementKey(entitlement);
      const same = unmatched.get(k);
      if (same?.length) {
        same.pop();
        continue;
      }
      await ctx.db.insert("billingEntitlements", { ...key, customerId, ...entitlement });
    }
    for (const r of [...unmatched.values()].flat()) {
      await ctx.db.delete("billingEntitlements", r._id);
    }

    const customer = {
      ...key,
      customerId,
      customerIdFetchedAt: Math.max(row?.customerIdFetchedAt ?? fetchedAt, fetchedAt),
      fetchedAt,
      plans: [...plans].sort(byPlan),
    };
    if (row) await ctx.db.replace("billingCustomers", row._id, customer);
    else await ctx.db.insert("billingCustomers", customer);

    const billing: KindeBilling = {
      customerId,
      owner: ownerOf(key),
      plans: customer.plans,
      entitlements: [...entitlements].sort(byEntitlement),
      fetchedAt,
    };
    if (hook && !sameBilling(previous, billing)) {
      const event: MirrorEvent = {
        type: "billing.updated",
        billing,
        previous,
        origin: hook.origin,
      };
      await ctx.runMutation(hook.onEvent as FunctionHandle<"mutation">, { event });
    }
    return { outcome: "applied" as const };
  },
});

/**
 * Records the billing customer ids of a page of users or organizations, as
 * a read that began at `fetchedAt` gave them (`null`: not a customer). An
 * id read before the stored one is left; an owner not mirrored (or deleted)
 * is counted `missing` and nothing is written for it. An owner whose
 * customer id changes loses the plans and entitlements of the old customer
 * (its next customer fetch brings the new one's). An owner never known as a
 * customer and read as none writes nothing.
 */
export const setCustomerIds = mutation({
  args: {
    fetchedAt: v.number(),
    customers: v.array(
      v.object({ owner: vBillingOwner, customerId: v.union(v.string(), v.null()) }),
    ),
  },
  returns: v.object({ applied: v.number(), stale: v.number(), missing: v.number() }),
  handler: async (ctx, { fetchedAt, customers }) => {
    if (customers.length > MAX_CUSTOMER_IDS_PER_CALL) {
      throw new Error(
        `billing.setCustomerIds: ${customers.length} owners in one call; at most ${MAX_CUSTOMER_IDS_PER_CALL}`,
      );
    }
    const counts = { applied: 0, stale: 0, missing: 0 };
    for (const { owner, customerId } of customers) {
      if (customerId !== null && (customerId === "" || customerId.length > MAX_BILLING_CODE)) {
        throw new Error(
          `billing.setCustomerIds: a billing customer id must have 1 to ${MAX_BILLING_CODE} characters (got ${customerId.length})`,
        );
      }
      if (!(await isMirrored(ctx, owner))) {
        counts.missing++;
        continue;
      }
      const key = keyOf(owner);
      const row = await findCustomerRow(ctx, key);
      if (row && row.customerIdFetchedAt >= fetchedAt) {
        counts.stale++;
        continue;
      }
      counts.applied++;
      if (!row) {
        if (customerId !== null) {
          await ctx.db.insert("billingCustomers", {
            ...key,
            customerId,
            customerIdFetchedAt: fetchedAt,
            plans: [],
          });
        }
        continue;
      }
      const changed = row.customerId !== (customerId ?? undefined);
      await ctx.db.replace("billingCustomers", row._id, {
        ...key,
        customerId: customerId ?? undefined,
        customerIdFetchedAt: fetchedAt,
        // Plans of another customer are not this one's; its entitlements are read by customer id.
        fetchedAt: changed ? undefined : row.fetchedAt,
        plans: changed ? [] : row.plans,
      });
    }
    return counts;
  },
});

/** A customer's billing as last fetched, or null (not a customer, or not fetched yet). */
export const getBilling = query({
  args: { owner: vBillingOwner },
  returns: v.union(vBilling, v.null()),
  handler: async (ctx, { owner }) => {
    const key = keyOf(owner);
    const row = await findCustomerRow(ctx, key);
    if (!row?.customerId || row.fetchedAt === undefined) return null;
    const rows = await currentEntitlements(ctx, key, row.customerId).take(
      MAX_ENTITLEMENTS_PER_CUSTOMER,
    );
    return toBilling(row, rows);
  },
});

/** Whose customer `customerId` is, or null: for a billing webhook that names its customer by id. */
export async function ownerOfCustomer(
  ctx: QueryCtx,
  customerId: string,
): Promise<BillingOwner | null> {
  const row = await ctx.db
    .query("billingCustomers")
    .withIndex("customerId", (q) => q.eq("customerId", customerId))
    .first();
  return row && ownerOf(row);
}

export const findCustomer = query({
  args: { customerId: v.string() },
  returns: v.union(v.object({ owner: vBillingOwner }), v.null()),
  handler: async (ctx, { customerId }) => {
    const owner = await ownerOfCustomer(ctx, customerId);
    return owner && { owner };
  },
});

/**
 * The newest fetch of any customer's plans and entitlements (the last billing
 * refresh that landed), or null when none ever did: one index entry, for the
 * doctor.
 */
export const lastFetch = query({
  args: {},
  returns: v.union(
    v.object({ owner: vBillingOwner, customerId: v.optional(v.string()), fetchedAt: v.number() }),
    v.null(),
  ),
  handler: async (ctx) => {
    // Descending, absent `fetchedAt`s (never fetched) sort last: the first row is the newest fetch.
    const row = await ctx.db.query("billingCustomers").withIndex("fetchedAt").order("desc").first();
    if (row?.fetchedAt === undefined) return null;
    return {
      owner: ownerOf(row),
      ...(row.customerId !== undefined && { customerId: row.customerId }),
      fetchedAt: row.fetchedAt,
    };
  },
});

const vCheckArgs = { kindeId: v.string(), orgCode: v.optional(v.string()), feature: v.string() };

/**
 * The entitlement to `feature` the check is about, or null. With `orgCode`,
 * the organization's customer, for a member of it (not suspended, the
 * organization not deleted); without, the user's own customer, for a
 * mirrored user who is not suspended. Reads the user, at most a tombstone,
 * the customer and one index entry: the same whatever the tenant's size.
 */
async function entitlementFor(
  ctx: QueryCtx,
  { kindeId, orgCode, feature }: { kindeId: string; orgCode?: string; feature: string },
): Promise<KindeEntitlement | null> {
  let key: OwnerKey;
  if (orgCode !== undefined) {
    if (!(await membershipOf(ctx, kindeId, orgCode))) return null;
    key = { ownerKind: "organization", ownerId: orgCode };
  } else {
    const user = await findUser(ctx, kindeId);
    if (!user || user.isSuspended) return null;
    key = { ownerKind: "user", ownerId: kindeId };
  }
  const customer = await findCustomerRow(ctx, key);
  if (!customer?.customerId || customer.fetchedAt === undefined) return null;
  const row = await currentEntitlements(ctx, key, customer.customerId, feature).first();
  return row && toEntitlement(row);
}

export const hasEntitlement = query({
  args: vCheckArgs,
  returns: v.boolean(),
  handler: async (ctx, args) => (await entitlementFor(ctx, args)) !== null,
});

/** The entitlement, with its limits; when Kinde lists the feature twice (two plans), one of them. */
export const getEntitlement = query({
  args: vCheckArgs,
  returns: v.union(vEntitlement, v.null()),
  handler: async (ctx, args) => await entitlementFor(ctx, args),
});
