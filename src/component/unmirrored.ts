/**
 * Events of the types the mirror does not mirror: handed to the host's hook,
 * whose handler for the type (if any) runs in this transaction.
 */
import { validate } from "convex-helpers/validators";
import type { MutationCtx } from "./_generated/server.js";
import type { KindeEvent } from "../shared/events.js";
import {
  vUnmirroredReceipt,
  type UnmirroredDelivery,
  type UnmirroredReceipt,
} from "../shared/unmirroredEvents.js";
import { runHook } from "./hooks.js";

/**
 * What became of an unmirrored event: `ignored` without hooks (the webhook
 * then sends no data either), else what the host's hook says: `delivered`,
 * `ignored` (no handler for the type) or `failed` (a handler that could not
 * receive it). A hook that answers anything else handled nothing.
 */
export async function deliverUnmirrored(
  ctx: MutationCtx,
  onEvent: string | undefined,
  event: Extract<KindeEvent, { type: "unhandled" }>,
): Promise<UnmirroredReceipt> {
  if (!onEvent || event.data === undefined) return { outcome: "ignored" };
  const delivery: UnmirroredDelivery = {
    type: event.kindeType,
    eventId: event.eventId,
    source: event.source,
    occurredAt: event.occurredAt,
    ipAddress: event.ipAddress,
    data: event.data,
  };
  const receipt = await runHook(ctx, onEvent, { unmirrored: delivery });
  return validate(vUnmirroredReceipt, receipt) ? receipt : { outcome: "ignored" };
}
