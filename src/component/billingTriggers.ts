/**
 * With the `billing` option, a verified `customer.*` event asks for a
 * refresh of the user or organization whose customer it names, through the
 * same coalesced per-entity refresh as enrichment's triggers. The owner is
 * found tolerantly: the customer id the mirror knows, else the organization
 * code, else the user id; only a mirrored, not deleted owner counts.
 */
import type { MutationCtx } from "./_generated/server.js";
import type { BillingOwner } from "../shared/billing.js";
import type { CustomerRef } from "../shared/customerEvents.js";
import { isMirrored, ownerOfCustomer } from "./billing.js";
import { requestRefresh } from "./refreshes.js";
import { TRIGGER_DELAY_MS } from "./refreshTriggers.js";

/** The mirrored owner the event names, by the first of its references that finds one, or null. */
export async function findBillingOwner(
  ctx: MutationCtx,
  ref: CustomerRef,
): Promise<BillingOwner | null> {
  const candidates: (() => Promise<BillingOwner | null>)[] = [
    async () => (ref.customerId === undefined ? null : await ownerOfCustomer(ctx, ref.customerId)),
    async () => (ref.orgCode === undefined ? null : { kind: "organization", orgCode: ref.orgCode }),
    async () => (ref.kindeId === undefined ? null : { kind: "user", kindeId: ref.kindeId }),
  ];
  for (const candidate of candidates) {
    const owner = await candidate();
    if (owner && (await isMirrored(ctx, owner))) return owner;
  }
  return null;
}

/**
 * Requests a refresh of the event's owner with the host's refresh action
 * (`handle`); answers the keys to record when no owner was found.
 */
export async function requestBillingRefresh(
  ctx: MutationCtx,
  ref: CustomerRef,
  handle: string,
): Promise<{ unmatchedKeys?: string[] }> {
  const owner = await findBillingOwner(ctx, ref);
  if (!owner) return { unmatchedKeys: ref.keys };
  await requestRefresh(
    ctx,
    owner.kind === "user"
      ? { kind: "user", entityId: owner.kindeId }
      : { kind: "organization", entityId: owner.orgCode },
    handle,
    TRIGGER_DELAY_MS,
  );
  return {};
}
