/**
 * Faults between Kinde and the mirror: a key server that is down, erroring,
 * answering garbage or too slow; keys rotated mid-stream; the same events
 * delivered concurrently. In each case the webhook answers the documented
 * status (docs/webhook-responses.md), writes nothing for what it
 * refuses, and once the fault is gone, Kinde's retries of what failed bring
 * the mirror to exactly the state of the story below: nothing lost, nothing
 * applied twice.
 *
 * The key set is cached per issuer URL in module scope, so every test has an
 * issuer of its own. The clock jose reads (cache age, 30 s refetch cooldown)
 * is moved with fake `Date` timers.
 */
import { describe, expect, test } from "vitest";
import {
  organizationCreated,
  organizationDeleted,
  organizationUpdated,
  permissionCreated,
  readKindeTables,
  roleCreated,
  roleUpdated,
  userAuthenticated,
  userCreated,
  userDeleted,
  userUpdated,
} from "convex-kinde/test";
import { api, internal } from "../example/convex/_generated/api.js";
import {
  advanceClock,
  expectNothingWritten,
  outcomeOf,
  useWebhookTest,
  type WebhookAnswer,
} from "./setup.js";

const app = useWebhookTest({ issuer: "perTest" });

// ---------------------------------------------------------------------------
// The story: what Kinde sends, and the mirror it must produce.

const ACME = "org_faults_acme";
const BETA = "org_faults_beta";
const ADA = "kp_faults_ada";
const BOB = "kp_faults_bob";
const CY = "kp_faults_cy";
const ADMIN = { id: "role-faults-admin", key: "admin" };
const PUBLISH = { id: "perm-faults-publish", key: "publish:docs" };

/**
 * Kinde's events, oldest first, a second apart, ending a minute ago. Ada's
 * last snapshot comes after the role's rename, as Kinde would send it.
 */
function story() {
  const base = Date.now() - 15 * 60_000;
  const at = (s: number) => ({ at: base + s * 1000 });
  const adaOrgs = (role: { id: string; key: string }) => [
    { code: ACME, roles: [role], permissions: [PUBLISH] },
    { code: BETA, roles: [role], permissions: null },
  ];
  const bobOrgs = [{ code: BETA, roles: null, permissions: [PUBLISH] }];
  const events = [
    organizationCreated({ code: ACME, name: "Acme" }, at(0)),
    organizationCreated({ code: BETA, name: "Beta" }, at(1)),
    roleCreated(ADMIN, at(2)),
    permissionCreated(PUBLISH, at(3)),
    userCreated(
      { id: ADA, email: "ada@example.com", first_name: "Ada", organizations: adaOrgs(ADMIN) },
      at(4),
    ),
    userCreated({ id: BOB, email: "bob@example.com", organizations: bobOrgs }, at(5)),
    roleUpdated({ ...ADMIN, key: "owner", name: "Owner" }, at(6)),
    userUpdated(
      {
        id: ADA,
        email: "ada@example.com",
        first_name: "Augusta",
        organizations: adaOrgs({ ...ADMIN, key: "owner" }),
      },
      at(7),
    ),
    userUpdated(
      { id: BOB, email: "bob@example.com", is_suspended: true, organizations: bobOrgs },
      at(8),
    ),
    organizationUpdated({ code: ACME, name: "Acme Inc" }, at(9)),
    organizationDeleted(BETA, at(10)),
    userCreated({ id: CY, email: "cy@example.com" }, at(11)),
    userDeleted(CY, at(12)),
    userAuthenticated(ADA, at(13)),
  ];
  return { events, signedInAt: base + 13_000 };
}
type Story = ReturnType<typeof story>;

/**
 * The whole mirror, as the story leaves it, whatever the order it arrived in:
 * every public read, the membership rows, the tombstones, and one event record
 * per event.
 */
async function expectMirrorOf(s: Story) {
  await app.t.finishAllScheduledFunctions(() => {});
  const t = app.t;
  expect(await t.query(internal.users.byKindeId, { kindeId: ADA })).toEqual({
    kindeId: ADA,
    email: "ada@example.com",
    firstName: "Augusta",
    isSuspended: false,
    isPasswordResetRequested: false,
    lastSignedInAt: s.signedInAt,
    organizations: [{ orgCode: ACME, roles: ["owner"], permissions: ["publish:docs"] }],
  });
  expect(await t.query(internal.users.byKindeId, { kindeId: BOB })).toEqual({
    kindeId: BOB,
    email: "bob@example.com",
    isSuspended: true,
    isPasswordResetRequested: false,
    organizations: [],
  });
  expect(await t.query(internal.users.byKindeId, { kindeId: CY })).toBeNull();
  expect(
    (await t.query(internal.organizations.list, { paginationOpts: { numItems: 10, cursor: null } }))
      .page,
  ).toEqual([{ code: ACME, name: "Acme Inc", isAllowRegistrations: false }]);
  expect(await t.query(api.organizations.roles, {})).toEqual([
    { kindeId: ADMIN.id, key: "owner", name: "Owner", isDefaultRole: false },
  ]);
  expect(await t.query(api.organizations.permissions, {})).toEqual([
    { kindeId: PUBLISH.id, key: "publish:docs", name: "publish:docs" },
  ]);
  expect(
    await t.query(internal.organizations.hasRole, { kindeId: ADA, orgCode: ACME, role: "owner" }),
  ).toBe(true);
  expect(
    await t.query(internal.organizations.hasRole, { kindeId: ADA, orgCode: ACME, role: "admin" }),
  ).toBe(false);

  const tables = await readKindeTables(t);
  expect(tables.kindeUsers.map((u) => u.kindeId).sort()).toEqual([ADA, BOB]);
  expect(tables.kindeMemberships.map(({ _id: _, _creationTime: __, ...m }) => m)).toEqual([
    {
      kindeId: ADA,
      orgCode: ACME,
      roles: [{ kindeId: ADMIN.id, key: "owner" }],
      permissions: [{ kindeId: PUBLISH.id, key: PUBLISH.key }],
    },
  ]);
  expect(
    tables.tombstones.map((r) => `${r.kind as string}:${r.entityId as string}`).sort(),
  ).toEqual([`organization:${BETA}`, `user:${CY}`]);
  // Each event recorded exactly once: nothing lost, nothing doubled.
  expect(tables.webhookEvents.map((e) => e.eventId).sort()).toEqual(
    s.events.map((e) => e.event_id).sort(),
  );
}

/** Signs each payload with the issuer's current key. */
const sign = (payloads: object[]) => Promise.all(payloads.map((p) => app.issuer.sign(p)));

async function postAll(tokens: string[]): Promise<WebhookAnswer[]> {
  const answers = [];
  for (const token of tokens) answers.push(await app.post(token));
  return answers;
}
const postConcurrently = (tokens: string[]) => Promise.all(tokens.map((t) => app.post(t)));

const statuses = (answers: WebhookAnswer[]) => answers.map((a) => a.status);
const outcomes = (answers: WebhookAnswer[]) => answers.map(outcomeOf);

/** Kinde's retries arrive in no particular order: here newest first. */
const newestFirst = <T>(items: T[]) => [...items].reverse();

// ---------------------------------------------------------------------------

describe("the key server fails before the key set is cached", () => {
  test.each([
    [
      "drops the connection",
      "down",
      /^convex-kinde: \[jwks_unreachable\] could not reach the key set/,
    ],
    ["answers 500", "error", /^convex-kinde: \[jwks_unreachable\] could not load the key set/],
    [
      "answers a JSON document that is not a key set",
      "garbage",
      /^convex-kinde: \[jwks_invalid\] .* did not return a valid key set/,
    ],
  ] as const)(
    "the key server %s: every delivery 503, nothing written; the retries after recovery apply the story once",
    async (_, mode, message) => {
      const s = story();
      const tokens = await sign(s.events);
      app.issuer.setMode(mode);
      const refused = await postAll(tokens);
      expect(statuses(refused)).toEqual(tokens.map(() => 503));
      for (const answer of refused) expect(answer.text).toMatch(message);
      // A failure is not cached: each delivery asked the server again.
      expect(app.issuer.jwksRequests).toBe(tokens.length);
      await expectNothingWritten(app.t);

      app.issuer.setMode("ok");
      const retried = await postAll(newestFirst(tokens));
      expect(statuses(retried)).toEqual(tokens.map(() => 200));
      expect(outcomes(retried)).not.toContain("duplicate");
      expect(app.issuer.jwksRequests).toBe(tokens.length + 1);
      // A second round of retries (Kinde did not see the 200s) changes nothing.
      const before = await readKindeTables(app.t);
      expect(outcomes(await postAll(tokens))).toEqual(tokens.map(() => "duplicate"));
      expect(await readKindeTables(app.t)).toEqual(before);
      await expectMirrorOf(s);
    },
  );

  test("the key server is slower than 3 s: concurrent deliveries share one fetch and all get 503; the retries apply the story once", async () => {
    const s = story();
    const tokens = await sign(s.events);
    app.issuer.setMode("slow");
    const started = Date.now();
    const refused = await postConcurrently(tokens);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
    expect(statuses(refused)).toEqual(tokens.map(() => 503));
    for (const answer of refused) expect(answer.text).toMatch(/timed out after 3000 ms/);
    expect(app.issuer.jwksRequests).toBe(1);
    await expectNothingWritten(app.t);

    app.issuer.setMode("ok");
    expect(statuses(await postConcurrently(newestFirst(tokens)))).toEqual(tokens.map(() => 200));
    expect(app.issuer.jwksRequests).toBe(2);
    await expectMirrorOf(s);
  }, 15_000);
});

describe("the key server fails after the key set is cached", () => {
  test("deliveries keep verifying from the cache while the server is down, without asking it", async () => {
    const s = story();
    const tokens = await sign(s.events);
    const half = tokens.length / 2;
    expect(statuses(await postAll(tokens.slice(0, half)))).toEqual(
      tokens.slice(0, half).map(() => 200),
    );
    app.issuer.setMode("down");
    expect(statuses(await postAll(tokens.slice(half)))).toEqual(tokens.slice(half).map(() => 200));
    expect(app.issuer.jwksRequests).toBe(1);
    await expectMirrorOf(s);
  });

  test("once the cached key set is older than 10 minutes, an unreachable server means 503; the retries after recovery apply the rest once", async () => {
    const s = story();
    const tokens = await sign(s.events);
    const first = tokens.slice(0, 5);
    const rest = tokens.slice(5);
    expect(statuses(await postAll(first))).toEqual(first.map(() => 200));
    app.issuer.setMode("down");
    advanceClock(10 * 60_000 + 1_000);
    const refused = await postAll(rest);
    expect(statuses(refused)).toEqual(rest.map(() => 503));
    const { webhookEvents } = await readKindeTables(app.t);
    expect(webhookEvents).toHaveLength(first.length);

    app.issuer.setMode("ok");
    // Kinde retries everything it did not get a 200 for, plus (say) a lost 200 of the first batch.
    const retried = await postAll(newestFirst([...rest, first[0]!]));
    expect(statuses(retried)).toEqual([...rest, first[0]].map(() => 200));
    expect(outcomes(retried).filter((o) => o === "duplicate")).toHaveLength(1);
    await expectMirrorOf(s);
  });
});

describe("keys rotated mid-stream", () => {
  test("a rotation without overlap: new-key events are 401 during the 30 s cooldown, applied once after it; old-key retries stay duplicates", async () => {
    const s = story();
    const early = s.events.slice(0, 7);
    const late = s.events.slice(7);
    const oldTokens = await sign(early);
    expect(statuses(await postAll(oldTokens))).toEqual(early.map(() => 200));

    await app.issuer.rotateKey();
    const newTokens = await sign(late);
    const refused = await postAll(newTokens);
    expect(statuses(refused)).toEqual(late.map(() => 401));
    for (const answer of refused) expect(answer.text).toMatch(/no key .* matches the token's kid/);
    expect(app.issuer.jwksRequests).toBe(1); // the cooldown holds: no refetch per unknown kid
    // A retry of an already applied old-key event still verifies from the cache.
    expect(outcomes(await postAll([oldTokens[0]!]))).toEqual(["duplicate"]);
    expect((await readKindeTables(app.t)).webhookEvents).toHaveLength(early.length);

    advanceClock(31_000);
    const retried = await postAll(newestFirst(newTokens));
    expect(statuses(retried)).toEqual(late.map(() => 200));
    expect(outcomes(retried)).not.toContain("duplicate");
    expect(app.issuer.jwksRequests).toBe(2);
    await expectMirrorOf(s);
  });

  test("a rotation that keeps the old key, while the key server is down: old-key events verify from the cache, new-key events get 503 until it is back", async () => {
    const s = story();
    const early = s.events.slice(0, 4);
    const middle = s.events.slice(4, 9);
    const late = s.events.slice(9);
    const oldTokens = await sign([...early, ...middle]);
    expect(statuses(await postAll(oldTokens.slice(0, early.length)))).toEqual(early.map(() => 200));

    await app.issuer.rotateKey({ keepOld: true });
    app.issuer.setMode("down");
    advanceClock(31_000);
    const newTokens = await sign(late);
    // Interleaved: Kinde is still sending events signed before the rotation.
    const schedule: [token: string, status: number][] = [];
    for (let i = 0; i < Math.max(middle.length, late.length); i++) {
      if (i < middle.length) schedule.push([oldTokens[early.length + i]!, 200]);
      if (i < late.length) schedule.push([newTokens[i]!, 503]);
    }
    const answers = await postAll(schedule.map(([token]) => token));
    expect(statuses(answers)).toEqual(schedule.map(([, status]) => status));
    for (const answer of answers.filter((a) => a.status === 503)) {
      expect(answer.text).toMatch(/could not reach the key set/);
    }
    expect((await readKindeTables(app.t)).webhookEvents).toHaveLength(early.length + middle.length);

    app.issuer.setMode("ok");
    expect(statuses(await postAll(newestFirst(newTokens)))).toEqual(late.map(() => 200));
    await expectMirrorOf(s);
  });
});

describe("the same events delivered concurrently", () => {
  test("every event four times at once, on a cold key set: one key set request, each event applied once", async () => {
    const s = story();
    const tokens = await sign(s.events);
    const deliveries = [...tokens, ...tokens, ...tokens, ...tokens];
    const answers = await postConcurrently(deliveries);
    expect(statuses(answers)).toEqual(deliveries.map(() => 200));
    expect(app.issuer.jwksRequests).toBe(1);
    for (const event of s.events) {
      const forEvent = answers.filter((a) => a.text.endsWith(` ${event.event_id}\n`));
      expect(forEvent).toHaveLength(4);
      expect(
        outcomes(forEvent).filter((o) => o !== "duplicate"),
        event.event_id,
      ).toHaveLength(1);
    }
    await expectMirrorOf(s);
  });

  test("concurrent deliveries while the key server is down all get 503 and write nothing; concurrent retries then apply each event once", async () => {
    const s = story();
    const tokens = await sign(s.events);
    app.issuer.setMode("down");
    const refused = await postConcurrently([...tokens, ...tokens]);
    expect(statuses(refused)).toEqual([...tokens, ...tokens].map(() => 503));
    await expectNothingWritten(app.t);

    app.issuer.setMode("ok");
    const retried = await postConcurrently([...newestFirst(tokens), ...tokens]);
    expect(statuses(retried)).toEqual([...tokens, ...tokens].map(() => 200));
    expect(outcomes(retried).filter((o) => o === "duplicate")).toHaveLength(tokens.length);
    await expectMirrorOf(s);
  });
});
