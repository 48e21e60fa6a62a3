/**
 * `previous` on every `*.updated` hook event: what the host read of the entity
 * just before the change, from every path that changes it (a webhook, a
 * backfill's pages and member lists) and after every background change a hook
 * does not hear of (the cascades of a rename, a deletion, an unsettled key),
 * so an update hook can diff. Each case reads the host's view through the
 * client before the change and compares: `previous` must equal it, and differ
 * from the new value.
 */
import { describe, expect, expectTypeOf, test } from "vitest";
import { makeFunctionReference } from "convex/server";
import {
  kindeOrgCode,
  kindeUserId,
  kindeUuid,
  makeTenant,
  organizationCreated,
  organizationDeleted,
  organizationUpdated,
  permissionCreated,
  permissionUpdated,
  roleCreated,
  roleUpdated,
  userCreated,
  userUpdated,
  type KindeUserPayload,
} from "convex-kinde/test";
import type {
  BackfillResult,
  KindeOrganization,
  KindePermission,
  KindeRole,
  KindeUser,
  MirrorEvent,
} from "convex-kinde";
import { kinde } from "../example/convex/kinde.js";
import {
  HOUR,
  initConvexTestWithHooks,
  postWebhook,
  useManagementApi,
  useWebhookTest,
} from "./setup.js";

const app = useWebhookTest();
const { serve } = useManagementApi();

type Updated = Extract<
  MirrorEvent,
  { type: "user.updated" | "organization.updated" | "role.updated" | "permission.updated" }
>;

/**
 * An app whose hook records every update it hears, with a backfill that runs
 * the same hook, and the host's reads through the client.
 */
function appRecordingUpdates() {
  const heard: Updated[] = [];
  const record = (_ctx: unknown, event: Updated) => {
    heard.push(event);
  };
  const onKindeEvent = makeFunctionReference<"mutation">("testHooks:onKindeEvent");
  const hooks = {
    onKindeEvent: kinde.events({
      "user.updated": record,
      "organization.updated": record,
      "role.updated": record,
      "permission.updated": record,
    }),
    backfill: kinde.backfillAction({ onEvent: onKindeEvent as never }),
  };
  const t = initConvexTestWithHooks(hooks);
  return {
    heard,
    deliver: async (payload: object) => {
      const answer = await postWebhook(t, await app.issuer.sign(payload));
      expect(answer.text).toMatch(/^applied /);
    },
    backfill: async (args: { restart?: boolean } = {}) => {
      const result = (await t.action(
        makeFunctionReference<"action">("testHooks:backfill"),
        args,
      )) as BackfillResult;
      expect(result.run.status).toBe("done");
    },
    cascades: async () => await t.finishAllScheduledFunctions(() => {}),
    user: (kindeId: string) => t.run((ctx) => kinde.getUser(ctx, kindeId)),
    organization: (code: string) => t.run((ctx) => kinde.getOrganization(ctx, code)),
    role: async (kindeId: string) =>
      (await t.run((ctx) => kinde.listRoles(ctx))).find((r) => r.kindeId === kindeId),
    permission: async (kindeId: string) =>
      (await t.run((ctx) => kinde.listPermissions(ctx))).find((p) => p.kindeId === kindeId),
  };
}

/** The one update the hook heard of `type`, since `from` (an index into `heard`). */
function only<T extends Updated["type"]>(heard: Updated[], type: T, from = 0) {
  const events = heard
    .slice(from)
    .filter((e): e is Extract<Updated, { type: T }> => e.type === type);
  expect(events, type).toHaveLength(1);
  return events[0]!;
}

/**
 * Delivers a `user.updated` of `user` and returns the hook event it caused,
 * whose `previous` must be what the host read of the user just before.
 */
async function updateUser(a: ReturnType<typeof appRecordingUpdates>, user: KindeUserPayload) {
  const before = await a.user(user.id);
  const from = a.heard.length;
  await a.deliver(userUpdated(user, next()));
  const event = only(a.heard, "user.updated", from);
  expect(event.previous).toEqual(before);
  return event;
}

/** Newer than the last event, within the retention window. */
let clock = Date.now() - 10 * HOUR;
const next = () => ({ at: (clock += 1000) });

describe("by webhook: previous is what the host read just before", () => {
  test("user.updated: the profile and memberships before the change", async () => {
    const a = appRecordingUpdates();
    const id = kindeUserId();
    const org = kindeOrgCode();
    const roles = [{ id: kindeUuid(), key: "admin" }];
    const ada: KindeUserPayload = {
      id,
      email: "ada@example.com",
      first_name: "Ada",
      organizations: [{ code: org, roles, permissions: null }],
    };
    await a.deliver(userCreated(ada, next()));
    const event = await updateUser(a, { ...ada, email: "ada@lovelace.dev" });
    expect(event.previous.email).toBe("ada@example.com");
    expect(event.previous.organizations).toEqual([
      { orgCode: org, roles: ["admin"], permissions: [] },
    ]);
    expect(event.user).toEqual(await a.user(id));
    expect(event.user.email).toBe("ada@lovelace.dev");
  });

  test("organization.updated, role.updated and permission.updated", async () => {
    const a = appRecordingUpdates();
    const code = kindeOrgCode();
    const role = { id: kindeUuid(), key: "editor", name: "Editor" };
    const permission = { id: kindeUuid(), key: "read:docs", name: "Read" };
    await a.deliver(organizationCreated({ code, name: "Acme", handle: "acme" }, next()));
    await a.deliver(roleCreated(role, next()));
    await a.deliver(permissionCreated(permission, next()));
    const before = {
      organization: await a.organization(code),
      role: await a.role(role.id),
      permission: await a.permission(permission.id),
    };
    await a.deliver(organizationUpdated({ code, name: "Acme Ltd", handle: "acme" }, next()));
    await a.deliver(roleUpdated({ ...role, name: "Writer" }, next()));
    await a.deliver(permissionUpdated({ ...permission, description: "May read" }, next()));

    const organization = only(a.heard, "organization.updated");
    expect(organization.previous).toEqual(before.organization);
    expect(organization.previous.name).toBe("Acme");
    expect(organization.organization).toEqual(await a.organization(code));
    const renamed = only(a.heard, "role.updated");
    expect(renamed.previous).toEqual(before.role);
    expect(renamed.previous.name).toBe("Editor");
    expect(renamed.role).toEqual(await a.role(role.id));
    const described = only(a.heard, "permission.updated");
    expect(described.previous).toEqual(before.permission);
    expect(described.previous.description).toBeUndefined();
    expect(described.permission.description).toBe("May read");
  });
});

describe("after a cascade: previous is the row as the cascade left it", () => {
  test("a role renamed and an organization deleted since the user's last hook", async () => {
    const a = appRecordingUpdates();
    const id = kindeUserId();
    const [kept, gone] = [kindeOrgCode(), kindeOrgCode()];
    const role = { id: kindeUuid(), key: "editor" };
    await a.deliver(roleCreated(role, next()));
    const ada: KindeUserPayload = {
      id,
      first_name: "Ada",
      organizations: [
        { code: kept, roles: [role], permissions: null },
        { code: gone, roles: null, permissions: null },
      ],
    };
    await a.deliver(userCreated(ada, next()));
    // Neither the rename's nor the deletion's cascade runs a user hook.
    await a.deliver(roleUpdated({ ...role, key: "writer" }, next()));
    await a.deliver(organizationDeleted(gone, next()));
    await a.cascades();
    expect((await a.user(id))?.organizations).toEqual([
      { orgCode: kept, roles: ["writer"], permissions: [] },
    ]);

    const event = await updateUser(a, {
      ...ada,
      first_name: "Augusta",
      organizations: [{ code: kept, roles: [{ ...role, key: "writer" }], permissions: null }],
    });
    expect(event.previous.organizations).toEqual([
      { orgCode: kept, roles: ["writer"], permissions: [] },
    ]);
    expect(event.previous.firstName).toBe("Ada");
    expect(event.user.firstName).toBe("Augusta");
  });

  test("a key a user snapshot named before the catalog knew the role, settled by the catalog", async () => {
    const a = appRecordingUpdates();
    const id = kindeUserId();
    const org = kindeOrgCode();
    const role = { id: kindeUuid(), key: "old-key" };
    const ada: KindeUserPayload = {
      id,
      first_name: "Ada",
      organizations: [{ code: org, roles: [role], permissions: null }],
    };
    await a.deliver(userCreated(ada, next()));
    // The catalog's first word for the role names another key: it settles the user's.
    await a.deliver(roleCreated({ ...role, key: "new-key" }, next()));
    await a.cascades();
    expect((await a.user(id))?.organizations[0]?.roles).toEqual(["new-key"]);

    const event = await updateUser(a, {
      ...ada,
      last_name: "King",
      organizations: [{ code: org, roles: [{ ...role, key: "new-key" }], permissions: null }],
    });
    expect(event.previous.organizations[0]?.roles).toEqual(["new-key"]);
    expect(event.user.lastName).toBe("King");
  });
});

describe("by backfill: previous is what the host read before the run", () => {
  test("a renamed user, a member's new roles, a renamed organization, role and permission", async () => {
    const tenant = makeTenant({ users: 6, organizations: 2 });
    await serve(tenant);
    const a = appRecordingUpdates();
    await a.backfill();

    const renamed = tenant.users[0]!;
    const [org, members] = Object.entries(tenant.members)[0]!;
    const promoted = Object.keys(members).find(
      (id) => id !== renamed.id && members[id]!.join() !== "admin",
    )!;
    const organization = tenant.organizations.find((o) => o.code === org)!;
    const role = tenant.roles[1]!;
    const permission = tenant.permissions[2]!;
    const before = {
      renamed: await a.user(renamed.id),
      promoted: await a.user(promoted),
      organization: await a.organization(org),
      role: await a.role(role.id),
      permission: await a.permission(permission.id),
    };
    renamed.first_name = "Renamed";
    members[promoted] = ["admin"];
    organization.name = "Renamed organization";
    role.name = "Renamed role";
    permission.name = "Renamed permission";

    const from = a.heard.length;
    await a.backfill({ restart: true });
    const users = a.heard
      .slice(from)
      .filter((e): e is Extract<Updated, { type: "user.updated" }> => e.type === "user.updated");
    const heardOf = (kindeId: string) => {
      const events = users.filter((e) => e.user.kindeId === kindeId);
      expect(events, kindeId).toHaveLength(1);
      return events[0]!;
    };
    // The users page (applyUserSnapshot) and the member list (replaceMembership).
    const profile = heardOf(renamed.id);
    expect(profile.previous).toEqual(before.renamed);
    expect(profile.previous.firstName).not.toBe("Renamed");
    expect(profile.user).toEqual(await a.user(renamed.id));
    const membership = heardOf(promoted);
    expect(membership.previous).toEqual(before.promoted);
    expect(membership.user).toEqual(await a.user(promoted));
    expect(membership.user.organizations).not.toEqual(membership.previous.organizations);

    const expectPrevious = <T>(
      event: { previous: T },
      now: T,
      was: KindeOrganization | KindeRole | KindePermission | undefined | null,
    ) => {
      expect(event.previous).toEqual(was);
      expect(event.previous).not.toEqual(now);
    };
    const o = only(a.heard, "organization.updated", from);
    expectPrevious(o, o.organization, before.organization);
    const r = only(a.heard, "role.updated", from);
    expectPrevious(r, r.role, before.role);
    const p = only(a.heard, "permission.updated", from);
    expectPrevious(p, p.permission, before.permission);
  });
});

test("types: every *.updated event has a required previous of its entity's read shape", () => {
  type Of<T extends MirrorEvent["type"]> = Extract<MirrorEvent, { type: T }>;
  expectTypeOf<Of<"user.updated">["previous"]>().toEqualTypeOf<KindeUser>();
  expectTypeOf<Of<"organization.updated">["previous"]>().toEqualTypeOf<KindeOrganization>();
  expectTypeOf<Of<"role.updated">["previous"]>().toEqualTypeOf<KindeRole>();
  expectTypeOf<Of<"permission.updated">["previous"]>().toEqualTypeOf<KindePermission>();
  // Required, not optional; and absent from created and authenticated events.
  expectTypeOf<Pick<Of<"user.updated">, "previous">>().toEqualTypeOf<{ previous: KindeUser }>();
  expectTypeOf<Pick<Of<"role.updated">, "previous">>().toEqualTypeOf<{ previous: KindeRole }>();
  expectTypeOf<Of<"user.created">>().not.toHaveProperty("previous");
  expectTypeOf<Of<"user.authenticated">>().not.toHaveProperty("previous");
  expectTypeOf<Of<"organization.created">>().not.toHaveProperty("previous");
  expectTypeOf<Of<"role.created">>().not.toHaveProperty("previous");
  expectTypeOf<Of<"permission.created">>().not.toHaveProperty("previous");
});
