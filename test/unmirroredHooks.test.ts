/**
 * Handlers for Kinde event types the mirror does not mirror, end to end:
 * signed tokens through the real webhook, the component's `applyEvent` and the
 * host mutation `kinde.events(...)` makes, on the example app.
 */
import { describe, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import { httpRouter } from "convex/server";
import kindeTest, {
  CUSTOMER_SHAPES,
  accessRequestCreated,
  customerEvent,
  kindeCustomerId,
  kindeEvent,
  kindeUserId,
  readKindeTables,
  subscriberCreated,
  userAuthenticationFailed,
  userCreated,
} from "convex-kinde/test";
import {
  MAX_UNMIRRORED_DATA_BYTES,
  MAX_UNMIRRORED_DATA_DEPTH,
  type UnmirroredEvent,
} from "convex-kinde";
import { internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import { kinde } from "../example/convex/kinde.js";
import {
  DAY,
  expectNothingWritten,
  initConvexTestWithHooks,
  modules,
  postWebhook,
  useWebhookTest,
} from "./setup.js";

const app = useWebhookTest();

/**
 * A host app handling `customer.plan_changed` (writing a `profiles` row in
 * the webhook's transaction), `user.authentication_failed` and
 * `subscriber.created`, and a mirror hook; every call recorded, the customer
 * handler throwing while `failing` is set.
 */
function appWithUnmirroredHandlers() {
  const received: UnmirroredEvent[] = [];
  const mirrorCalls: string[] = [];
  const state = { failing: false };
  const hooks = {
    onKindeEvent: kinde.events({
      "customer.plan_changed": async (ctx, event) => {
        received.push(event);
        await ctx.db.insert("profiles", { kindeId: event.eventId, displayName: "plan changed" });
        if (state.failing) throw new Error("the billing handler failed");
      },
      "user.authentication_failed": (_ctx, event) => {
        received.push(event);
      },
      "subscriber.created": (_ctx, event) => {
        received.push(event);
      },
      "user.created": (_ctx, { user }) => {
        mirrorCalls.push(user.kindeId);
      },
    }),
  };
  const t = initConvexTestWithHooks(hooks);
  const deliver = async (payload: object) => await postWebhook(t, await app.issuer.sign(payload));
  const log = async () =>
    (
      await t.query(internal.diagnostics.recentEvents, {
        paginationOpts: { numItems: 20, cursor: null },
      })
    ).page;
  const profiles = async () => await t.run(async (ctx) => await ctx.db.query("profiles").collect());
  return { t, received, mirrorCalls, state, deliver, log, profiles };
}

describe("handlers for event types the mirror does not mirror", () => {
  test("a customer.* handler runs exactly once across duplicate deliveries, in the recording transaction", async () => {
    const { received, deliver, log, profiles } = appWithUnmirroredHandlers();
    const event = customerEvent("customer.plan_changed", {
      id: kindeCustomerId(),
      fields: { plan_code: "pro", previous_plan_code: "free" },
    });
    expect(await deliver(event)).toEqual({ status: 200, text: `delivered ${event.event_id}\n` });
    expect((await deliver(event)).text).toBe(`duplicate ${event.event_id}\n`);
    expect((await deliver(event)).text).toBe(`duplicate ${event.event_id}\n`);

    expect(received).toEqual([
      {
        type: "customer.plan_changed",
        eventId: event.event_id,
        source: "admin",
        occurredAt: expect.any(Number),
        data: event.data,
      },
    ]);
    expect((await profiles()).map((p) => p.kindeId)).toEqual([event.event_id]);
    expect(await log()).toMatchObject([
      { eventId: event.event_id, type: "customer.plan_changed", outcome: "delivered" },
    ]);
    expect((await log())[0]).not.toHaveProperty("entityKind");
  });

  test.each(CUSTOMER_SHAPES)(
    "the customer named by %s reaches the handler as Kinde sent it",
    async (shape) => {
      const { received, deliver } = appWithUnmirroredHandlers();
      const id = kindeCustomerId();
      const event = customerEvent("customer.plan_changed", { id, shape });
      expect((await deliver(event)).text).toMatch(/^delivered /);
      expect(received.map((e) => e.data)).toEqual([event.data]);
      expect(JSON.stringify(received[0]!.data)).toContain(id);
    },
  );

  test("a type without a handler is recorded ignored, and runs nothing", async () => {
    const { received, mirrorCalls, deliver, log } = appWithUnmirroredHandlers();
    const other = customerEvent("customer.payment_failed", { id: kindeCustomerId() });
    const request = accessRequestCreated({ email: "jane@example.com" });
    const unknown = kindeEvent("billing.something_new", { anything: [1, 2, 3] });
    for (const event of [other, request, unknown]) {
      expect((await deliver(event)).text).toBe(`ignored ${event.event_id}\n`);
    }
    expect(received).toEqual([]);
    expect(mirrorCalls).toEqual([]);
    expect((await log()).map((r) => r.outcome)).toEqual(["ignored", "ignored", "ignored"]);
  });

  test("a type named like an Object property finds no handler", async () => {
    const { received, deliver, log } = appWithUnmirroredHandlers();
    for (const type of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const event = kindeEvent(type, { user: { id: kindeUserId() } });
      expect((await deliver(event)).text).toBe(`ignored ${event.event_id}\n`);
    }
    expect(received).toEqual([]);
    expect((await log()).map((r) => r.outcome)).toEqual([
      "ignored",
      "ignored",
      "ignored",
      "ignored",
    ]);
  });

  test("a throwing handler leaves nothing recorded and answers 500; Kinde's retry delivers once", async () => {
    const { t, received, state, deliver, log, profiles } = appWithUnmirroredHandlers();
    const event = customerEvent("customer.plan_changed", { id: kindeCustomerId() });
    state.failing = true;
    const failed = await deliver(event);
    expect(failed.status).toBe(500);
    expect(failed.text).toMatch(
      /\[apply_failed\] failed to apply event_.*the billing handler failed/,
    );
    await expectNothingWritten(t);
    expect(await profiles()).toEqual([]);

    state.failing = false;
    expect((await deliver(event)).text).toBe(`delivered ${event.event_id}\n`);
    expect((await deliver(event)).text).toBe(`duplicate ${event.event_id}\n`);
    expect(received.map((e) => e.eventId)).toEqual([event.event_id, event.event_id]); // the failed run, then the one that stuck
    expect(await profiles()).toHaveLength(1);
    expect((await log()).map((r) => r.outcome)).toEqual(["delivered"]);
  });

  test("data with keys Convex values refuse reaches the handler untouched", async () => {
    const { received, deliver } = appWithUnmirroredHandlers();
    const data = {
      customer_id: kindeCustomerId(),
      $type: "plan",
      _internal: { $ref: "#/x", _id: 7 },
      __proto__x: "not a prototype",
      ["__proto__"]: { polluted: true },
      "": "an empty key",
      nested: [{ $in: [1, 2] }, null, true, 1.5, "lone \ud800 surrogate"],
    };
    const event = kindeEvent("customer.plan_changed", JSON.parse(JSON.stringify(data)) as object);
    expect((await deliver(event)).text).toMatch(/^delivered /);
    expect(received).toHaveLength(1);
    expect(received[0]!.data).toEqual(JSON.parse(JSON.stringify(data)));
    expect(Object.hasOwn(received[0]!.data, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("data over the maximum is recorded failed for a handled type, ignored otherwise, and answered 200 once", async () => {
    const { t, received, deliver, log } = appWithUnmirroredHandlers();
    const big = { customer_id: kindeCustomerId(), blob: "x".repeat(MAX_UNMIRRORED_DATA_BYTES) };
    const handled = kindeEvent("customer.plan_changed", big);
    const unhandled = kindeEvent("customer.invoice_overdue", big);

    const warn = vi.spyOn(console, "warn");
    expect(await deliver(handled)).toEqual({ status: 200, text: `failed ${handled.event_id}\n` });
    expect(warn).toHaveBeenCalledWith(
      "[convex-kinde]",
      `customer.plan_changed ${handled.event_id}: failed`,
    );
    warn.mockRestore();
    expect((await deliver(handled)).text).toBe(`duplicate ${handled.event_id}\n`);
    expect((await deliver(unhandled)).text).toBe(`ignored ${unhandled.event_id}\n`);
    expect(received).toEqual([]);

    const [ignored, failed] = await log();
    expect(ignored).toMatchObject({ eventId: unhandled.event_id, outcome: "ignored" });
    expect(failed).toMatchObject({ eventId: handled.event_id, outcome: "failed" });
    expect(failed!.error).toMatch(
      new RegExp(`its data is \\d+ bytes of JSON, more than the ${MAX_UNMIRRORED_DATA_BYTES}`),
    );
    const status = await t.query(internal.diagnostics.syncStatus, {});
    expect(status).toMatchObject({
      unappliedEvents: 1,
      lastUnappliedEvent: { eventId: handled.event_id },
    });
    // Data of exactly the maximum still reaches the handler.
    const prefix = JSON.stringify({ customer_id: "c", blob: "" }).length;
    const fits = { customer_id: "c", blob: "y".repeat(MAX_UNMIRRORED_DATA_BYTES - prefix) };
    expect(JSON.stringify(fits).length).toBe(MAX_UNMIRRORED_DATA_BYTES);
    expect((await deliver(kindeEvent("customer.plan_changed", fits))).text).toMatch(/^delivered /);
    expect(received.map((e) => e.data)).toEqual([fits]);
  });

  test("data nested deeper than the maximum (10,000 levels here) is recorded failed for a handled type", async () => {
    const { received, log, t } = appWithUnmirroredHandlers();
    const deep = `${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}`;
    const json = (type: string, eventId: string) =>
      `{"type":"${type}","event_id":"${eventId}","timestamp":"${new Date().toISOString()}","data":${deep}}`;
    const handled = await postWebhook(
      t,
      await app.issuer.signRaw(json("customer.plan_changed", "event_deep1")),
    );
    expect(handled).toEqual({ status: 200, text: "failed event_deep1\n" });
    const unhandled = await postWebhook(
      t,
      await app.issuer.signRaw(json("customer.plan_created", "event_deep2")),
    );
    expect(unhandled).toEqual({ status: 200, text: "ignored event_deep2\n" });
    expect(received).toEqual([]);
    expect((await log())[1]!.error).toBe(
      `its data nests deeper than ${MAX_UNMIRRORED_DATA_DEPTH} levels (MAX_UNMIRRORED_DATA_DEPTH); the handler did not run`,
    );
  });

  test("a documented type is typed as Kinde publishes it, with the envelope's ip_address", async () => {
    const { received, deliver } = appWithUnmirroredHandlers();
    const id = kindeUserId();
    const failedSignIn = userAuthenticationFailed(id, { ipAddress: "2001:db8::1" });
    expect((await deliver(failedSignIn)).text).toMatch(/^delivered /);
    expect(received).toEqual([
      {
        type: "user.authentication_failed",
        eventId: failedSignIn.event_id,
        source: "user",
        occurredAt: expect.any(Number),
        ipAddress: "2001:db8::1",
        data: { user: { id } },
      },
    ]);
  });

  test("a documented type whose data lacks what Kinde publishes is recorded failed; its handler does not run", async () => {
    const { received, deliver, log } = appWithUnmirroredHandlers();
    const noId = kindeEvent("subscriber.created", { subscriber: { email: "jane@example.com" } });
    expect((await deliver(noId)).text).toBe(`failed ${noId.event_id}\n`);
    const ok = subscriberCreated({ id: crypto.randomUUID(), email: "jane@example.com" });
    expect((await deliver(ok)).text).toBe(`delivered ${ok.event_id}\n`);
    expect(received.map((e) => e.eventId)).toEqual([ok.event_id]);
    const [, failed] = await log();
    expect(failed!.error).toMatch(
      /the shape Kinde publishes for subscriber\.created.*subscriber\.id/,
    );
    expect(failed!.error).not.toContain("jane@example.com");
  });

  test("an expired or future-dated event runs no handler", async () => {
    const { received, deliver } = appWithUnmirroredHandlers();
    const id = kindeCustomerId();
    const old = customerEvent("customer.plan_changed", { id }, { at: Date.now() - 8 * DAY });
    const future = customerEvent("customer.plan_changed", { id }, { at: Date.now() + DAY });
    expect((await deliver(old)).text).toMatch(/^expired /);
    expect((await deliver(future)).text).toMatch(/^future /);
    expect(received).toEqual([]);
  });

  test("the mirror's hooks run as before beside them", async () => {
    const { t, mirrorCalls, received, deliver } = appWithUnmirroredHandlers();
    const id = kindeUserId();
    expect((await deliver(userCreated({ id }))).text).toMatch(/^applied /);
    expect(mirrorCalls).toEqual([id]);
    expect(received).toEqual([]);
    expect((await readKindeTables(t)).kindeUsers).toHaveLength(1);
  });

  test("hooks with no handler for the type, or no hooks at all, record it ignored as before", async () => {
    // The example app's own hooks handle no unmirrored type.
    const event = customerEvent("customer.plan_changed", { id: kindeCustomerId() });
    expect((await app.deliver(event)).text).toBe(`ignored ${event.event_id}\n`);

    const http = httpRouter();
    kinde.registerRoutes(http);
    const t = convexTest({
      schema,
      modules: { ...modules, "./http.ts": async () => ({ default: http }) },
      transactionLimits: true,
    });
    kindeTest.register(t, "kinde", { inspect: true });
    expect((await postWebhook(t, await app.issuer.sign(event))).text).toBe(
      `ignored ${event.event_id}\n`,
    );
    expect((await readKindeTables(t)).webhookEvents).toMatchObject([{ outcome: "ignored" }]);
  });
});
