// The generated host queries (kinde.userQueries), the custom function builders
// (kinde.customQuery / customMutation) and the org_code default of the checks,
// against real signed webhooks.
import { describe, expect, test } from "vitest";
import { makeFunctionReference, queryGeneric } from "convex/server";
import { convexTest } from "convex-test";
import kindeTest, {
  kindeOrgCode,
  kindeUserId,
  kindeUuid,
  organizationCreated,
  permissionDeleted,
  userUpdated,
} from "convex-kinde/test";
import { isKindeAuthorizationError, organizationOf } from "convex-kinde";
import { api } from "../example/convex/_generated/api.js";
import { kinde } from "../example/convex/kinde.js";
import schema from "../example/convex/schema.js";
import { initConvexTest, modules, postWebhook, useWebhookTest } from "./setup.js";

const app = useWebhookTest();

async function deliver(payload: object) {
  const { status, text } = await app.deliver(payload);
  expect(status, text).toBe(200);
}

const ADMIN = { id: kindeUuid(), key: "admin" };
const PUBLISH = { id: kindeUuid(), key: "publish:docs" };
const READ = { id: kindeUuid(), key: "read:docs" };

type Ref = { id: string; key: string };
const membership = (code: string, roles: Ref[], permissions: Ref[]) => ({
  code,
  roles,
  permissions,
});

/** The refusal a call ended in, or null if it succeeded. */
async function refusal(call: Promise<unknown>) {
  return await call.then(
    () => null,
    (error: unknown) => error,
  );
}

describe("organizationOf", () => {
  test("reads a non-empty string org_code claim, nothing else", () => {
    const base = { subject: "kp_1", issuer: "https://acme.kinde.com", tokenIdentifier: "t" };
    expect(organizationOf({ ...base, org_code: "org_1a2b3c4d5e6" })).toBe("org_1a2b3c4d5e6");
    expect(organizationOf(base)).toBeNull();
    expect(organizationOf({ ...base, org_code: "" })).toBeNull();
    expect(organizationOf({ ...base, org_code: ["org_1a2b3c4d5e6"] })).toBeNull();
    // Kinde's ID tokens list every organization; none of them is "the" current one.
    expect(organizationOf({ ...base, org_codes: ["org_1a2b3c4d5e6"] })).toBeNull();
    expect(organizationOf(null)).toBeNull();
  });
});

describe("generated queries: kindeUser.user / organizations / can", () => {
  test("unauthenticated: no user, no organizations, can nothing", async () => {
    expect(await app.t.query(api.kindeUser.user, {})).toBeNull();
    expect(await app.t.query(api.kindeUser.organizations, {})).toEqual([]);
    expect(
      await app.t.query(api.kindeUser.can, { orgCode: "org_1", permission: "publish:docs" }),
    ).toBe(false);
    expect(await app.t.query(api.kindeUser.can, { role: "admin" })).toBe(false);
  });

  test("allowed, forbidden, and the organization from the token", async () => {
    const acme = kindeOrgCode();
    const other = kindeOrgCode();
    const ada = kindeUserId();
    await deliver(organizationCreated({ code: acme, name: "Acme", handle: "acme" }));
    await deliver(
      userUpdated({
        id: ada,
        first_name: "Ada",
        organizations: [membership(acme, [ADMIN], [PUBLISH]), membership(other, [], [READ])],
      }),
    );
    const signedIn = app.t.withIdentity({ subject: ada });
    // An access token for acme: Kinde's org_code claim, passed through by Convex.
    const inAcme = app.t.withIdentity({ subject: ada, org_code: acme });

    expect(await signedIn.query(api.kindeUser.user, {})).toMatchObject({
      kindeId: ada,
      firstName: "Ada",
    });
    expect(
      await signedIn.query(api.kindeUser.can, { orgCode: acme, permission: "publish:docs" }),
    ).toBe(true);
    expect(await signedIn.query(api.kindeUser.can, { orgCode: acme, role: "admin" })).toBe(true);
    expect(
      await signedIn.query(api.kindeUser.can, { orgCode: other, permission: "publish:docs" }),
    ).toBe(false);
    expect(await signedIn.query(api.kindeUser.can, { orgCode: other, role: "admin" })).toBe(false);
    // No orgCode and no org_code claim (an ID token): nothing to check in.
    expect(await signedIn.query(api.kindeUser.can, { permission: "publish:docs" })).toBe(false);
    // No orgCode: the token's organization.
    expect(await inAcme.query(api.kindeUser.can, { permission: "publish:docs" })).toBe(true);
    expect(await inAcme.query(api.kindeUser.can, { permission: "read:docs" })).toBe(false);
    // An explicit orgCode wins over the token's.
    expect(await inAcme.query(api.kindeUser.can, { orgCode: other, permission: "read:docs" })).toBe(
      true,
    );

    expect(await inAcme.query(api.kindeUser.organizations, {})).toEqual([
      {
        orgCode: acme,
        name: "Acme",
        handle: "acme",
        roles: ["admin"],
        permissions: ["publish:docs"],
        isCurrent: true,
      },
      { orgCode: other, roles: [], permissions: ["read:docs"], isCurrent: false },
    ]);
  });

  test("a revoking webhook changes what the queries answer, with no new token", async () => {
    const acme = kindeOrgCode();
    const ada = kindeUserId();
    const inAcme = app.t.withIdentity({ subject: ada, org_code: acme });
    const T0 = Date.now() - 60_000;
    await deliver(
      userUpdated(
        { id: ada, organizations: [membership(acme, [ADMIN], [PUBLISH, READ])] },
        { at: T0 },
      ),
    );
    expect(await inAcme.query(api.kindeUser.can, { permission: "publish:docs" })).toBe(true);

    // Kinde removes publish:docs from Ada's membership.
    await deliver(
      userUpdated({ id: ada, organizations: [membership(acme, [ADMIN], [READ])] }, { at: T0 + 1 }),
    );
    expect(await inAcme.query(api.kindeUser.can, { permission: "publish:docs" })).toBe(false);
    expect(await inAcme.query(api.kindeUser.organizations, {})).toMatchObject([
      { orgCode: acme, permissions: ["read:docs"] },
    ]);

    // Kinde deletes the read:docs permission: refused at once, before any clean-up runs.
    await deliver(permissionDeleted(READ.id, { at: T0 + 2 }));
    expect(await inAcme.query(api.kindeUser.can, { permission: "read:docs" })).toBe(false);
    expect(await inAcme.query(api.kindeUser.can, { role: "admin" })).toBe(true);
  });

  test("organizations names every membership, one index range each, for a user in 1,000 organizations", async () => {
    const ada = kindeUserId();
    const codes = Array.from({ length: 1000 }, () => kindeOrgCode());
    const first = codes[0]!;
    const last = codes.at(-1)!;
    const events = [
      organizationCreated({ code: first, name: "First" }),
      organizationCreated({ code: last, name: "Last" }),
      userUpdated({ id: ada, organizations: codes.map((code) => membership(code, [], [])) }),
    ];

    const probe = queryGeneric({
      args: {},
      handler: async (ctx) => {
        const organizations = await ctx.runQuery(api.kindeUser.organizations, {});
        const metrics = await ctx.meta.getTransactionMetrics();
        return {
          count: organizations.length,
          named: organizations.flatMap((o) => (o.name ? [o.name] : [])),
          documentsRead: metrics.documentsRead.used,
          indexRanges: metrics.databaseQueries.used,
        };
      },
    });
    // The example app plus a probe that runs the registered query and reads what it cost.
    const t = convexTest({
      schema,
      modules: { ...modules, "./probe.ts": async () => ({ probe }) },
      transactionLimits: true,
    });
    kindeTest.register(t, "kinde");
    for (const payload of events) {
      expect((await postWebhook(t, await app.issuer.sign(payload))).status).toBe(200);
    }
    const cost = await t
      .withIdentity({ subject: ada })
      .query(makeFunctionReference<"query">("probe:probe"), {});
    // One user, then one organization per membership (two of them exist in the mirror).
    expect(cost).toEqual({
      count: codes.length,
      named: ["First", "Last"],
      documentsRead: 1 + 2,
      indexRanges: 1 + codes.length,
    });
  });
});

describe("custom functions: kinde.customQuery / customMutation", () => {
  async function setUp() {
    const acme = kindeOrgCode();
    const editor = kindeUserId();
    const reader = kindeUserId();
    await deliver(userUpdated({ id: editor, organizations: [membership(acme, [], [PUBLISH])] }));
    await deliver(userUpdated({ id: reader, organizations: [membership(acme, [], [READ])] }));
    return { acme, editor, reader };
  }

  test("unauthenticated, forbidden, allowed, and the organization from the token", async () => {
    const { acme, editor, reader } = await setUp();

    const nobody = await refusal(app.t.mutation(api.documents.publish, { title: "x" }));
    expect(isKindeAuthorizationError(nobody) && nobody.data).toMatchObject({
      kind: "unauthenticated",
    });

    const readerInAcme = app.t.withIdentity({ subject: reader, org_code: acme });
    const forbidden = await refusal(readerInAcme.mutation(api.documents.publish, { title: "x" }));
    expect(isKindeAuthorizationError(forbidden) && forbidden.data).toEqual({
      kind: "forbidden",
      orgCode: acme,
      permission: "publish:docs",
      message: `This needs the permission "publish:docs" in organization ${acme}.`,
    });

    // No orgCode argument: the token's org_code says where.
    const editorInAcme = app.t.withIdentity({ subject: editor, org_code: acme });
    await editorInAcme.mutation(api.documents.publish, { title: "From the token" });
    // An explicit orgCode, with an ID token (no org_code).
    await app.t
      .withIdentity({ subject: editor })
      .mutation(api.documents.publish, { orgCode: acme, title: "Explicit" });

    expect(
      (await readerInAcme.query(api.documents.readable, {})).map((d) => [d.title, d.publishedBy]),
    ).toEqual([
      ["From the token", editor],
      ["Explicit", editor],
    ]);
    const editorCannotRead = await refusal(editorInAcme.query(api.documents.readable, {}));
    expect(isKindeAuthorizationError(editorCannotRead) && editorCannotRead.data).toMatchObject({
      kind: "forbidden",
      permission: "read:docs",
    });
    // No requirement: signed in and mirrored is enough; ctx.kinde.user is the caller.
    expect(
      (await app.t.withIdentity({ subject: editor }).query(api.documents.mine, {})).length,
    ).toBe(2);
    expect(await app.t.withIdentity({ subject: reader }).query(api.documents.mine, {})).toEqual([]);
  });

  test("refused before the handler runs: nothing is written", async () => {
    const { acme, reader } = await setUp();
    await refusal(
      app.t.withIdentity({ subject: reader }).mutation(api.documents.publish, {
        orgCode: acme,
        title: "Nope",
      }),
    );
    expect(
      await app.t.withIdentity({ subject: reader }).query(api.documents.list, { orgCode: acme }),
    ).toEqual([]);
  });

  test("a signed-in user the mirror does not know, and a check with no organization", async () => {
    const { editor } = await setUp();
    const stranger = app.t.withIdentity({ subject: kindeUserId() });
    const unknown = await refusal(stranger.query(api.documents.mine, {}));
    expect(isKindeAuthorizationError(unknown) && unknown.data).toMatchObject({
      kind: "unauthenticated",
      message: expect.stringContaining("not told this app about your account") as string,
    });
    const nowhere = await refusal(
      app.t.withIdentity({ subject: editor }).mutation(api.documents.publish, { title: "x" }),
    );
    expect(isKindeAuthorizationError(nowhere)).toBe(false);
    expect(String(nowhere)).toContain('no "org_code" claim');
  });
});

describe("custom functions: member: true", () => {
  /** A query made as the README's custom functions are, requiring membership only. */
  const memberQuery = kinde.customQuery(queryGeneric)({
    member: true,
    args: {},
    handler: async (ctx) => ({ orgCode: ctx.kinde.orgCode, membership: ctx.kinde.membership }),
  });
  const probe = makeFunctionReference<"query">("probe:memberQuery");

  test("members pass with their membership; outsiders, the suspended and nobody are refused", async () => {
    const t = initConvexTest({ "./probe.ts": async () => ({ memberQuery }) });
    const acme = kindeOrgCode();
    const other = kindeOrgCode();
    const ada = kindeUserId();
    const suspended = kindeUserId();
    const outsider = kindeUserId();
    for (const payload of [
      userUpdated({ id: ada, organizations: [membership(acme, [], [])] }),
      userUpdated({ id: suspended, is_suspended: true, organizations: [membership(acme, [], [])] }),
      userUpdated({ id: outsider, organizations: [membership(other, [ADMIN], [READ])] }),
    ]) {
      expect((await postWebhook(t, await app.issuer.sign(payload))).status).toBe(200);
    }

    const expected = { orgCode: acme, membership: { orgCode: acme, roles: [], permissions: [] } };
    expect(await t.withIdentity({ subject: ada, org_code: acme }).query(probe, {})).toEqual(
      expected,
    );
    expect(await t.withIdentity({ subject: ada }).query(probe, { orgCode: acme })).toEqual(
      expected,
    );

    for (const [caller, orgCode] of [
      [outsider, acme],
      [suspended, acme],
      [ada, other],
    ] as const) {
      const refused = await refusal(t.withIdentity({ subject: caller }).query(probe, { orgCode }));
      expect(isKindeAuthorizationError(refused) && refused.data).toEqual({
        kind: "forbidden",
        orgCode,
        message: `This needs membership of organization ${orgCode}.`,
      });
    }
    const nobody = await refusal(t.query(probe, { orgCode: acme }));
    expect(isKindeAuthorizationError(nobody) && nobody.data).toMatchObject({
      kind: "unauthenticated",
    });
    // The token's organization is not a way in: the outsider signed in to their own.
    const own = await refusal(
      t.withIdentity({ subject: outsider, org_code: other }).query(probe, { orgCode: acme }),
    );
    expect(isKindeAuthorizationError(own) && own.data).toMatchObject({ kind: "forbidden" });
  });
});

describe("hasRole / requirePermission default orgCode to the token's org_code", () => {
  test("the check runs in the token's organization; explicit orgCode wins", async () => {
    const acme = kindeOrgCode();
    const other = kindeOrgCode();
    const ada = kindeUserId();
    await deliver(
      userUpdated({
        id: ada,
        organizations: [membership(acme, [ADMIN], []), membership(other, [], [])],
      }),
    );
    const inAcme = app.t.withIdentity({ subject: ada, org_code: acme });
    const inOther = app.t.withIdentity({ subject: ada, org_code: other });
    const isAdmin = (orgCode?: string) => ({ role: "admin", orgCode });
    expect(await inAcme.run((ctx) => kinde.hasRole(ctx, isAdmin()))).toBe(true);
    expect(await inOther.run((ctx) => kinde.hasRole(ctx, isAdmin()))).toBe(false);
    expect(await inOther.run((ctx) => kinde.hasRole(ctx, isAdmin(acme)))).toBe(true);
    expect(await inAcme.run((ctx) => kinde.requireRole(ctx, isAdmin()))).toBe(ada);
    await expect(inOther.run((ctx) => kinde.requireRole(ctx, isAdmin()))).rejects.toMatchObject({
      data: { kind: "forbidden", orgCode: other, role: "admin" },
    });
    // With neither, the has* checks answer false and the require* checks name the mistake.
    const idToken = app.t.withIdentity({ subject: ada });
    expect(await idToken.run((ctx) => kinde.hasRole(ctx, isAdmin()))).toBe(false);
    await expect(
      idToken.run((ctx) => kinde.requirePermission(ctx, { permission: "publish:docs" })),
    ).rejects.toThrow(/requirePermission needs an orgCode/);
  });
});

describe("requireMember", () => {
  test("members pass, from the token or an explicit orgCode; everyone else is refused", async () => {
    const acme = kindeOrgCode();
    const other = kindeOrgCode();
    const ada = kindeUserId();
    const suspended = kindeUserId();
    // A membership with no role and no permission is still a membership.
    await deliver(userUpdated({ id: ada, organizations: [membership(acme, [], [])] }));
    await deliver(
      userUpdated({
        id: suspended,
        is_suspended: true,
        organizations: [membership(acme, [ADMIN], [])],
      }),
    );
    const inAcme = app.t.withIdentity({ subject: ada, org_code: acme });
    const idToken = app.t.withIdentity({ subject: ada });
    expect(await inAcme.run((ctx) => kinde.requireMember(ctx))).toBe(ada);
    expect(await idToken.run((ctx) => kinde.requireMember(ctx, { orgCode: acme }))).toBe(ada);

    await expect(
      inAcme.run((ctx) => kinde.requireMember(ctx, { orgCode: other })),
    ).rejects.toMatchObject({
      data: {
        kind: "forbidden",
        orgCode: other,
        message: `This needs membership of organization ${other}.`,
      },
    });
    const refused = await refusal(
      app.t
        .withIdentity({ subject: suspended })
        .run((ctx) => kinde.requireMember(ctx, { orgCode: acme })),
    );
    expect(isKindeAuthorizationError(refused) && refused.data).toEqual({
      kind: "forbidden",
      orgCode: acme,
      message: `This needs membership of organization ${acme}.`,
    });
    await expect(
      app.t.run((ctx) => kinde.requireMember(ctx, { orgCode: acme })),
    ).rejects.toMatchObject({ data: { kind: "unauthenticated" } });
    // Another user, named on the server: the check is about them, not the caller.
    expect(
      await app.t.run((ctx) => kinde.requireMember(ctx, { orgCode: acme, kindeId: ada })),
    ).toBe(ada);
    // No organization at all is a mistake in the code, not a refusal.
    await expect(idToken.run((ctx) => kinde.requireMember(ctx))).rejects.toThrow(
      /requireMember needs an orgCode/,
    );
  });
});
