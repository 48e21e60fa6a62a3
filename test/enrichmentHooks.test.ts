/**
 * What the host's hooks hear of enrichment: `user.updated` /
 * `organization.updated` with the refresh's origin, only when what the host
 * reads changed, in the transaction of the write.
 */
import { describe, expect, test } from "vitest";
import { createFunctionHandle, makeFunctionReference } from "convex/server";
import {
  kindeOrgCode,
  kindeUserId,
  organizationCreated,
  readKindeTables,
  userCreated,
  userUpdated,
} from "convex-kinde/test";
import type { MirrorEvent } from "convex-kinde";
import { components, internal } from "../example/convex/_generated/api.js";
import { kinde } from "../example/convex/kinde.js";
import { HOUR, initConvexTestWithHooks, postWebhook, useWebhookTest } from "./setup.js";

const app = useWebhookTest();

function appWithRecordingHooks() {
  const heard: MirrorEvent[] = [];
  const state = { failing: false };
  const record = (_ctx: unknown, event: MirrorEvent) => {
    heard.push(event);
    if (state.failing) throw new Error("the hook failed");
  };
  const t = initConvexTestWithHooks({
    onKindeEvent: kinde.events({
      "user.created": record,
      "user.updated": record,
      "organization.created": record,
      "organization.updated": record,
    }),
  });
  const deliver = async (payload: object) => await postWebhook(t, await app.issuer.sign(payload));
  const onEvent = async () =>
    await t.run(
      async () =>
        await createFunctionHandle(makeFunctionReference<"mutation">("testHooks:onKindeEvent")),
    );
  return { t, heard, state, deliver, onEvent };
}

describe("hooks hear enrichment", () => {
  test("user.updated with the refresh's origin when what the host reads changed, and only then", async () => {
    const { t, heard, deliver, onEvent } = appWithRecordingHooks();
    const id = kindeUserId();
    await deliver(userCreated({ id, first_name: "Ada" }));
    heard.length = 0;
    const apply = async (fetchedAt: number, user: object, runId?: string) =>
      await t.mutation(components.kinde.enrichment.applyUsers, {
        fetchedAt,
        users: [{ kindeId: id, ...user }],
        onEvent: await onEvent(),
        ...(runId !== undefined && { runId }),
      });
    const picture = "https://img.example/ada.png";

    await apply(1_000, { details: { picture }, properties: { plan: "pro" } });
    expect(heard).toEqual([
      {
        type: "user.updated",
        user: expect.objectContaining({
          kindeId: id,
          firstName: "Ada",
          picture,
          properties: { plan: "pro" },
        }),
        // What the host read before: no enrichment yet.
        previous: expect.not.objectContaining({ picture, properties: expect.anything() }),
        origin: { kind: "refresh", fetchedAt: 1_000 },
      },
    ]);
    expect(heard[0]).toMatchObject({ previous: { kindeId: id, firstName: "Ada" } });
    // Read again, unchanged: only the fetch times move; stale: nothing is written.
    await apply(2_000, { details: { picture }, properties: { plan: "pro" } });
    await apply(1_500, { details: {}, properties: {} });
    expect(heard).toHaveLength(1);
    // A property removed in Kinde is a change; the backfill's run is its origin.
    await apply(3_000, { properties: {} }, "run_1");
    expect(heard[1]).toMatchObject({
      type: "user.updated",
      user: { picture, properties: {} },
      previous: { picture, properties: { plan: "pro" } },
      origin: { kind: "backfill", runId: "run_1" },
    });
    expect(heard).toHaveLength(2);
  });

  test("organization.updated with the refresh's origin when its properties changed", async () => {
    const { t, heard, deliver, onEvent } = appWithRecordingHooks();
    const code = kindeOrgCode();
    await deliver(organizationCreated({ code, name: "Acme" }));
    heard.length = 0;
    const apply = async (fetchedAt: number, properties: Record<string, string>) =>
      await t.mutation(components.kinde.enrichment.applyOrganization, {
        orgCode: code,
        fetchedAt,
        properties,
        onEvent: await onEvent(),
      });
    expect(await apply(1_000, { seats: "10" })).toEqual({ outcome: "applied", trimmed: false });
    expect(await apply(2_000, { seats: "10" })).toEqual({ outcome: "applied", trimmed: false });
    expect(await apply(500, { seats: "1" })).toEqual({ outcome: "stale", trimmed: false });
    expect(heard).toEqual([
      {
        type: "organization.updated",
        organization: { code, name: "Acme", properties: { seats: "10" } },
        previous: { code, name: "Acme" },
        origin: { kind: "refresh", fetchedAt: 1_000 },
      },
    ]);
  });

  test("a throwing hook undoes the write: the next try applies it and the hook hears it once", async () => {
    const { t, heard, state, deliver, onEvent } = appWithRecordingHooks();
    const id = kindeUserId();
    await deliver(userCreated({ id }));
    heard.length = 0;
    const apply = async () =>
      await t.mutation(components.kinde.enrichment.applyUsers, {
        fetchedAt: 1_000,
        users: [{ kindeId: id, details: { picture: "https://img.example/a.png" } }],
        onEvent: await onEvent(),
      });
    state.failing = true;
    await expect(apply()).rejects.toThrow(/the hook failed/);
    const [user] = (await readKindeTables(t)).kindeUsers;
    expect(user).not.toHaveProperty("details");
    expect(user).not.toHaveProperty("detailsFetchedAt");
    state.failing = false;
    expect(await apply()).toMatchObject({ applied: 1 });
    expect(heard.map((e) => e.type)).toEqual(["user.updated", "user.updated"]); // failed, then kept
    expect(await t.query(internal.users.byKindeId, { kindeId: id })).toMatchObject({
      picture: "https://img.example/a.png",
    });
  });
});

describe("a refresh racing signed webhooks", () => {
  test("a newer webhook between begin and apply keeps its fields; the refresh keeps its own; later webhooks keep both", async () => {
    const { t, heard, deliver, onEvent } = appWithRecordingHooks();
    const id = kindeUserId();
    const now = Date.now();
    await deliver(userCreated({ id, first_name: "Ada" }, { at: now - 2 * HOUR }));
    const begun = await t.mutation(components.kinde.enrichment.begin, {
      kind: "user",
      entityId: id,
    });
    await deliver(userUpdated({ id, first_name: "Augusta" }, { at: now - HOUR }));
    heard.length = 0;
    const picture = "https://img.example/ada.png";
    await t.mutation(components.kinde.enrichment.applyUsers, {
      fetchedAt: begun!.fetchedAt,
      users: [{ kindeId: id, details: { picture }, properties: { plan: "pro" } }],
      onEvent: await onEvent(),
    });
    const read = () => t.query(internal.users.byKindeId, { kindeId: id });
    expect(await read()).toMatchObject({
      firstName: "Augusta",
      picture,
      properties: { plan: "pro" },
    });
    // The next webhook replaces Kinde's fields only, and its hook sees the whole user.
    await deliver(userUpdated({ id, first_name: "Augusta", last_name: "King" }, { at: now }));
    expect(await read()).toMatchObject({ lastName: "King", picture, properties: { plan: "pro" } });
    expect(heard.map((e) => [e.type, e.origin.kind])).toEqual([
      ["user.updated", "refresh"],
      ["user.updated", "webhook"],
    ]);
    expect(heard[1]).toMatchObject({ user: { lastName: "King", picture } });
  });
});
