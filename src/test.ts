/// <reference types="vite/client" />
/**
 * Test support for apps that use convex-kinde with convex-test:
 *
 * ```ts
 * import { convexTest } from "convex-test";
 * import kindeTest from "convex-kinde/test";
 *
 * const t = convexTest({ schema, modules });
 * kindeTest.register(t);
 * ```
 */
import type { TestConvex } from "convex-test";
import {
  componentsGeneric,
  type FunctionReference,
  type GenericSchema,
  type SchemaDefinition,
} from "convex/server";
import schema from "./component/schema.js";
import type { KeyRef } from "./shared/mirror.js";
import type { ValueLimitViolation } from "./testing/valueLimits.js";

export * from "./testing/issuer.js";
export * from "./testing/events.js";
export * from "./testing/managementApi.js";
export * from "./testing/valueLimits.js";
export * from "./testing/tenants.js";
export * from "./testing/billing.js";

const modules = import.meta.glob(["./component/**/*.ts", "!./component/**/*.test.ts"]);

/** A convex-test instance of any app. */
type AnyTestConvex = TestConvex<SchemaDefinition<GenericSchema, boolean>>;

/**
 * Registers the component with a convex-test instance.
 *
 * @param t The instance from `convexTest(...)`.
 * @param name The name the app mounts the component under (`app.use(kinde)` mounts `kinde`).
 * @param options `inspect: true` adds a test-only query that {@link readKindeTables} uses.
 */
function register(t: AnyTestConvex, name = "kinde", options: { inspect?: boolean } = {}) {
  if (options.inspect) inspected?.push({ t, name });
  t.registerComponent(
    name,
    schema,
    options.inspect
      ? { ...modules, "./component/testInspect.ts": () => import("./testing/inspect.js") }
      : modules,
  );
}

/** Every row of each of the component's tables. */
export type KindeTables = Record<
  | "counters"
  | "kindeUsers"
  | "kindeMemberships"
  | "kindeOrganizations"
  | "kindeRoles"
  | "kindePermissions"
  | "tombstones"
  | "webhookEvents"
  | "pendingRefreshes"
  | "billingCustomers"
  | "billingEntitlements",
  Record<string, unknown>[]
>;

/**
 * Reads all of the component's tables (registered with `inspect: true`), to
 * assert exactly what a delivery wrote, or that it wrote nothing.
 */
export async function readKindeTables(t: AnyTestConvex, name = "kinde"): Promise<KindeTables> {
  const ref = inspectRef(name, "tables") as FunctionReference<
    "query",
    "internal",
    Record<string, never>,
    KindeTables
  >;
  return await t.run(async (ctx) => await ctx.runQuery(ref, {}));
}

/** A function the component scheduled: its path in the app (a handle's target), arguments and state. */
export interface KindeScheduledFunction {
  name: string;
  args: unknown[];
  scheduledTime: number;
  state: "pending" | "inProgress" | "success" | "failed" | "canceled";
}

/**
 * The functions the component has scheduled (registered with `inspect:
 * true`): its own cascades, and the host's enrichment refresh action, which
 * the component schedules with `{ kind, entityId }`.
 */
export async function readKindeScheduledFunctions(
  t: AnyTestConvex,
  name = "kinde",
): Promise<KindeScheduledFunction[]> {
  const ref = inspectRef(name, "scheduledFunctions") as FunctionReference<
    "query",
    "internal",
    Record<string, never>,
    KindeScheduledFunction[]
  >;
  return await t.run(async (ctx) => await ctx.runQuery(ref, {}));
}

/**
 * Inserts `count` members of `orgCode` directly into the component's tables
 * (registered with `inspect: true`), for tests of cost at scale.
 */
export async function seedKindeMembers(
  t: AnyTestConvex,
  args: { orgCode: string; count: number; roles: KeyRef[]; permissions: KeyRef[] },
  name = "kinde",
) {
  await runInspectMutation<typeof args, null>(t, name, "seedMembers", args);
}

/**
 * Inserts `count` billing customers, each entitled to `features`, directly
 * into the component's tables (registered with `inspect: true`), for tests of
 * the entitlement checks' cost at scale.
 */
export async function seedKindeCustomers(
  t: AnyTestConvex,
  args: {
    count: number;
    features: string[];
    owners?: { ownerKind: "user" | "organization"; ownerId: string }[];
  },
  name = "kinde",
) {
  await runInspectMutation<typeof args, null>(t, name, "seedCustomers", args);
}

/** Inserts `count` event records expiring at `expiresAt` (registered with `inspect: true`). */
export async function seedKindeEventRecords(
  t: AnyTestConvex,
  args: { count: number; expiresAt: number },
  name = "kinde",
) {
  await runInspectMutation<typeof args, null>(t, name, "seedEventRecords", args);
}

/**
 * Runs one retention pass as the component's hourly cron does, and reports
 * what it deleted. A pass that fills a batch schedules the next one; finish
 * them with `t.finishAllScheduledFunctions`.
 */
export async function pruneKinde(
  t: AnyTestConvex,
  name = "kinde",
): Promise<{ events: number; tombstones: number }> {
  return await runInspectMutation(t, name, "prune", {});
}

/**
 * Every way a document in the component's tables (all of its schema's tables)
 * breaks a limit a Convex deployment enforces on one document and convex-test
 * does not: see {@link checkConvexValueLimits}. Registered with `inspect: true`.
 */
export async function findKindeValueLimitViolations(
  t: AnyTestConvex,
  name = "kinde",
): Promise<ValueLimitViolation[]> {
  type From = { table: string; after: number };
  const ref = inspectRef(name, "valueLimitViolations") as FunctionReference<
    "query",
    "internal",
    { from?: From },
    { violations: ValueLimitViolation[]; next: From | null }
  >;
  const violations: ValueLimitViolation[] = [];
  let from: From | undefined;
  do {
    const args = from === undefined ? {} : { from };
    const page = await t.run(async (ctx) => await ctx.runQuery(ref, args));
    violations.push(...page.violations);
    from = page.next ?? undefined;
  } while (from !== undefined);
  return violations;
}

/**
 * Inserts `document` into the component's `table` as it is, unchecked by
 * anything but convex-test (registered with `inspect: true`): for tests of
 * {@link findKindeValueLimitViolations}. Returns the new document's id.
 */
export async function insertKindeDocument(
  t: AnyTestConvex,
  args: { table: string; document: Record<string, unknown> },
  name = "kinde",
): Promise<string> {
  return await runInspectMutation<typeof args, string>(t, name, "insertDocument", args);
}

/** A convex-test instance registered with `inspect: true`, and the component's name in it. */
export interface InspectedKindeTest {
  t: AnyTestConvex;
  name: string;
}

let inspected: InspectedKindeTest[] | undefined;

/**
 * Starts recording every instance that {@link register} registers with
 * `inspect: true`, so that a suite can check what each test wrote (for
 * example with {@link findKindeValueLimitViolations} in an `afterEach`).
 * Returns a function that hands over the instances registered since its last
 * call and forgets them.
 */
export function trackInspectedKindeTests(): () => InspectedKindeTest[] {
  inspected ??= [];
  return () => inspected!.splice(0);
}

/** Runs one of the test-only inspection module's mutations in the component `name`. */
async function runInspectMutation<Args extends Record<string, unknown>, Result>(
  t: AnyTestConvex,
  name: string,
  fn: string,
  args: Args,
): Promise<Result> {
  const ref = inspectRef(name, fn) as FunctionReference<"mutation", "internal">;
  return (await t.run(async (ctx) => await ctx.runMutation(ref, args))) as Result;
}

function inspectRef(name: string, fn: string) {
  return (componentsGeneric() as Record<string, Record<string, Record<string, unknown>>>)[name]!
    .testInspect![fn];
}

export default { register, schema, modules };
