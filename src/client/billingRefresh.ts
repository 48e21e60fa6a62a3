/**
 * The billing part of a refresh (the `billing` option): an owner's customer
 * id, as a read begun at `fetchedAt` gave it, then that customer's
 * entitlements and plans, handed to the component with the same
 * `fetchedAt`, so an older fetch never overwrites a newer one and a deleted
 * owner is never brought back.
 */
import type { GenericActionCtx, GenericDataModel } from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";
import type { BillingOwner } from "../shared/billing.js";
import { BillingLimitError, readCustomer } from "./billingReads.js";
import type { Logger } from "./log.js";
import type { ManagementApi } from "./managementApi.js";

/**
 * What the billing part did: `applied`, `stale` or `missing` as the
 * component's `applyCustomer` answered; `no customer` (Kinde names none for
 * the owner); `failed` (the customer is past the mirror's bounds: logged,
 * the stored customer left as it was).
 */
export type BillingRefreshOutcome = "applied" | "stale" | "missing" | "no customer" | "failed";

const describeOwner = (owner: BillingOwner) =>
  owner.kind === "user" ? `user ${owner.kindeId}` : `organization ${owner.orgCode}`;

/**
 * Records `owner`'s customer id and, if it has one, reads and applies that
 * customer. `onEvent`: the host's hook, told `billing.updated` with origin
 * `{ kind: "refresh", fetchedAt }`.
 */
export async function refreshCustomer(
  {
    ctx,
    component,
    api,
    log,
    onEvent,
  }: {
    ctx: GenericActionCtx<GenericDataModel>;
    component: ComponentApi;
    api: ManagementApi;
    log: Logger;
    onEvent: string | undefined;
  },
  owner: BillingOwner,
  customerId: string | null,
  fetchedAt: number,
): Promise<{ outcome: BillingRefreshOutcome; error?: string }> {
  const ids = await ctx.runMutation(component.billing.setCustomerIds, {
    fetchedAt,
    customers: [{ owner, customerId }],
  });
  // Deleted since `begin`: nothing more to read for it.
  if (ids.missing > 0) return { outcome: "missing" };
  if (customerId === null) return { outcome: "no customer" };
  let read;
  try {
    read = await readCustomer(api, customerId);
  } catch (error) {
    // Another read would find the same customer: logged, not retried.
    if (!(error instanceof BillingLimitError)) throw error;
    log.error(`refresh: ${describeOwner(owner)}: ${error.message}; its billing is left as it was`);
    return { outcome: "failed", error: error.message };
  }
  if (read.dropped.length > 0) {
    log.warn(
      `refresh: billing customer ${customerId} of ${describeOwner(owner)}: left out ${read.dropped.join("; ")}`,
    );
  }
  const { outcome } = await ctx.runMutation(component.billing.applyCustomer, {
    owner,
    customerId,
    fetchedAt,
    plans: read.plans,
    entitlements: read.entitlements,
    ...(onEvent && { hook: { onEvent, origin: { kind: "refresh" as const, fetchedAt } } }),
  });
  log.debug(`refresh: ${describeOwner(owner)}'s billing customer ${customerId}: ${outcome}`);
  return { outcome };
}
