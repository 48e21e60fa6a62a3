/**
 * Host functions that measure what one client call costs, in the units
 * Convex bills: `ctx.meta.getTransactionMetrics()` is read before and after
 * the call inside the same transaction, so the difference is exactly the
 * call's own reads and writes, nested component calls included.
 */
import {
  createFunctionHandle,
  makeFunctionReference,
  mutationGeneric,
  queryGeneric,
  type GenericQueryCtx,
  type GenericDataModel,
} from "convex/server";
import { v } from "convex/values";
import { kinde } from "../../example/convex/kinde.js";
import type { KindeEvent } from "../../src/shared/events.js";
import { applyEvent } from "../../src/client/webhook.js";
import { safeApplyRef, vFloorArgs, type FloorArgs, type FloorOutcome } from "./floors.js";

/** What a call read and wrote. */
export interface Cost {
  documentsRead: number;
  bytesRead: number;
  documentsWritten: number;
  bytesWritten: number;
  databaseQueries: number;
}

export type Measured<T> = Cost & { result: T };

type MetricsCtx = Pick<GenericQueryCtx<GenericDataModel>, "meta">;

async function snapshot(ctx: MetricsCtx): Promise<Cost> {
  const m = await ctx.meta.getTransactionMetrics();
  return {
    documentsRead: m.documentsRead.used,
    bytesRead: m.bytesRead.used,
    documentsWritten: m.documentsWritten.used,
    bytesWritten: m.bytesWritten.used,
    databaseQueries: m.databaseQueries.used,
  };
}

/** Runs `call` and returns its result with what it cost. */
async function measure<T>(ctx: MetricsCtx, call: () => Promise<T>): Promise<Measured<T>> {
  const before = await snapshot(ctx);
  const result = await call();
  const after = await snapshot(ctx);
  return {
    result,
    documentsRead: after.documentsRead - before.documentsRead,
    bytesRead: after.bytesRead - before.bytesRead,
    documentsWritten: after.documentsWritten - before.documentsWritten,
    bytesWritten: after.bytesWritten - before.bytesWritten,
    databaseQueries: after.databaseQueries - before.databaseQueries,
  };
}

export const getUser = queryGeneric({
  args: { kindeId: v.string() },
  handler: async (ctx, { kindeId }) => await measure(ctx, () => kinde.getUser(ctx, kindeId)),
});

export const getAuthUser = queryGeneric({
  args: {},
  handler: async (ctx) => await measure(ctx, () => kinde.getAuthUser(ctx)),
});

export const hasPermission = queryGeneric({
  args: { kindeId: v.string(), orgCode: v.string(), permission: v.string() },
  handler: async (ctx, check) => await measure(ctx, () => kinde.hasPermission(ctx, check)),
});

export const hasEntitlement = queryGeneric({
  args: { kindeId: v.string(), orgCode: v.union(v.string(), v.null()), feature: v.string() },
  handler: async (ctx, check) => await measure(ctx, () => kinde.hasEntitlement(ctx, check)),
});

/** The component's webhook mutation for the event's kind, called as the route calls it. */
export const apply = mutationGeneric({
  args: { event: v.any() },
  handler: async (ctx, { event }: { event: KindeEvent }) =>
    await measure(ctx, () => applyEvent(ctx, kinde.component, event, {})),
});

/**
 * Hooks with a handler for one unmirrored type that writes nothing, so the
 * cost of handing an event to the host is the component's alone.
 */
export const onUnmirroredEvent = kinde.events({ "customer.plan_changed": () => {} });

/** `apply` with the hooks above, as a route with `onEvent` calls it. */
export const applyWithHooks = mutationGeneric({
  args: { event: v.any() },
  handler: async (ctx, { event }: { event: KindeEvent }) => {
    const onEvent = await createFunctionHandle(onUnmirroredEventRef);
    return await measure(ctx, () => applyEvent(ctx, kinde.component, event, { onEvent }));
  },
});
const onUnmirroredEventRef = makeFunctionReference<"mutation">("benchProbes:onUnmirroredEvent");

/** The safe floor's mutation, called as its route calls it. */
export const safeApply = mutationGeneric({
  args: vFloorArgs,
  handler: async (ctx, args: FloorArgs) =>
    await measure(ctx, () => ctx.runMutation(safeApplyRef, args)),
});

/** References for `t.query` / `t.mutation`. */
export const probes = {
  getUser: makeFunctionReference<"query", { kindeId: string }, Measured<unknown>>(
    "benchProbes:getUser",
  ),
  getAuthUser: makeFunctionReference<"query", Record<string, never>, Measured<unknown>>(
    "benchProbes:getAuthUser",
  ),
  hasPermission: makeFunctionReference<
    "query",
    { kindeId: string; orgCode: string; permission: string },
    Measured<boolean>
  >("benchProbes:hasPermission"),
  hasEntitlement: makeFunctionReference<
    "query",
    { kindeId: string; orgCode: string | null; feature: string },
    Measured<boolean>
  >("benchProbes:hasEntitlement"),
  apply: makeFunctionReference<"mutation", { event: KindeEvent }, Measured<{ outcome: string }>>(
    "benchProbes:apply",
  ),
  applyWithHooks: makeFunctionReference<
    "mutation",
    { event: KindeEvent },
    Measured<{ outcome: string }>
  >("benchProbes:applyWithHooks"),
  safeApply: makeFunctionReference<"mutation", FloorArgs, Measured<FloorOutcome>>(
    "benchProbes:safeApply",
  ),
};
