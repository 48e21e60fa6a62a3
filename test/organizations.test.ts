import { describe, expect, test } from "vitest";
import { ConvexError } from "convex/values";
import { queryGeneric, makeFunctionReference } from "convex/server";
import { convexTest } from "convex-test";
import kindeTest, {
  kindeOrgCode,
  kindeUserId,
  kindeUuid,
  organizationCreated,
  organizationDeleted,
  organizationUpdated,
  permissionCreated,
  permissionDeleted,
  permissionUpdated,
  readKindeTables,
  roleCreated,
  roleDeleted,
  roleUpdated,
  seedKindeMembers,
  userUpdated,
  type KindeUserPayload,
} from "convex-kinde/test";
import { isKindeAuthorizationError } from "convex-kinde";
import { api, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import { kinde } from "../example/convex/kinde.js";
import { anHourAgo, modules, outcomeOf, useWebhookTest } from "./setup.js";

const app = useWebhookTest();

/** Delivers a signed payload, expects 200, and returns the outcome (`applied`, `stale`, …). */
async function deliver(payload: object) {
  const answer = await app.deliver(payload);
  expect(answer.status, answer.text).toBe(200);
  return outcomeOf(answer);
}

/** Runs the cascades that deletions and renames schedule. */
const settle = () => app.t.finishAllScheduledFunctions(() => {});

const T0 = anHourAgo();
const at = (ms: number) => ({ at: T0 + ms });

const ADMIN = { id: kindeUuid(), key: "admin" };
const MEMBER = { id: kindeUuid(), key: "member" };
const PUBLISH = { id: kindeUuid(), key: "publish:docs" };
const READ = { id: kindeUuid(), key: "read:docs" };
/** A Kinde `{ id, key }` ref as the mirror holds it in a membership. */
const heldRef = ({ id, key }: { id: string; key: string }) => ({ kindeId: id, key });

/** A user in `orgCode` holding `roles` and `permissions` there. */
function member(
  id: string,
  orgCode: string,
  roles: { id: string; key: string }[],
  permissions: { id: string; key: string }[],
  extra: Partial<KindeUserPayload> = {},
) {
  return { id, organizations: [{ code: orgCode, roles, permissions }], ...extra };
}

const orgsOf = async (kindeId: string) =>
  (await app.t.query(internal.users.byKindeId, { kindeId }))?.organizations;

describe("organizations", () => {
  test("created, updated, stale and duplicate events", async () => {
    const code = kindeOrgCode();
    const created = organizationCreated({ code, name: "Acme", handle: "acme" }, at(0));
    expect(await deliver(created)).toBe("applied");
    expect(await app.t.query(internal.organizations.get, { code })).toEqual({
      code,
      name: "Acme",
      handle: "acme",
    });
    expect(await deliver(created)).toBe("duplicate");

    const update = organizationUpdated(
      {
        code,
        name: "Acme Inc",
        handle: "acme",
        external_id: "crm-42",
        is_allow_registrations: true,
      },
      at(2000),
    );
    expect(await deliver(update)).toBe("applied");
    expect(
      await deliver(organizationUpdated({ code, name: "Old name", external_id: null }, at(1000))),
    ).toBe("stale");
    expect(await app.t.query(internal.organizations.get, { code })).toEqual({
      code,
      name: "Acme Inc",
      handle: "acme",
      externalId: "crm-42",
      isAllowRegistrations: true,
    });
    // A later snapshot with external_id null clears it: absent, not null.
    await deliver(organizationUpdated({ code, name: "Acme Inc", external_id: null }, at(3000)));
    expect(await app.t.query(internal.organizations.get, { code })).not.toHaveProperty(
      "externalId",
    );
  });

  test("listOrganizations pages by code", async () => {
    const codes = Array.from({ length: 7 }, () => kindeOrgCode());
    for (const code of codes) await deliver(organizationCreated({ code, name: code }));
    const first = await app.t.query(internal.organizations.list, {
      paginationOpts: { numItems: 5, cursor: null },
    });
    const second = await app.t.query(internal.organizations.list, {
      paginationOpts: { numItems: 5, cursor: first.continueCursor },
    });
    expect(second.isDone).toBe(true);
    expect([...first.page, ...second.page].map((o) => o.code)).toEqual([...codes].sort());
  });

  test("organization.deleted removes the organization and its memberships; nothing brings them back", async () => {
    const code = kindeOrgCode();
    const other = kindeOrgCode();
    const ada = kindeUserId();
    await deliver(organizationCreated({ code, name: "Doomed" }, at(0)));
    await deliver(
      userUpdated(
        {
          id: ada,
          organizations: [
            { code, roles: [ADMIN], permissions: [PUBLISH] },
            { code: other, roles: [MEMBER], permissions: null },
          ],
        },
        at(100),
      ),
    );
    expect(await deliver(organizationDeleted(code, at(5000)))).toBe("applied");
    // Checks refuse the organization at once, before the background clean-up runs.
    expect(
      await app.t.query(internal.organizations.hasRole, {
        orgCode: code,
        role: "admin",
        kindeId: ada,
      }),
    ).toBe(false);
    expect(await app.t.query(internal.organizations.get, { code })).toBeNull();
    expect(
      (
        await app.t.query(internal.organizations.members, {
          orgCode: code,
          paginationOpts: { numItems: 10, cursor: null },
        })
      ).page,
    ).toEqual([]);

    await settle();
    expect(await orgsOf(ada)).toEqual([{ orgCode: other, roles: ["member"], permissions: [] }]);
    const { kindeMemberships } = await readKindeTables(app.t);
    expect(kindeMemberships.map((m) => m.orgCode)).toEqual([other]);

    // Late events: an organization update, and a user snapshot taken before the delete.
    expect(await deliver(organizationUpdated({ code, name: "Zombie" }, at(9000)))).toBe("stale");
    expect(
      await deliver(
        userUpdated(
          { id: ada, organizations: [{ code, roles: [ADMIN], permissions: null }] },
          at(4000),
        ),
      ),
    ).toBe("applied");
    expect(await orgsOf(ada)).toEqual([]);
    expect(await deliver(organizationDeleted(code, at(6000)))).toBe("stale");
  });

  test("listOrganizationMembers pages through members with their profile and keys", async () => {
    const code = kindeOrgCode();
    const ids = Array.from({ length: 5 }, () => kindeUserId());
    for (const [i, id] of ids.entries()) {
      await deliver(
        userUpdated(
          member(id, code, i === 0 ? [ADMIN] : [MEMBER], [READ], {
            first_name: `U${i}`,
            is_suspended: i === 4,
          }),
        ),
      );
    }
    await deliver(userUpdated(member(kindeUserId(), kindeOrgCode(), [ADMIN], [])));
    const seen = [];
    let cursor: string | null = null;
    for (;;) {
      const page: Awaited<ReturnType<typeof app.t.query<typeof internal.organizations.members>>> =
        await app.t.query(internal.organizations.members, {
          orgCode: code,
          paginationOpts: { numItems: 2, cursor },
        });
      seen.push(...page.page);
      if (page.isDone) break;
      cursor = page.continueCursor;
    }
    expect(seen.map((m) => m.kindeId).sort()).toEqual([...ids].sort());
    expect(seen.find((m) => m.kindeId === ids[0])).toEqual({
      kindeId: ids[0],
      firstName: "U0",
      isSuspended: false,
      roles: ["admin"],
      permissions: ["read:docs"],
    });
    expect(seen.find((m) => m.kindeId === ids[4])?.isSuspended).toBe(true);
  });
});

describe("roles and permissions", () => {
  test("the catalogs: created, updated, stale, duplicate", async () => {
    const created = roleCreated({ ...ADMIN, name: "Admin", description: "" }, at(0));
    expect(await deliver(created)).toBe("applied");
    expect(await deliver(created)).toBe("duplicate");
    expect(
      await deliver(
        roleUpdated(
          { ...ADMIN, name: "Administrator", description: "All of it", is_default_role: true },
          at(2000),
        ),
      ),
    ).toBe("applied");
    expect(await deliver(roleUpdated({ ...ADMIN, name: "Old" }, at(1000)))).toBe("stale");
    await deliver(roleCreated({ ...MEMBER, name: "Member" }, at(0)));
    expect(await app.t.query(api.organizations.roles, {})).toEqual([
      {
        kindeId: ADMIN.id,
        key: "admin",
        name: "Administrator",
        description: "All of it",
        isDefaultRole: true,
      },
      { kindeId: MEMBER.id, key: "member", name: "Member", isDefaultRole: false },
    ]);

    await deliver(
      permissionCreated({ ...PUBLISH, name: "Publish", description: "Publish docs" }, at(0)),
    );
    expect(await deliver(permissionUpdated({ ...PUBLISH, name: "Publish documents" }, at(1)))).toBe(
      "applied",
    );
    expect(await deliver(permissionUpdated({ ...PUBLISH, name: "Older" }, at(0.5)))).toBe("stale");
    expect(await app.t.query(api.organizations.permissions, {})).toEqual([
      { kindeId: PUBLISH.id, key: "publish:docs", name: "Publish documents" },
    ]);
  });

  test("role.deleted removes the role from every membership, in batches, and checks refuse it at once", async () => {
    const code = kindeOrgCode();
    await deliver(roleCreated(ADMIN, at(0)));
    // More members than one clean-up batch (200) holds.
    await seedKindeMembers(app.t, {
      orgCode: code,
      count: 230,
      roles: [ADMIN, MEMBER].map(heldRef),
      permissions: [],
    });
    const ada = kindeUserId();
    await deliver(userUpdated(member(ada, code, [ADMIN, MEMBER], []), at(100)));
    expect(
      await app.t.query(internal.organizations.hasRole, {
        orgCode: code,
        role: "admin",
        kindeId: ada,
      }),
    ).toBe(true);

    expect(await deliver(roleDeleted(ADMIN.id, at(5000)))).toBe("applied");
    expect(
      await app.t.query(internal.organizations.hasRole, {
        orgCode: code,
        role: "admin",
        kindeId: ada,
      }),
    ).toBe(false);
    expect(
      await app.t.query(internal.organizations.hasRole, {
        orgCode: code,
        role: "member",
        kindeId: ada,
      }),
    ).toBe(true);
    expect(await app.t.query(api.organizations.roles, {})).toEqual([]);

    await settle();
    const { kindeMemberships, kindeUsers } = await readKindeTables(app.t);
    expect(kindeMemberships).toHaveLength(231);
    for (const m of kindeMemberships) expect(m.roles).toEqual([heldRef(MEMBER)]);
    for (const u of kindeUsers) {
      expect(u.organizations).toEqual([
        { orgCode: code, roles: [heldRef(MEMBER)], permissions: [] },
      ]);
    }
    // A retry of an older snapshot cannot restore the deleted role.
    await deliver(userUpdated(member(ada, code, [ADMIN, MEMBER], []), at(4000)));
    expect(await orgsOf(ada)).toEqual([{ orgCode: code, roles: ["member"], permissions: [] }]);
    expect(await deliver(roleUpdated(ADMIN, at(9000)))).toBe("stale");
  });

  test("permission.deleted removes the permission from memberships", async () => {
    const code = kindeOrgCode();
    const ada = kindeUserId();
    await deliver(userUpdated(member(ada, code, [], [PUBLISH, READ]), at(0)));
    expect(await deliver(permissionDeleted(PUBLISH.id, at(10)))).toBe("applied");
    expect(
      await app.t.query(internal.organizations.hasPermission, {
        orgCode: code,
        permission: "publish:docs",
        kindeId: ada,
      }),
    ).toBe(false);
    await settle();
    expect(await orgsOf(ada)).toEqual([{ orgCode: code, roles: [], permissions: ["read:docs"] }]);
  });

  test("a renamed role is checked by its new key at once, and memberships follow", async () => {
    const code = kindeOrgCode();
    const ada = kindeUserId();
    const role = { id: kindeUuid(), key: "editor" };
    await deliver(roleCreated(role, at(0)));
    await deliver(userUpdated(member(ada, code, [role], []), at(10)));
    expect(await deliver(roleUpdated({ id: role.id, key: "writer" }, at(20)))).toBe("applied");
    const check = (key: string) =>
      app.t.query(internal.organizations.hasRole, { orgCode: code, role: key, kindeId: ada });
    expect(await check("writer")).toBe(true);
    expect(await check("editor")).toBe(false);
    await settle();
    expect(await orgsOf(ada)).toEqual([{ orgCode: code, roles: ["writer"], permissions: [] }]);
    // A snapshot from before the rename is applied with the current key.
    await deliver(userUpdated(member(ada, code, [role], []), at(15)));
    expect(await check("writer")).toBe(true);
    expect(await orgsOf(ada)).toEqual([{ orgCode: code, roles: ["writer"], permissions: [] }]);
  });
});

describe("authorization helpers", () => {
  const code = "org_0a1b2c3d4e5";

  async function setUp() {
    const editor = kindeUserId();
    const admin = kindeUserId();
    const suspended = kindeUserId();
    await deliver(userUpdated(member(editor, code, [MEMBER], [PUBLISH])));
    await deliver(userUpdated(member(admin, code, [ADMIN], [READ])));
    await deliver(userUpdated(member(suspended, code, [ADMIN], [PUBLISH], { is_suspended: true })));
    return { editor, admin, suspended };
  }

  test("hasRole / hasPermission for the signed-in user, another user, and nobody", async () => {
    const { editor, admin, suspended } = await setUp();
    const as = (kindeId: string) => app.t.withIdentity({ subject: kindeId });
    expect(
      await as(editor).query(internal.organizations.hasPermission, {
        orgCode: code,
        permission: "publish:docs",
      }),
    ).toBe(true);
    expect(
      await as(editor).query(internal.organizations.hasRole, { orgCode: code, role: "admin" }),
    ).toBe(false);
    expect(
      await as(admin).query(internal.organizations.hasRole, { orgCode: code, role: "admin" }),
    ).toBe(true);
    expect(
      await as(admin).query(internal.organizations.hasRole, {
        orgCode: "org_other",
        role: "admin",
      }),
    ).toBe(false);
    expect(
      await app.t.query(internal.organizations.hasRole, {
        orgCode: code,
        role: "admin",
        kindeId: admin,
      }),
    ).toBe(true);
    expect(
      await app.t.query(internal.organizations.hasRole, { orgCode: code, role: "admin" }),
    ).toBe(false);
    expect(
      await as(kindeUserId()).query(internal.organizations.hasRole, {
        orgCode: code,
        role: "admin",
      }),
    ).toBe(false);
    // A suspended user holds no role or permission.
    expect(
      await as(suspended).query(internal.organizations.hasRole, { orgCode: code, role: "admin" }),
    ).toBe(false);
    expect(
      await as(suspended).query(internal.organizations.hasPermission, {
        orgCode: code,
        permission: "publish:docs",
      }),
    ).toBe(false);
  });

  test("requirePermission guards a mutation: allowed, forbidden, unauthenticated", async () => {
    const { editor, admin, suspended } = await setUp();
    const id = await app.t
      .withIdentity({ subject: editor })
      .mutation(api.documents.publish, { orgCode: code, title: "Hello" });
    const asEditor = app.t.withIdentity({ subject: editor });
    expect(await asEditor.query(api.documents.list, { orgCode: code })).toMatchObject([
      { _id: id, title: "Hello", publishedBy: editor },
    ]);

    for (const [who, kind] of [
      [app.t.withIdentity({ subject: admin }), "forbidden"],
      [app.t.withIdentity({ subject: suspended }), "forbidden"],
      [app.t, "unauthenticated"],
    ] as const) {
      const error = await who
        .mutation(api.documents.publish, { orgCode: code, title: "Nope" })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isKindeAuthorizationError(error)).toBe(true);
      expect((error as ConvexError<{ kind: string }>).data).toMatchObject(
        kind === "forbidden" ? { kind, orgCode: code, permission: "publish:docs" } : { kind },
      );
    }
    expect(await asEditor.query(api.documents.list, { orgCode: code })).toHaveLength(1);
  });

  test("requireRole: only admins remove documents", async () => {
    const { editor, admin } = await setUp();
    const id = await app.t
      .withIdentity({ subject: editor })
      .mutation(api.documents.publish, { orgCode: code, title: "Hi" });
    await expect(
      app.t.withIdentity({ subject: editor }).mutation(api.documents.remove, { orgCode: code, id }),
    ).rejects.toMatchObject({
      data: {
        kind: "forbidden",
        role: "admin",
        orgCode: code,
        message: 'This needs the role "admin" in organization org_0a1b2c3d4e5.',
      },
    });
    await app.t
      .withIdentity({ subject: admin })
      .mutation(api.documents.remove, { orgCode: code, id });
    expect(
      await app.t.withIdentity({ subject: admin }).query(api.documents.list, { orgCode: code }),
    ).toEqual([]);
  });

  test("a permission check reads the same documents with 10 and 1,000 members", async () => {
    const probe = queryGeneric({
      args: {},
      handler: async (ctx) => {
        const before = (await ctx.meta.getTransactionMetrics()).documentsRead.used;
        const allowed = await kinde.hasPermission(ctx, {
          orgCode: code,
          permission: "publish:docs",
        });
        const after = await ctx.meta.getTransactionMetrics();
        return {
          allowed,
          documentsRead: after.documentsRead.used - before,
          queries: after.databaseQueries.used,
        };
      },
    });
    const costWith = async (members: number) => {
      const test = convexTest({
        schema,
        modules: { ...modules, "./probe.ts": async () => ({ probe }) },
        transactionLimits: true,
      });
      kindeTest.register(test, "kinde", { inspect: true });
      await seedKindeMembers(test, {
        orgCode: code,
        count: members,
        roles: [heldRef(MEMBER)],
        permissions: [heldRef(PUBLISH)],
      });
      return await test
        .withIdentity({ subject: `kp_seed_${code}_0` })
        .query(makeFunctionReference<"query">("probe:probe"), {});
    };
    const small = await costWith(10);
    const large = await costWith(1000);
    expect(small.allowed).toBe(true);
    expect(large).toEqual(small);
    expect(small.documentsRead).toBeLessThanOrEqual(3);
  });
});
