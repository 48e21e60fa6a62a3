/// <reference types="vite/client" />
// The example app read as an attacker reads it: anyone with the deployment's URL can call every
// public function, signed in or not, with any arguments. The attack finds the public functions
// by loading example/convex's modules (a new one is attacked without being listed here), builds
// arguments from each function's validator that name a victim (another user, organization and
// document), and calls each one signed out and as a user of another organization. It fails on
// any answer that carries the victim's data, any answer that differs from the answer about a
// user, organization and document that do not exist (an oracle: "is this address a customer?",
// "does this user hold admin there?"), and any write.
import { describe, expect, test } from "vitest";
import {
  makeFunctionReference,
  mutationGeneric,
  paginationOptsValidator,
  queryGeneric,
} from "convex/server";
import { ConvexError, v, type Value } from "convex/values";
import {
  kindeOrgCode,
  kindeUserId,
  kindeUuid,
  organizationCreated,
  readKindeTables,
  userAuthenticated,
  userCreated,
} from "convex-kinde/test";
import { api } from "../example/convex/_generated/api.js";
import type { Id } from "../example/convex/_generated/dataModel.js";
import schema from "../example/convex/schema.js";
import { kinde, orgQuery } from "../example/convex/kinde.js";
import { initConvexTest, postWebhook, useWebhookTest, type ExampleTest } from "./setup.js";

const app = useWebhookTest();

/** Convex's JSON form of a validator, as a registered function's `exportArgs()` gives it. */
type ValidatorJson =
  | { type: "object"; value: Record<string, { fieldType: ValidatorJson; optional: boolean }> }
  | { type: "array"; value: ValidatorJson }
  | { type: "union"; value: ValidatorJson[] }
  | { type: "record"; keys: ValidatorJson; values: { fieldType: ValidatorJson } }
  | { type: "literal"; value: Value }
  | { type: "id"; tableName: string }
  | { type: "string" | "number" | "bigint" | "boolean" | "null" | "bytes" | "any" };

/** A public function of a module, as the deployment would expose it. */
interface PublicFunction {
  path: string;
  kind: "query" | "mutation" | "action";
  args: ValidatorJson;
}

/** The flags convex/server sets on what `query`, `mutation` and `action` register. */
interface RegisteredFunction {
  isQuery?: boolean;
  isMutation?: boolean;
  isAction?: boolean;
  isPublic?: boolean;
  exportArgs: () => string;
}

/** Every public query, mutation and action the modules export, by `module:name`. */
function publicFunctions(modules: Record<string, Record<string, unknown>>): PublicFunction[] {
  return Object.entries(modules).flatMap(([file, exports]) =>
    Object.entries(exports).flatMap(([name, value]): PublicFunction[] => {
      const fn = value as Partial<RegisteredFunction> | null;
      if (!fn?.isPublic || !fn.exportArgs) return [];
      const kind = fn.isQuery
        ? "query"
        : fn.isMutation
          ? "mutation"
          : fn.isAction
            ? "action"
            : null;
      if (!kind) return [];
      const module = file.replace(/^.*\/|\.ts$/g, "");
      return [{ path: `${module}:${name}`, kind, args: JSON.parse(fn.exportArgs()) }];
    }),
  );
}

/** Every module of example/convex but its configuration (which only Convex's bundler loads). */
const exampleModules = import.meta.glob<Record<string, unknown>>(
  [
    "../example/convex/*.ts",
    "!../example/convex/convex.config.ts",
    "!../example/convex/auth.config.ts",
  ],
  { eager: true },
);

/** Whom the hostile arguments name: a user, their organization, and a document of each table. */
interface Target {
  kindeId: string;
  orgCode: string;
  email: string;
  ids: Record<string, string>;
}

/**
 * The sets of optional arguments to give: all, none, and each alone (`can` takes exactly one of
 * `permission` and `role`; a default taken from the token only shows when the argument is left out).
 */
function optionalChoices(args: ValidatorJson): Set<string>[] {
  if (args.type !== "object") return [new Set()];
  const optional = Object.keys(args.value).filter((name) => args.value[name]!.optional);
  const choices = [
    new Set(optional),
    new Set<string>(),
    ...optional.map((name) => new Set([name])),
  ];
  return choices.filter(
    (choice, i) => choices.findIndex((c) => [...c].join() === [...choice].join()) === i,
  );
}

/**
 * A function's arguments naming `target`. A function without an argument validator takes
 * anything: it gets each of the target's identifiers under the names they usually have.
 */
function hostileArgs(json: ValidatorJson, target: Target, optional: Set<string>): Value {
  if (json.type === "any") {
    const { kindeId, orgCode, email, ids } = target;
    return { kindeId, orgCode, code: orgCode, email, id: ids["documents"] ?? null };
  }
  return hostileValue(json, target, "", optional);
}

/**
 * Arguments for a validator that name `target` wherever they can: ids and codes by field name,
 * a document of the table for `v.id`. Other strings name the user. At the top level, the
 * optional fields given are those in `optional`; below it, all.
 */
function hostileValue(
  json: ValidatorJson,
  target: Target,
  field = "",
  optional?: Set<string>,
): Value {
  switch (json.type) {
    case "object": {
      const fields = json.value;
      if ("numItems" in fields && "cursor" in fields) return { numItems: 100, cursor: null };
      return Object.fromEntries(
        Object.entries(fields)
          .filter(
            ([name, { optional: isOptional }]) => !isOptional || (optional?.has(name) ?? true),
          )
          .map(([name, { fieldType }]) => [name, hostileValue(fieldType, target, name)]),
      );
    }
    case "string":
      if (/orgCode|^code$/i.test(field)) return target.orgCode;
      if (/email/i.test(field)) return target.email;
      if (field === "role") return "admin";
      if (field === "permission") return "publish:docs";
      return target.kindeId;
    case "id": {
      const id = target.ids[json.tableName];
      if (id === undefined) throw new Error(`no ${json.tableName} document to name: add one`);
      return id;
    }
    case "array":
      return [hostileValue(json.value, target, field)];
    case "union":
      return hostileValue(
        json.value.find((m) => m.type !== "null") ?? json.value[0]!,
        target,
        field,
      );
    case "literal":
      return json.value;
    case "record":
      return {};
    case "number":
      return 1;
    case "bigint":
      return 1n;
    case "boolean":
      return true;
    case "null":
      return null;
    case "bytes":
      return new ArrayBuffer(0);
    case "any":
      return target.kindeId;
  }
}

/** The world an attack runs in: the victim, someone who does not exist, and the attacker. */
interface World {
  victim: Target;
  ghost: Target;
  /** What the victim's data holds that no argument names: it must never come back. */
  victimSecrets: string[];
  /** Users of another organization: its admin, and a member holding nothing there. */
  outsiders: { admin: string; member: string; orgCode: string };
}

const ADMIN = { id: kindeUuid(), key: "admin" };
const PUBLISH = { id: kindeUuid(), key: "publish:docs" };
const READ = { id: kindeUuid(), key: "read:docs" };

/**
 * The victim (an admin of their organization, with an email, a phone, a sign-in, a document and
 * an app profile) and the outsiders (an admin of another organization, with a document of their
 * own, and a member of it), delivered as signed webhooks; and a ghost: ids of the same shapes
 * that name nothing.
 */
async function populate(t: ExampleTest): Promise<World> {
  const deliver = async (payload: object) => {
    const { status, text } = await postWebhook(t, await app.issuer.sign(payload));
    expect(status, text).toBe(200);
  };
  const victimOrg = kindeOrgCode();
  const outsiderOrg = kindeOrgCode();
  const victimId = kindeUserId();
  const outsiderId = kindeUserId();
  const outsiderMember = kindeUserId();
  const email = `vera.${kindeUuid().slice(0, 8)}@victim.example`;
  const allKeys = { roles: [ADMIN], permissions: [PUBLISH, READ] };
  await deliver(organizationCreated({ code: victimOrg, name: "Victim Holdings" }));
  await deliver(organizationCreated({ code: outsiderOrg, name: "Outsider Ltd" }));
  await deliver(
    userCreated({
      id: victimId,
      email,
      phone: "+61400111222",
      first_name: "Vera",
      last_name: "Quillfeather",
      organizations: [{ code: victimOrg, ...allKeys }],
    }),
  );
  await deliver(
    userCreated({
      id: outsiderId,
      email: "mallory@outsider.example",
      organizations: [{ code: outsiderOrg, ...allKeys }],
    }),
  );
  await deliver(
    userCreated({
      id: outsiderMember,
      email: "eve@outsider.example",
      organizations: [{ code: outsiderOrg, roles: [], permissions: [] }],
    }),
  );
  // The victim signs in last: the newest event in the log is about them.
  await deliver(userAuthenticated(victimId));
  const title = "Victim Holdings: acquisition shortlist";
  const document = await t
    .withIdentity({ subject: victimId })
    .mutation(api.documents.publish, { orgCode: victimOrg, title });
  await t
    .withIdentity({ subject: outsiderId })
    .mutation(api.documents.publish, { orgCode: outsiderOrg, title: "Outsider's own notes" });

  const { profile, ghostIds } = await t.run(async (ctx) => {
    const profile = await ctx.db
      .query("profiles")
      .withIndex("kindeId", (q) => q.eq("kindeId", victimId))
      .unique();
    // Ids of the right tables that name no document any more.
    const ghostDocument = await ctx.db.insert("documents", {
      orgCode: "org_ghost",
      title: "",
      publishedBy: "",
    });
    const ghostProfile = await ctx.db.insert("profiles", { kindeId: "", displayName: "" });
    await ctx.db.delete("documents", ghostDocument);
    await ctx.db.delete("profiles", ghostProfile);
    return { profile, ghostIds: { documents: ghostDocument, profiles: ghostProfile } };
  });
  expect(profile?.displayName).toBe("Vera Quillfeather");
  return {
    victim: {
      kindeId: victimId,
      orgCode: victimOrg,
      email,
      ids: { documents: document, profiles: profile!._id },
    },
    ghost: {
      kindeId: kindeUserId(),
      orgCode: kindeOrgCode(),
      email: `nobody.${kindeUuid().slice(0, 8)}@victim.example`,
      ids: ghostIds,
    },
    victimSecrets: ["+61400111222", "Vera", "Quillfeather", "Victim Holdings", title],
    outsiders: { admin: outsiderId, member: outsiderMember, orgCode: outsiderOrg },
  };
}

/** Everything stored: the app's tables, the component's, and what is scheduled. */
async function snapshot(t: ExampleTest) {
  const own = await t.run(async (ctx) => ({
    tables: Object.fromEntries(
      await Promise.all(
        Object.keys(schema.tables).map(async (table) => [
          table,
          await ctx.db.query(table as "documents").collect(),
        ]),
      ),
    ),
    scheduled: await ctx.db.system.query("_scheduled_functions").collect(),
  }));
  return JSON.stringify({ ...own, kinde: await readKindeTables(t) });
}

/** What a call came to, as text: its result, or its refusal or error. */
async function outcome(
  caller: Pick<ExampleTest, "query" | "mutation" | "action">,
  fn: PublicFunction,
  args: Value,
): Promise<{ ok: boolean; text: string }> {
  const reference = makeFunctionReference<typeof fn.kind>(fn.path);
  try {
    const result: unknown = await (caller[fn.kind] as (r: unknown, a: unknown) => unknown)(
      reference,
      args,
    );
    return { ok: true, text: JSON.stringify(result ?? null) };
  } catch (error) {
    if (error instanceof ConvexError) return { ok: false, text: JSON.stringify(error.data) };
    return { ok: false, text: error instanceof Error ? error.message : String(error) };
  }
}

/** `text` with each of the ghost's identifiers written as the victim's counterpart. */
function asVictim(text: string, { victim, ghost }: World): string {
  const pairs: [string, string][] = [
    [ghost.kindeId, victim.kindeId],
    [ghost.orgCode, victim.orgCode],
    [ghost.email, victim.email],
    ...Object.entries(ghost.ids).map(([table, id]): [string, string] => [id, victim.ids[table]!]),
  ];
  return pairs.reduce((out, [from, to]) => out.split(from).join(to), text);
}

/**
 * Calls each function signed out and as each outsider, once naming the victim and once the
 * ghost, and returns what gave something away, one line each. Neither outsider can write
 * anything of their own with these calls (the member holds nothing; the admin's ID token names no
 * organization, so every organization they act in is one the arguments name): any write is a
 * finding.
 */
async function attack(t: ExampleTest, functions: PublicFunction[], world: World) {
  const { admin, member, orgCode } = world.outsiders;
  const callers = {
    "signed out": t,
    "a member of another organization, signed in to it": t.withIdentity({
      subject: member,
      org_code: orgCode,
    }),
    "an admin of another organization": t.withIdentity({ subject: admin }),
  };
  const named = [world.victim.kindeId, world.victim.orgCode, world.victim.email];
  const findings: string[] = [];
  for (const fn of functions) {
    for (const [who, caller] of Object.entries(callers)) {
      for (const optional of optionalChoices(fn.args)) {
        const args = hostileArgs(fn.args, world.victim, optional);
        const found = (problem: string) =>
          findings.push(`${fn.path} (${who}, ${JSON.stringify(args)}): ${problem}`);
        const before = await snapshot(t);
        const aboutVictim = await outcome(caller, fn, args);
        const aboutGhost = await outcome(caller, fn, hostileArgs(fn.args, world.ghost, optional));
        if ((await snapshot(t)) !== before) found("wrote to the database");
        if (/ArgumentValidationError|Validator error/.test(aboutVictim.text)) {
          found(`the attack's arguments do not pass its validator: ${aboutVictim.text}`);
        }
        // A refusal may repeat the ids the caller passed; nothing else about the victim.
        const leaked = [...world.victimSecrets, ...(aboutVictim.ok ? named : [])].filter((secret) =>
          aboutVictim.text.includes(secret),
        );
        if (leaked.length > 0) found(`returned the victim's ${leaked.join(", ")}`);
        if (asVictim(aboutGhost.text, world) !== aboutVictim.text) {
          found(
            `answers about the victim (${aboutVictim.text.slice(0, 200)}) otherwise than about ` +
              `no one (${aboutGhost.text.slice(0, 200)})`,
          );
        }
      }
    }
  }
  return findings;
}

describe("the example read as an attacker", () => {
  const functions = publicFunctions(exampleModules);

  test("the attack finds the example's public functions, and only those", () => {
    const paths = functions.map((fn) => fn.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "users:me",
        "users:myProfile",
        "kindeUser:can",
        "documents:publish",
        "documents:remove",
        "documents:list",
        "diagnostics:syncSummary",
      ]),
    );
    for (const internal of ["users:byEmail", "organizations:hasRole", "diagnostics:recentEvents"]) {
      expect(paths).not.toContain(internal);
    }
  });

  test("no public function gives away another user's or organization's data, or writes", async () => {
    const world = await populate(app.t);
    expect(await attack(app.t, functions, world)).toEqual([]);
    expect(await app.t.query(api.diagnostics.syncSummary, {})).toEqual({
      users: 3,
      organizations: 2,
      unappliedEvents: 0,
      lastEventAt: expect.any(Number) as number,
    });

    // The same functions serve their own users: the victim reads what the attack could not.
    const asVictim = app.t.withIdentity({ subject: world.victim.kindeId });
    expect(await asVictim.query(api.users.me, {})).toMatchObject({ phone: "+61400111222" });
    expect(await asVictim.query(api.documents.list, { orgCode: world.victim.orgCode })).toEqual([
      expect.objectContaining({ title: "Victim Holdings: acquisition shortlist" }),
    ]);
  });

  test("the attack catches the leaks the example used to have", async () => {
    // What the example and the README exported before: each gives something away.
    const leaky = {
      byEmail: queryGeneric({
        args: { email: v.string() },
        handler: async (ctx, { email }) => await kinde.getUserByEmail(ctx, email),
      }),
      isCustomer: queryGeneric({
        args: { email: v.string() },
        handler: async (ctx, { email }) => (await kinde.getUserByEmail(ctx, email)) !== null,
      }),
      hasRole: queryGeneric({
        args: { orgCode: v.string(), role: v.string(), kindeId: v.optional(v.string()) },
        handler: async (ctx, args) => await kinde.hasRole(ctx, args),
      }),
      members: queryGeneric({
        args: { orgCode: v.string(), paginationOpts: paginationOptsValidator },
        handler: async (ctx, args) => await kinde.listOrganizationMembers(ctx, args),
      }),
      recentEvents: queryGeneric({
        args: { paginationOpts: paginationOptsValidator },
        handler: async (ctx, { paginationOpts }) => await kinde.listEvents(ctx, { paginationOpts }),
      }),
      lastEventAbout: queryGeneric({
        args: {},
        handler: async (ctx) => (await kinde.getSyncStatus(ctx)).lastEvent?.entityId ?? null,
      }),
      documents: orgQuery({
        args: {},
        handler: async (ctx) =>
          await ctx.db
            .query("documents")
            .withIndex("orgCode", (q) => q.eq("orgCode", ctx.kinde.orgCode!))
            .take(100),
      }),
      remove: mutationGeneric({
        args: { id: v.id("documents") },
        handler: async (ctx, { id }) => {
          const doc = await ctx.db.get("documents", id as Id<"documents">);
          if (!doc) return null;
          await kinde.requireRole(ctx, { orgCode: doc.orgCode, role: "admin" });
          await ctx.db.delete("documents", id as Id<"documents">);
          return null;
        },
      }),
      retitle: mutationGeneric({
        args: { id: v.id("documents"), title: v.string() },
        handler: async (ctx, { id, title }) => {
          await ctx.db.patch("documents", id as Id<"documents">, { title });
          return null;
        },
      }),
    };
    const t = initConvexTest({ "./leaky.ts": async () => leaky });
    const world = await populate(t);
    const findings = await attack(t, publicFunctions({ "./leaky.ts": leaky }), world);
    const caught = new Set(findings.map((line) => line.replace(/^leaky:(\w+) .*$/s, "$1")));
    expect([...caught].sort()).toEqual(Object.keys(leaky).sort());
    // Signed out, the custom function refuses; a signed-in outsider reads the victim's documents.
    const documents = findings.filter((line) => line.startsWith("leaky:documents "));
    expect(documents.length).toBeGreaterThan(0);
    for (const line of documents) expect(line).not.toMatch(/\(signed out, /);
    expect(documents.join("\n")).toContain("returned the victim's Victim Holdings");
  });
});
