/**
 * Which signed webhooks ask for an enrichment refresh: delivered to an app
 * with the `enrichment` option and `registerRoutes(http, { refresh })`, and
 * read back as the functions the component scheduled. The refresh action
 * here records nothing: what it does is the client side's (its own tests).
 */
import { describe, expect, test } from "vitest";
import { convexTest } from "convex-test";
import { httpRouter, internalActionGeneric, makeFunctionReference } from "convex/server";
import { v } from "convex/values";
import kindeTest, {
  kindeOrgCode,
  kindeUserId,
  organizationCreated,
  organizationDeleted,
  organizationUpdated,
  permissionCreated,
  readKindeScheduledFunctions,
  readKindeTables,
  roleCreated,
  userAuthenticated,
  userCreated,
  userDeleted,
  userUpdated,
} from "convex-kinde/test";
import { Kinde, type EnrichmentOptions } from "convex-kinde";
import { components } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import {
  advanceClock,
  DAY,
  HOUR,
  modules,
  outcomeOf,
  postWebhook,
  useWebhookTest,
} from "./setup.js";

const app = useWebhookTest();

const REFRESH = "testRefresh:refresh";

/**
 * The example app with its webhook mounted by a `Kinde` made with
 * `enrichment` (none: left out), passing `refresh` unless `withRefresh` is false.
 */
function appWithEnrichment(enrichment: EnrichmentOptions | undefined, withRefresh = true) {
  const kinde = new Kinde(components.kinde, enrichment === undefined ? {} : { enrichment });
  const http = httpRouter();
  kinde.registerRoutes(
    http,
    withRefresh ? { refresh: makeFunctionReference<"action">(REFRESH) as never } : {},
  );
  const t = convexTest({
    schema,
    modules: {
      ...modules,
      "./http.ts": async () => ({ default: http }),
      "./testRefresh.ts": async () => ({
        refresh: internalActionGeneric({
          args: { kind: v.string(), entityId: v.string() },
          handler: async () => null,
        }),
      }),
    },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  const deliver = async (payload: object) =>
    outcomeOf(await postWebhook(t, await app.issuer.sign(payload)));
  /** The refreshes scheduled and not yet run (or cancelled), as `kind entityId`. */
  const refreshes = async () =>
    (await readKindeScheduledFunctions(t))
      .filter((job) => job.name === REFRESH && job.state === "pending")
      .map((job) => {
        const { kind, entityId } = job.args[0] as { kind: string; entityId: string };
        return `${kind} ${entityId}`;
      });
  const begin = (kind: "user" | "organization", entityId: string) =>
    t.mutation(components.kinde.enrichment.begin, { kind, entityId });
  return { t, deliver, refreshes, begin };
}

const ALL = { userProperties: "all", organizationProperties: "all" } as const;

describe("webhooks that ask for a refresh", () => {
  test("user.created and user.updated refresh the user, once however many arrive while it is pending", async () => {
    const { deliver, refreshes } = appWithEnrichment(ALL);
    const id = kindeUserId();
    const now = Date.now();
    expect(await deliver(userCreated({ id }, { at: now - 3 * HOUR }))).toBe("applied");
    expect(await refreshes()).toEqual([`user ${id}`]);
    for (let i = 2; i >= 0; i--) {
      expect(
        await deliver(userUpdated({ id, first_name: `Ada ${i}` }, { at: now - i * HOUR })),
      ).toBe("applied");
    }
    expect(await refreshes()).toEqual([`user ${id}`]);
  });

  test("organization.created and organization.updated refresh the organization when its properties are kept", async () => {
    const { deliver, refreshes } = appWithEnrichment(ALL);
    const code = kindeOrgCode();
    const now = Date.now();
    expect(await deliver(organizationCreated({ code, name: "Acme" }, { at: now - HOUR }))).toBe(
      "applied",
    );
    expect(await deliver(organizationUpdated({ code, name: "Acme Inc" }, { at: now }))).toBe(
      "applied",
    );
    expect(await refreshes()).toEqual([`organization ${code}`]);
  });

  test("a change while a refresh is in flight schedules one more: the fetch may have read Kinde before it", async () => {
    const { deliver, refreshes, begin } = appWithEnrichment(ALL);
    const id = kindeUserId();
    const now = Date.now();
    await deliver(userCreated({ id }, { at: now - 2 * HOUR }));
    expect(await begin("user", id)).not.toBeNull();
    expect(await deliver(userUpdated({ id, first_name: "Ada" }, { at: now - HOUR }))).toBe(
      "applied",
    );
    expect(await refreshes()).toEqual([`user ${id}`, `user ${id}`]);
  });

  test("duplicate, stale, expired and future events ask for nothing; neither do deletions or the catalog", async () => {
    const { t, deliver, begin } = appWithEnrichment(ALL);
    const id = kindeUserId();
    const code = kindeOrgCode();
    const now = Date.now();
    const created = userCreated({ id }, { at: now - HOUR });
    const org = organizationCreated({ code }, { at: now - HOUR });
    await deliver(created);
    await deliver(org);
    // Both refreshes began: nothing is pending, so any request would schedule.
    await begin("user", id);
    await begin("organization", code);
    const before = (await readKindeScheduledFunctions(t)).length;
    expect(await deliver(created)).toBe("duplicate");
    expect(await deliver(userUpdated({ id }, { at: now - 2 * HOUR }))).toBe("stale");
    expect(await deliver(userUpdated({ id }, { at: now - 8 * DAY }))).toBe("expired");
    expect(await deliver(userUpdated({ id }, { at: now + DAY }))).toBe("future");
    expect(await deliver(organizationUpdated({ code }, { at: now - 2 * HOUR }))).toBe("stale");
    expect(
      await deliver(roleCreated({ id: "3f9f3a2e-0000-4000-8000-000000000001", key: "admin" })),
    ).toBe("applied");
    expect(
      await deliver(
        permissionCreated({ id: "3f9f3a2e-0000-4000-8000-000000000002", key: "read:docs" }),
      ),
    ).toBe("applied");
    expect(await deliver(userDeleted(id))).toBe("applied");
    expect(await deliver(organizationDeleted(code))).toBe("applied");
    // Only the organization's membership cascade was scheduled since.
    const since = (await readKindeScheduledFunctions(t)).slice(before);
    expect(since.map((job) => job.name)).toEqual(["cascade:removeOrganizationMemberships"]);
    expect((await readKindeTables(t)).pendingRefreshes).toEqual([]);
  });

  test("a sign-in refreshes a user last fetched longer ago than refreshAfterSignInMs, never fetched included", async () => {
    const { t, deliver, refreshes, begin } = appWithEnrichment({ refreshAfterSignInMs: HOUR });
    const id = kindeUserId();
    const now = Date.now();
    await deliver(userCreated({ id }, { at: now - 2 * HOUR }));
    const fetched = await begin("user", id);
    expect(await refreshes()).toEqual([`user ${id}`]); // the created's, still scheduled
    await t.mutation(components.kinde.enrichment.applyUsers, {
      fetchedAt: fetched!.fetchedAt,
      users: [{ kindeId: id, details: { totalSignIns: 1 } }],
    });
    expect(await deliver(userAuthenticated(id, { at: now - HOUR }))).toBe("applied");
    expect(await refreshes()).toEqual([`user ${id}`]); // fetched just now: no new one
    advanceClock(HOUR);
    expect(await deliver(userAuthenticated(id))).toBe("applied");
    expect(await refreshes()).toEqual([`user ${id}`, `user ${id}`]);

    // A user the first sign-in creates has never been fetched.
    const newcomer = kindeUserId();
    expect(await deliver(userAuthenticated(newcomer))).toBe("applied");
    expect(await refreshes()).toContain(`user ${newcomer}`);
  });

  test("without refreshAfterSignInMs a sign-in asks for nothing", async () => {
    const { t, deliver, refreshes, begin } = appWithEnrichment({});
    const id = kindeUserId();
    await deliver(userCreated({ id }, { at: Date.now() - HOUR }));
    await begin("user", id);
    expect(await deliver(userAuthenticated(id))).toBe("applied");
    expect(await refreshes()).toEqual([`user ${id}`]); // the created's only
    expect((await readKindeTables(t)).pendingRefreshes).toEqual([]);
  });

  test("organizations are refreshed only when organization properties are kept", async () => {
    const { deliver, refreshes } = appWithEnrichment({ details: ["picture"] });
    const code = kindeOrgCode();
    const id = kindeUserId();
    await deliver(organizationCreated({ code }));
    await deliver(userCreated({ id }));
    expect(await refreshes()).toEqual([`user ${id}`]);
  });

  test("without the enrichment option, or without a refresh action, nothing is scheduled or written for it", async () => {
    for (const [enrichment, withRefresh] of [
      [undefined, true],
      [ALL, false],
    ] as const) {
      const { t, deliver, refreshes } = appWithEnrichment(enrichment, withRefresh);
      const id = kindeUserId();
      await deliver(userCreated({ id }));
      await deliver(organizationCreated({ code: kindeOrgCode() }));
      await deliver(userAuthenticated(id));
      expect(await refreshes()).toEqual([]);
      expect((await readKindeTables(t)).pendingRefreshes).toEqual([]);
    }
  });

  test("deleting the user cancels its pending refresh, and a begin for it answers null", async () => {
    const { t, deliver, refreshes, begin } = appWithEnrichment(ALL);
    const id = kindeUserId();
    await deliver(userCreated({ id }, { at: Date.now() - HOUR }));
    expect(await refreshes()).toEqual([`user ${id}`]);
    expect(await deliver(userDeleted(id))).toBe("applied");
    expect(await refreshes()).toEqual([]);
    expect((await readKindeTables(t)).pendingRefreshes).toEqual([]);
    expect(await begin("user", id)).toBeNull();
  });
});
