/**
 * Which failures to apply a verified event a retry can fix. Kinde retries
 * every non-200 for 36 hours and then disables the endpoint, so a failure no
 * retry changes must be recorded and answered 200, and every other failure
 * must stay retryable. Pure: it reads only the error's message.
 */
import { HOOK_FAILURE } from "../shared/events.js";

/**
 * Convex's refusals of a transaction or a value that no retry of the same
 * event changes: the per-transaction limits (the deployment says "Too many
 * reads / bytes written / … in a single function execution", convex-test
 * "Wrote too much data …", "Too many index ranges read …") and the limits on
 * one value (a document over 1 MiB, an array over 8,192 values, an object
 * over 1,024 fields, nesting too deep).
 */
const PERMANENT = [
  /in a single function execution/i,
  /too many functions scheduled|scheduled too many functions/i,
  /arguments of scheduled functions|scheduled function arguments too large/i,
  /value is too large|document is too large|too large to (be )?stor/i,
  /array length is too long|array is too long/i,
  /too many fields/i,
  /too (deeply )?nested|nesting depth/i,
];

/**
 * Failures a retry can fix, even where their text resembles a limit: the
 * host's hook (its own code, marked by the component), a conflict with a
 * concurrent mutation, a timeout.
 */
const TRANSIENT = [
  HOOK_FAILURE,
  /changed while this mutation was being run/i,
  /OptimisticConcurrencyControl/i,
  /timed out/i,
];

/** Whether applying the event failed for a reason no retry of it can change. */
export function isPermanentFailure(message: string): boolean {
  const matches = (pattern: string | RegExp) =>
    typeof pattern === "string" ? message.includes(pattern) : pattern.test(message);
  return !TRANSIENT.some(matches) && PERMANENT.some(matches);
}
