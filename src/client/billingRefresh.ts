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

/** What the billing reads and writes need. */
export interface BillingDeps {
  ctx: Pick<GenericActionCtx<GenericDataModel>, "runMutation">;
  component: ComponentApi;
  api: ManagementApi;
  log: Logger;
  /** The host's hook, told `billing.updated`. */
  onEvent: string | undefined;
  /** A backfill run's id: the hook's origin is `{ kind: "backfill", runId }`, else `{ kind: "refresh", fetchedAt }`. */
  runId?: string;
}

/** Records owners' customer ids as a read begun at `fetchedAt` gave them (at most 500). */
export async function writeCustomerIds(
  { ctx, component }: BillingDeps,
  fetchedAt: number,
  customers: { owner: BillingOwner; customerId: string | null }[],
) {
  return await ctx.runMutation(component.billing.setCustomerIds, { fetchedAt, customers });
}

/**
 * Reads customer `customerId`'s entitlements and plans (one request per 100
 * entitlements) and hands them to the component as `owner`'s, versioned by
 * `fetchedAt`. A customer past the mirror's bounds is logged and not
 * retried (another read would find the same): `failed`.
 */
export async function applyCustomerRead(
  { ctx, component, api, log, onEvent, runId }: BillingDeps,
  owner: BillingOwner,
  customerId: string,
  fetchedAt: number,
): Promise<{ outcome: BillingRefreshOutcome; error?: string }> {
  const task = runId !== undefined ? "backfill" : "refresh";
  let read;
  try {
    read = await readCustomer(api, customerId);
  } catch (error) {
    if (!(error instanceof BillingLimitError)) throw error;
    log.error(`${task}: ${describeOwner(owner)}: ${error.message}; its billing is left as it was`);
    return { outcome: "failed", error: error.message };
  }
  if (read.dropped.length > 0) {
    log.warn(
      `${task}: billing customer ${customerId} of ${describeOwner(owner)}: left out ${read.dropped.join("; ")}`,
    );
  }
  const origin =
    runId !== undefined
      ? { kind: "backfill" as const, runId }
      : { kind: "refresh" as const, fetchedAt };
  const { outcome } = await ctx.runMutation(component.billing.applyCustomer, {
    owner,
    customerId,
    fetchedAt,
    plans: read.plans,
    entitlements: read.entitlements,
    ...(onEvent && { hook: { onEvent, origin } }),
  });
  log.debug(`${task}: ${describeOwner(owner)}'s billing customer ${customerId}: ${outcome}`);
  return { outcome };
}

/**
 * Records `owner`'s customer id and, if it has one, reads and applies that
 * customer: the billing part of one owner's refresh.
 */
export async function refreshCustomer(
  deps: BillingDeps,
  owner: BillingOwner,
  customerId: string | null,
  fetchedAt: number,
): Promise<{ outcome: BillingRefreshOutcome; error?: string }> {
  const ids = await writeCustomerIds(deps, fetchedAt, [{ owner, customerId }]);
  // Deleted since `begin`: nothing more to read for it.
  if (ids.missing > 0) return { outcome: "missing" };
  if (customerId === null) return { outcome: "no customer" };
  return await applyCustomerRead(deps, owner, customerId, fetchedAt);
}

/**
 * Records a page of owners' customer ids as a read begun at `fetchedAt` gave
 * them (at most 500), then reads and applies each customer: the backfill's
 * and the sweep's pages.
 */
export async function refreshCustomers(
  deps: BillingDeps,
  fetchedAt: number,
  customers: { owner: BillingOwner; customerId: string | null }[],
): Promise<void> {
  if (customers.length === 0) return;
  await writeCustomerIds(deps, fetchedAt, customers);
  for (const { owner, customerId } of customers) {
    if (customerId !== null) await applyCustomerRead(deps, owner, customerId, fetchedAt);
  }
}
