/**
 * The bench app: the example app (with the component registered as the tests
 * register it, Convex's transaction limits enforced) plus the floors and
 * probes, injected into convex-test's modules map so nothing under example/
 * changes.
 */
import { convexTest } from "convex-test";
import kindeTest from "convex-kinde/test";
import { modules as exampleModules } from "../../test/setup.js";
import { FLOOR_COMPONENT } from "./floors.js";
import schema, { floorComponentSchema } from "./schema.js";

// Keys are relative to example/convex (where `_generated` is), as convex-test resolves them.
const modules: Record<string, () => Promise<unknown>> = {
  ...exampleModules,
  "./http.ts": () => import("./http.js"),
  "./benchFloors.ts": () => import("./floors.js"),
  "./benchProbes.ts": () => import("./probes.js"),
};

/** The floor's component: its mutation module, and a `_generated` key so convex-test finds the root. */
const floorComponentModules: Record<string, () => Promise<unknown>> = {
  "./_generated/api.ts": async () => ({}),
  "./floors.ts": () => import("./floors.js"),
};

export function newBenchApp() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  kindeTest.register(t, "kinde", { inspect: true });
  t.registerComponent(FLOOR_COMPONENT, floorComponentSchema, floorComponentModules);
  return t;
}

export type BenchApp = ReturnType<typeof newBenchApp>;

/** POSTs a token as Kinde does and returns the status and body. */
export async function post(t: BenchApp, path: string, token: string) {
  const response = await t.fetch(path, {
    method: "POST",
    headers: { "content-type": "application/jwt" },
    body: token,
  });
  return { status: response.status, text: await response.text() };
}
