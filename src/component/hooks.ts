/** Calling the host's event hook (`kinde.events`) from a component mutation. */
import type { FunctionHandle } from "convex/server";
import type { MutationCtx } from "./_generated/server.js";
import { HOOK_FAILURE } from "../shared/events.js";
import { messageOf } from "../shared/errors.js";

/**
 * Runs the host's hook `onEvent` in this transaction and returns what it
 * returned. A throw rolls the whole transaction back; it is marked so the
 * webhook keeps it retryable: the host's code may fail for reasons a retry
 * fixes, whatever its error says.
 */
export async function runHook(
  ctx: MutationCtx,
  onEvent: string,
  args: Record<string, unknown>,
): Promise<unknown> {
  try {
    return await ctx.runMutation(onEvent as FunctionHandle<"mutation">, args);
  } catch (error) {
    throw new Error(`${HOOK_FAILURE}${messageOf(error)}`, { cause: error });
  }
}
