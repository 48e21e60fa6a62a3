import { describe, expect, test, vi } from "vitest";
import {
  kindeEvent,
  kindeUserId,
  readKindeTables,
  userAuthenticated,
  userCreated,
  userDeleted,
  userUpdated,
} from "convex-kinde/test";
import { convexTest } from "convex-test";
import { httpRouter, makeFunctionReference, queryGeneric } from "convex/server";
import { v } from "convex/values";
import kindeTest from "convex-kinde/test";
import { Kinde } from "convex-kinde";
import { api, components, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import {
  anHourAgo,
  initConvexTest,
  modules,
  outcomeOf,
  postWebhook,
  useWebhookTest,
} from "./setup.js";

const app = useWebhookTest();

const getUser = (kindeId: string) => app.t.query(internal.users.byKindeId, { kindeId });

const T0 = anHourAgo();

describe("200: verified events", () => {
  test("user.created is applied and recorded once", async () => {
    const id = kindeUserId();
    const event = userCreated(
      {
        id,
        email: "Ada@Example.com",
        first_name: "Ada",
        last_name: "Lovelace",
        organizations: [
          {
            code: "org_aaaaaaaaaaa",
            roles: [{ id: "r-1", key: "admin" }],
            permissions: [{ id: "p-1", key: "read:invoices" }],
          },
        ],
      },
      { at: T0 },
    );
    const response = await app.deliver(event, { "webhook-id": "msg_1" });
    expect(response).toEqual({ status: 200, text: `applied ${event.event_id}\n` });

    expect(await getUser(id)).toEqual({
      kindeId: id,
      email: "Ada@Example.com",
      firstName: "Ada",
      lastName: "Lovelace",
      isSuspended: false,
      isPasswordResetRequested: false,
      organizations: [
        { orgCode: "org_aaaaaaaaaaa", roles: ["admin"], permissions: ["read:invoices"] },
      ],
    });
    const tables = await readKindeTables(app.t);
    expect(tables.webhookEvents).toMatchObject([
      {
        eventId: event.event_id,
        type: "user.created",
        source: "admin",
        outcome: "applied",
        entityKind: "user",
        entityId: id,
        webhookId: "msg_1",
      },
    ]);
    expect(tables.kindeMemberships).toMatchObject([
      {
        kindeId: id,
        orgCode: "org_aaaaaaaaaaa",
        roles: [{ kindeId: "r-1", key: "admin" }],
        permissions: [{ kindeId: "p-1", key: "read:invoices" }],
      },
    ]);
  });

  test("a duplicate delivery (same signed event_id) writes nothing, even with a new webhook-id", async () => {
    const id = kindeUserId();
    const token = await app.issuer.sign(userCreated({ id, first_name: "Ada" }, { at: T0 }));
    expect((await app.post(token, { "webhook-id": "msg_1" })).status).toBe(200);
    const before = await readKindeTables(app.t);
    const again = await app.post(token, { "webhook-id": "msg_replayed" });
    expect(again.status).toBe(200);
    expect(again.text).toMatch(/^duplicate event_/);
    expect(await readKindeTables(app.t)).toEqual(before);
  });

  test("a stale update is recorded as stale and changes nothing", async () => {
    const id = kindeUserId();
    await app.deliver(userUpdated({ id, first_name: "New" }, { at: T0 + 2000 }));
    const stale = await app.deliver(userUpdated({ id, first_name: "Old" }, { at: T0 + 1000 }));
    expect(stale.status).toBe(200);
    expect(stale.text).toMatch(/^stale /);
    expect((await getUser(id))?.firstName).toBe("New");
    const { webhookEvents } = await readKindeTables(app.t);
    expect(webhookEvents.map((e) => e.outcome)).toEqual(["applied", "stale"]);
  });

  test.each([
    [
      "subscriber.created",
      {
        subscriber: { id: "s", email: "a@b.c", first_name: "A", last_name: null, user_id: "kp_1" },
      },
    ],
    ["access_request.created", { access_request: { email: "a@b.c", user_id: "kp_1" } }],
    ["user.authentication_failed", { user: { id: "kp_1" } }],
    ["customer.plan_assigned", { anything: [1, { $weird: true, __proto__: { polluted: 1 } }] }],
  ])("%s is acknowledged and recorded as ignored", async (type, data) => {
    const event = kindeEvent(type, data, { at: T0 });
    expect(await app.deliver(event)).toEqual({ status: 200, text: `ignored ${event.event_id}\n` });
    const tables = await readKindeTables(app.t);
    expect(tables.kindeUsers).toEqual([]);
    expect(tables.webhookEvents).toMatchObject([
      { eventId: event.event_id, type, outcome: "ignored" },
    ]);
    expect(tables.webhookEvents[0]).not.toHaveProperty("entityId");
  });

  test("an event with no source (passkey.added's documented shape) is accepted", async () => {
    const { source: _, ...event } = kindeEvent("passkey.added", {
      user: { id: "kp_1" },
      passkey: { id: "pk", name: "Passkey 1" },
    });
    expect((await app.deliver(event)).status).toBe(200);
  });

  test("a trailing slash in KINDE_ISSUER_URL is tolerated", async () => {
    vi.stubEnv("KINDE_ISSUER_URL", `${app.issuer.url}/`);
    expect((await app.deliver(userCreated({ id: kindeUserId() }))).status).toBe(200);
  });

  test("the issuerUrl option wins over KINDE_ISSUER_URL, and a custom path works", async () => {
    vi.stubEnv("KINDE_ISSUER_URL", "https://wrong.kinde.com");
    const http = httpRouter();
    new Kinde(components.kinde, { issuerUrl: `${app.issuer.url}/` }).registerRoutes(http, {
      path: "/hooks/kinde",
    });
    const custom = convexTest({
      schema,
      modules: { ...modules, "./http.ts": async () => ({ default: http }) },
    });
    kindeTest.register(custom, "kinde", { inspect: true });
    const token = await app.issuer.sign(userCreated({ id: kindeUserId() }));
    const response = await custom.fetch("/hooks/kinde", { method: "POST", body: token });
    expect(response.status).toBe(200);
    expect((await custom.fetch("/kinde/webhook", { method: "POST", body: token })).status).toBe(
      404,
    );
  });
});

describe("the user mirror", () => {
  test('Kinde\'s ugly shapes: email "" (phone-only), email null, roles null, {id,key} roles, microsecond offsets', async () => {
    const phoneOnly = kindeUserId();
    await app.deliver(
      userCreated({
        id: phoneOnly,
        email: "",
        phone: "+442071838750",
        first_name: "",
        last_name: null,
      }),
    );
    expect(await getUser(phoneOnly)).toEqual({
      kindeId: phoneOnly,
      phone: "+442071838750",
      isSuspended: false,
      isPasswordResetRequested: false,
      organizations: [],
    });

    const nullEmail = kindeUserId();
    await app.deliver(
      userCreated(
        {
          id: nullEmail,
          email: null,
          username: null,
          organizations: [
            { code: "org_bbbbbbbbbbb", roles: null, permissions: null },
            {
              code: "org_ccccccccccc",
              roles: [{ id: "r-2", key: "member" }],
              permissions: [{ id: "p-2", key: "read:docs" }],
            },
          ],
        },
        { offsetMinutes: -330 },
      ),
    );
    expect((await getUser(nullEmail))?.organizations).toEqual([
      { orgCode: "org_bbbbbbbbbbb", roles: [], permissions: [] },
      { orgCode: "org_ccccccccccc", roles: ["member"], permissions: ["read:docs"] },
    ]);
    expect(await getUser(nullEmail)).not.toHaveProperty("email");
  });

  test("user.updated replaces the snapshot: memberships missing from it go away", async () => {
    const id = kindeUserId();
    await app.deliver(
      userCreated(
        {
          id,
          first_name: "Ada",
          phone: "+15550100",
          organizations: [
            { code: "org_keep", roles: [{ id: "r-1", key: "admin" }], permissions: null },
            { code: "org_drop", roles: null, permissions: null },
          ],
        },
        { at: T0 },
      ),
    );
    await app.deliver(
      userUpdated(
        {
          id,
          first_name: "Ada",
          is_suspended: true,
          organizations: [
            { code: "org_keep", roles: [{ id: "r-3", key: "viewer" }], permissions: null },
            { code: "org_new", roles: null, permissions: [{ id: "p-9", key: "write:docs" }] },
          ],
        },
        { at: T0 + 1 },
      ),
    );
    const user = await getUser(id);
    expect(user).toMatchObject({ isSuspended: true, firstName: "Ada" });
    expect(user).not.toHaveProperty("phone");
    expect(user?.organizations).toEqual([
      { orgCode: "org_keep", roles: ["viewer"], permissions: [] },
      { orgCode: "org_new", roles: [], permissions: ["write:docs"] },
    ]);
    const { kindeMemberships } = await readKindeTables(app.t);
    expect(kindeMemberships.map((m) => m.orgCode).sort()).toEqual(["org_keep", "org_new"]);
  });

  test("an update that arrives before its create inserts the user; the late create is stale", async () => {
    const id = kindeUserId();
    await app.deliver(userUpdated({ id, first_name: "Second" }, { at: T0 + 1000 }));
    const create = await app.deliver(userCreated({ id, first_name: "First" }, { at: T0 }));
    expect(create.text).toMatch(/^stale /);
    expect((await getUser(id))?.firstName).toBe("Second");
  });

  test("events in the same millisecond order by microseconds, then by event id", async () => {
    const id = kindeUserId();
    await app.deliver(userUpdated({ id, first_name: "Later" }, { at: T0 + 0.002 }));
    expect(
      (await app.deliver(userUpdated({ id, first_name: "Earlier" }, { at: T0 + 0.001 }))).text,
    ).toMatch(/^stale/);
    await app.deliver(userUpdated({ id, first_name: "Tie-b" }, { at: T0 + 5, eventId: "event_b" }));
    expect(
      (
        await app.deliver(
          userUpdated({ id, first_name: "Tie-a" }, { at: T0 + 5, eventId: "event_a" }),
        )
      ).text,
    ).toMatch(/^stale/);
    expect((await getUser(id))?.firstName).toBe("Tie-b");
  });

  test("user.deleted removes the user and memberships; a late update or create cannot bring it back", async () => {
    const id = kindeUserId();
    await app.deliver(
      userCreated(
        { id, organizations: [{ code: "org_x", roles: null, permissions: null }] },
        { at: T0 },
      ),
    );
    expect((await app.deliver(userDeleted(id, { at: T0 + 10_000 }))).text).toMatch(/^applied/);
    expect(await getUser(id)).toBeNull();

    for (const late of [
      userUpdated({ id, first_name: "Zombie" }, { at: T0 + 5_000 }),
      userCreated({ id }, { at: T0 }),
      userUpdated({ id, first_name: "Zombie" }, { at: T0 + 20_000 }),
      userAuthenticated(id, { at: T0 + 20_000 }),
    ]) {
      expect((await app.deliver(late)).text).toMatch(/^stale /);
    }
    expect(await getUser(id)).toBeNull();
    const tables = await readKindeTables(app.t);
    expect(tables.kindeUsers).toEqual([]);
    expect(tables.kindeMemberships).toEqual([]);
    expect(tables.tombstones).toMatchObject([{ kind: "user", entityId: id }]);
    const tombstone = tables.tombstones[0] as { expiresAt: number };
    expect(tombstone.expiresAt - Date.now()).toBeGreaterThan(3 * 24 * 3600_000);
  });

  test("a delete that arrives before the create still wins", async () => {
    const id = kindeUserId();
    await app.deliver(userDeleted(id, { at: T0 + 1000 }));
    expect((await app.deliver(userCreated({ id }, { at: T0 }))).text).toMatch(/^stale /);
    expect(await getUser(id)).toBeNull();
  });

  test("deletion is final even when an update with a later time was applied first", async () => {
    const id = kindeUserId();
    await app.deliver(userUpdated({ id }, { at: T0 + 5000 }));
    expect((await app.deliver(userDeleted(id, { at: T0 }))).text).toMatch(/^applied/);
    expect(await getUser(id)).toBeNull();
  });

  test("user.authenticated moves lastSignedInAt forward only, and survives profile updates", async () => {
    const id = kindeUserId();
    await app.deliver(userCreated({ id }, { at: T0 }));
    await app.deliver(userAuthenticated(id, { at: T0 + 60_000 }));
    expect((await getUser(id))?.lastSignedInAt).toBe(T0 + 60_000);
    expect((await app.deliver(userAuthenticated(id, { at: T0 + 30_000 }))).text).toMatch(/^stale/);
    expect((await getUser(id))?.lastSignedInAt).toBe(T0 + 60_000);
    // A profile update older than the sign-in still applies: sign-ins do not version the profile.
    await app.deliver(userUpdated({ id, first_name: "Ada" }, { at: T0 + 10_000 }));
    expect(await getUser(id)).toMatchObject({ firstName: "Ada", lastSignedInAt: T0 + 60_000 });
  });

  test("a sign-in that arrives before user.created is kept", async () => {
    const id = kindeUserId();
    await app.deliver(userAuthenticated(id, { at: T0 + 500 }));
    await app.deliver(userCreated({ id, email: "ada@example.com" }, { at: T0 }));
    expect(await getUser(id)).toMatchObject({ email: "ada@example.com", lastSignedInAt: T0 + 500 });
  });
});

describe("reading the mirror", () => {
  test("getAuthUser resolves the signed-in identity's subject; null when signed out", async () => {
    const id = kindeUserId();
    await app.deliver(userCreated({ id, first_name: "Ada" }));
    expect(await app.t.withIdentity({ subject: id }).query(api.users.me, {})).toMatchObject({
      kindeId: id,
      firstName: "Ada",
    });
    expect(await app.t.query(api.users.me, {})).toBeNull();
    expect(await app.t.withIdentity({ subject: kindeUserId() }).query(api.users.me, {})).toBeNull();
  });

  test("getUserByEmail is case-insensitive and never matches users without email", async () => {
    const id = kindeUserId();
    await app.deliver(userCreated({ id, email: "Ada.Lovelace@Example.COM" }));
    await app.deliver(userCreated({ id: kindeUserId(), email: "" }));
    expect(
      (await app.t.query(internal.users.byEmail, { email: "ada.lovelace@example.com" }))?.kindeId,
    ).toBe(id);
    expect(
      (await app.t.query(internal.users.byEmail, { email: " ADA.LOVELACE@EXAMPLE.COM " }))?.kindeId,
    ).toBe(id);
    expect(await app.t.query(internal.users.byEmail, { email: "" })).toBeNull();
    expect(await app.t.query(internal.users.byEmail, { email: "nobody@example.com" })).toBeNull();
  });

  test("getUserByPhone finds Kinde's E.164 number in any common notation, reading one user through one index range", async () => {
    const probe = queryGeneric({
      args: { phone: v.string() },
      handler: async (ctx, { phone }) => {
        const before = await ctx.meta.getTransactionMetrics();
        const user = await new Kinde(components.kinde).getUserByPhone(ctx, phone);
        const after = await ctx.meta.getTransactionMetrics();
        return {
          kindeId: user?.kindeId ?? null,
          documentsRead: after.documentsRead.used - before.documentsRead.used,
          indexRanges: after.databaseQueries.used - before.databaseQueries.used,
        };
      },
    });
    const t = initConvexTest({ "./phoneProbe.ts": async () => ({ probe }) });
    const byPhone = (phone: string) =>
      t.query(makeFunctionReference<"query", { phone: string }>("phoneProbe:probe"), {
        phone,
      }) as Promise<{ kindeId: string | null; documentsRead: number; indexRanges: number }>;
    const id = kindeUserId();
    const deliver = async (payload: object) =>
      expect(outcomeOf(await postWebhook(t, await app.issuer.sign(payload)))).toBe("applied");
    await deliver(userCreated({ id, phone: "+442071838750" }));
    await deliver(userCreated({ id: kindeUserId(), phone: null, email: "no-phone@example.com" }));
    await deliver(userCreated({ id: kindeUserId(), phone: "+15550109999" }));

    expect(await byPhone("+44 (20) 7183-8750")).toEqual({
      kindeId: id,
      documentsRead: 1,
      indexRanges: 1,
    });
    expect((await byPhone("+442071838750")).kindeId).toBe(id);
    // No argument reads nothing and finds nobody, not the users without a phone.
    expect(await byPhone(" ")).toEqual({ kindeId: null, documentsRead: 0, indexRanges: 0 });
    expect((await byPhone("+44 20 7183 8751")).kindeId).toBeNull();
  });

  test("listUsers pages through every user exactly once", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      const id = kindeUserId();
      ids.push(id);
      await app.deliver(userCreated({ id, first_name: `User ${i}` }));
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    for (;;) {
      const result: Awaited<ReturnType<typeof app.t.query<typeof internal.users.list>>> =
        await app.t.query(internal.users.list, {
          paginationOpts: { numItems: 10, cursor },
        });
      pages++;
      seen.push(...result.page.map((u) => u.kindeId));
      if (result.isDone) break;
      cursor = result.continueCursor;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
  });
});

describe("concurrency", () => {
  test("the same event delivered concurrently is applied exactly once", async () => {
    const id = kindeUserId();
    const token = await app.issuer.sign(userCreated({ id, first_name: "Ada" }));
    const texts = await Promise.all(
      Array.from({ length: 5 }, async () => outcomeOf(await app.post(token))),
    );
    expect(texts.sort()).toEqual(["applied", "duplicate", "duplicate", "duplicate", "duplicate"]);
    const { webhookEvents, kindeUsers } = await readKindeTables(app.t);
    expect(webhookEvents).toHaveLength(1);
    expect(kindeUsers).toHaveLength(1);
  });
});
