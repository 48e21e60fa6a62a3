/**
 * The host's handlers for Kinde event types the mirror does not mirror, as
 * `kinde.events(...)` takes them beside the mirror's, and how its hook runs
 * one for what the component hands it.
 */
import type { GenericDataModel, GenericMutationCtx } from "convex/server";
import type { MirrorEventType } from "../shared/mirrorEvents.js";
import {
  decodeUnmirroredEvent,
  type UnmirroredDelivery,
  type UnmirroredEvent,
  type UnmirroredEventType,
  type UnmirroredReceipt,
} from "../shared/unmirroredEvents.js";

/** A handler for one unmirrored type: the host's mutation ctx and Kinde's event. */
export type UnmirroredEventHandler<DataModel extends GenericDataModel, T extends string> = (
  ctx: GenericMutationCtx<DataModel>,
  event: UnmirroredEvent<T>,
) => Promise<void> | void;

/**
 * The event types a host may name beyond those Kinde documents (types Kinde
 * adds later): `a.b` strings, none of them a mirrored or documented type, so
 * naming `"user.created"` there is a type error, not a second handler.
 */
export type NewEventTypes<T extends string> = T extends MirrorEventType | UnmirroredEventType
  ? never
  : T extends `${string}.${string}`
    ? T
    : never;

/**
 * Nothing when every type in `Extra` is a new `a.b` type; otherwise a
 * required field naming the mistake, which no handlers object has, so
 * `kinde.events<DataModel, "user.created">(…)` does not compile.
 */
export type OnlyNewEventTypes<Extra extends string> = [Extra] extends [NewEventTypes<Extra>]
  ? unknown
  : { "the Extra event types must be new a.b types, neither mirrored nor documented": Extra };

/** One optional handler per unmirrored type: Kinde's documented ones and the host's `Extra`. */
export type UnmirroredEventHandlers<
  DataModel extends GenericDataModel,
  Extra extends string = never,
> = {
  [T in UnmirroredEventType | NewEventTypes<Extra>]?: UnmirroredEventHandler<DataModel, T>;
};

/**
 * Runs the host's handler for an unmirrored event, if it has one, and says
 * what became of it. A handler only runs with the whole of Kinde's data, in
 * the shape Kinde publishes for its type; a throw propagates, so the
 * component's transaction rolls back and Kinde retries.
 */
export async function runUnmirroredHandler<DataModel extends GenericDataModel>(
  handlers: object,
  ctx: GenericMutationCtx<DataModel>,
  delivery: UnmirroredDelivery,
): Promise<UnmirroredReceipt> {
  // Own properties only: a Kinde type named `constructor` must not find Object's.
  const handler = Object.hasOwn(handlers, delivery.type)
    ? (handlers as Record<string, UnmirroredEventHandler<DataModel, string> | undefined>)[
        delivery.type
      ]
    : undefined;
  if (typeof handler !== "function") return { outcome: "ignored" };
  const decoded = decodeUnmirroredEvent(delivery);
  if ("error" in decoded) return { outcome: "failed", error: decoded.error };
  await handler(ctx, decoded.event);
  return { outcome: "delivered" };
}
