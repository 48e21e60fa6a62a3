import { describe, expect, test } from "vitest";
import { isPermanentFailure } from "./failures.js";
import { HOOK_FAILURE } from "../shared/events.js";

describe("isPermanentFailure", () => {
  test.each([
    // convex-test's texts (what the tests here hit)
    "Wrote too much data in a single function execution (limit: 16777216 bytes). This is a Convex limit: https://docs.convex.dev/production/state/limits",
    "Too many index ranges read in a single function execution (limit: 4096). This is a Convex limit",
    "Scanned too many documents in a single function execution (limit: 32000).",
    // a deployment's texts, as a nested mutation's error reaches the action
    "[CONVEX M(kinde:webhooks:applyEvent)] [Request ID: 1f2e] Server Error\nUncaught Error: Too many reads in a single function execution (limit: 4096). Consider using smaller limits in your queries",
    "Too many bytes written in a single function execution (limit: 16777216 bytes)",
    "Too many writes in a single function execution (limit: 16000)",
    "Too many functions scheduled by this mutation (limit: 1000)",
    "Too large total size of the arguments of scheduled functions from this mutation",
    "Value is too large (1.2 MiB > maximum size 1 MiB)",
    "Array length is too long (9154 > maximum length 8192)",
    "Object has too many fields (1025 > maximum number 1024)",
  ])("a Convex limit no retry changes: %s", (message) => {
    expect(isPermanentFailure(message)).toBe(true);
  });

  test.each([
    'Documents read from or written to the table "kindeUsers" changed while this mutation was being run and on every subsequent retry.',
    "Function execution timed out (maximum duration: 1s)",
    "fetch failed",
    "Server Error",
    "Uncaught Error: boom",
  ])("retryable: %s", (message) => {
    expect(isPermanentFailure(message)).toBe(false);
  });

  test("the host's hook stays retryable even when what it threw looks like a limit", () => {
    const limit = "Wrote too much data in a single function execution (limit: 16777216 bytes)";
    expect(isPermanentFailure(`Uncaught Error: ${HOOK_FAILURE}${limit}`)).toBe(false);
  });
});
