/**
 * The two baselines the webhook is measured against, written as a host app
 * would write them by hand, and mounted next to the component's route in the
 * bench app (never shipped):
 *
 * - the safe floor: the least a correct handler does. RS256 verify against a
 *   key set cached in module scope (jose's own defaults), dedupe on the signed
 *   `event_id`, one indexed upsert of the user, all in one mutation.
 *   The same mutation is also mounted in a component of its own
 *   ({@link FLOOR_COMPONENT}), to price the component boundary by itself.
 * - the unsafe floor: decode the token without verifying it and insert one
 *   row. Nobody should ship it; it shows what the harness itself costs.
 *
 * The safe floor reads its issuer from {@link SAFE_ISSUER_ENV}, not from
 * `KINDE_ISSUER_URL`, so the bench can give it its own key server and count
 * its key set requests apart from the component's.
 */
import {
  componentsGeneric,
  httpActionGeneric,
  makeFunctionReference,
  mutationGeneric,
  type FunctionReference,
} from "convex/server";
import { v } from "convex/values";
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from "jose";

export const SAFE_ISSUER_ENV = "BENCH_SAFE_ISSUER_URL";

/** What both floors take from a `user.*` token. */
export const vFloorArgs = { eventId: v.string(), kindeId: v.string(), user: v.any() };
export type FloorArgs = { eventId: string; kindeId: string; user: unknown };
export type FloorOutcome = "applied" | "duplicate";
type FloorApplyRef = FunctionReference<"mutation", "public", FloorArgs, FloorOutcome>;

/** The name the bench app mounts the floor's component under. */
export const FLOOR_COMPONENT = "benchFloor";

export const safeApplyRef: FloorApplyRef = makeFunctionReference<
  "mutation",
  FloorArgs,
  FloorOutcome
>("benchFloors:safeApply");

/** The same mutation in the floor's component (module `floors` there). */
const componentSafeApplyRef = (
  componentsGeneric() as unknown as Record<string, { floors: { safeApply: FloorApplyRef } }>
)[FLOOR_COMPONENT]!.floors.safeApply;
const unsafeInsertRef = makeFunctionReference<"mutation", FloorArgs, null>(
  "benchFloors:unsafeInsert",
);

/** Dedupe on `event_id`, then one indexed upsert: one transaction, like the component's. */
export const safeApply = mutationGeneric({
  args: vFloorArgs,
  returns: v.union(v.literal("applied"), v.literal("duplicate")),
  handler: async (ctx, { eventId, kindeId, user }): Promise<FloorOutcome> => {
    const seen = await ctx.db
      .query("benchSafeEvents")
      .withIndex("eventId", (q) => q.eq("eventId", eventId))
      .first();
    if (seen) return "duplicate";
    const existing = await ctx.db
      .query("benchSafeUsers")
      .withIndex("kindeId", (q) => q.eq("kindeId", kindeId))
      .unique();
    if (existing) await ctx.db.replace("benchSafeUsers", existing._id, { kindeId, user });
    else await ctx.db.insert("benchSafeUsers", { kindeId, user });
    await ctx.db.insert("benchSafeEvents", { eventId });
    return "applied";
  },
});

export const unsafeInsert = mutationGeneric({
  args: vFloorArgs,
  returns: v.null(),
  handler: async (ctx, args) => {
    await ctx.db.insert("benchUnsafeEvents", args);
    return null;
  },
});

/** The floors' key set cache: one per issuer in module scope, as the component keeps it. */
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** The key set of `issuerUrl`, with jose's default cache age and cooldown. */
export function safeKeySetFor(issuerUrl: string) {
  let keySet = keySets.get(issuerUrl);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(`${issuerUrl}/.well-known/jwks`));
    keySets.set(issuerUrl, keySet);
  }
  return keySet;
}

/** Verifies with the cached key set; a bench never sends junk, so errors are just 401. */
export async function safeVerify(token: string, issuerUrl: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(token, safeKeySetFor(issuerUrl), {
    algorithms: ["RS256"],
  });
  return payload;
}

/** The fields the floors store, or null when the token is not a `user.*` event. */
export function floorArgsOf(payload: JWTPayload): FloorArgs | null {
  const { event_id: eventId, data } = payload as {
    event_id?: unknown;
    data?: { user?: { id?: unknown } };
  };
  const user = data?.user;
  if (typeof eventId !== "string" || typeof user?.id !== "string") return null;
  return { eventId, kindeId: user.id, user };
}

const text = (status: number, body: string) => new Response(body, { status });

/** The safe floor's route, applying through `apply`. */
function safeWebhookVia(apply: FloorApplyRef) {
  return httpActionGeneric(async (ctx, request) => {
    const issuerUrl = process.env[SAFE_ISSUER_ENV];
    if (!issuerUrl) return text(500, `${SAFE_ISSUER_ENV} is not set`);
    let payload: JWTPayload;
    try {
      payload = await safeVerify(await request.text(), issuerUrl);
    } catch {
      return text(401, "unauthorized");
    }
    const args = floorArgsOf(payload);
    if (!args) return text(400, "not a user event");
    const outcome = await ctx.runMutation(apply, args);
    return text(200, `${outcome} ${args.eventId}`);
  });
}

export const safeWebhook = safeWebhookVia(safeApplyRef);
export const safeComponentWebhook = safeWebhookVia(componentSafeApplyRef);

export const unsafeWebhook = httpActionGeneric(async (ctx, request) => {
  const args = floorArgsOf(decodeJwt(await request.text()));
  if (!args) return text(400, "not a user event");
  await ctx.runMutation(unsafeInsertRef, args);
  return text(200, `applied ${args.eventId}`);
});

const noopRef = makeFunctionReference<"mutation", Record<string, never>, null>("benchFloors:noop");

/** A mutation that does nothing: what one mutation costs in the harness. */
export const noop = mutationGeneric({ args: {}, returns: v.null(), handler: async () => null });

/** Reads the body and answers: what one `t.fetch` costs in the harness. */
export const fetchOnly = httpActionGeneric(async (_ctx, request) =>
  text(200, await request.text()),
);

/** Reads the body and runs one empty mutation. */
export const fetchAndMutation = httpActionGeneric(async (ctx, request) => {
  await request.text();
  await ctx.runMutation(noopRef, {});
  return text(200, "ok");
});
