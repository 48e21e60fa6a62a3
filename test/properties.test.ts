/**
 * Property-based tests of the mirror's core promise: whatever order Kinde
 * delivers a set of events in, however often it retries them, and however
 * those deliveries overlap, the mirror ends in the same state, the one a
 * simple model gives:
 *
 * - per entity (user, organization, role, permission), the newest snapshot
 *   wins, newest meaning the greatest (event time, event_id);
 * - an entity with a delete event is gone, whatever the order: deletion is final;
 * - a user's memberships are its winning snapshot's, minus deleted
 *   organizations, roles and permissions, with each role's and permission's
 *   key the catalog's where the catalog knows the id;
 * - `lastSignedInAt` is the latest sign-in;
 * - every event is recorded once, and exactly one of its deliveries is
 *   answered with that record's outcome, every other one `duplicate`.
 *
 * Ids come from small pools so that events collide. `npm test` runs a fixed
 * list of seeds; `npm run test:fuzz` explores new ones (see propertyRuns.ts).
 */
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import {
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
  userAuthenticated,
  userCreated,
  userDeleted,
  userUpdated,
} from "convex-kinde/test";
import { api, internal } from "../example/convex/_generated/api.js";
import {
  anHourAgo,
  checkWrittenValues,
  initConvexTest,
  outcomeOf,
  postWebhook,
  useWebhookTest,
  type ExampleTest,
} from "./setup.js";
import { propertyRuns, type PropertyRun } from "./propertyRuns.js";

const app = useWebhookTest();

/**
 * The seeds `npm test` tries, and the cases each (see propertyRuns.ts): seeds
 * that passed. Each bug a seed found is pinned below as a named counterexample.
 */
const MIRROR_SEEDS = [-228310418, 404, 505];
const HISTORY_SEEDS = [-228310418, 404, 505];
/**
 * Runs one case on a fresh app and checks what it wrote against Convex's value
 * limits as the case ends, not once after the test: a run of thousands of
 * cases then holds one app at a time, and a violation names its case.
 */
async function withCaseApp(run: (t: ExampleTest) => Promise<void>) {
  await run(initConvexTest());
  await checkWrittenValues("a property case", []);
}

/** Generous: a case takes ~0.1 s, and a failing one is shrunk. */
const timeout = ([run]: PropertyRun[]) => 60_000 + run!.parameters.numRuns! * 2_000;

/** Convergence of the whole mirror, cases per seed: ~0.1 s a case. */
const MIRROR_RUNS = propertyRuns(MIRROR_SEEDS, 20);
/** Catalog histories with reused keys, cases per seed: ~0.025 s a case. */
const HISTORY_RUNS = propertyRuns(HISTORY_SEEDS, 70);

// ---------------------------------------------------------------------------
// The pools. Each role and permission has keys of its own (Kinde keys are
// unique), so a rename moves among three keys that no other id ever holds, and back.

const USERS = ["kp_prop_u0", "kp_prop_u1", "kp_prop_u2"] as const;
const ORGS = ["org_prop_0", "org_prop_1", "org_prop_2"] as const;
const ROLES = ["role-0", "role-1"] as const;
const PERMISSIONS = ["perm-0", "perm-1"] as const;
const keysOf = (id: string) => [`${id}:a`, `${id}:b`, `${id}:c`] as const;

type CatalogKind = "role" | "permission";
interface Ref {
  id: string;
  key: string;
}
interface MembershipSpec {
  code: string;
  roles: Ref[];
  permissions: Ref[];
}

/** What orders events: their time and their id. */
interface Stamp {
  /** ms after the run's base time (fractions are Kinde's microseconds). */
  offset: number;
  eventId: string;
}

type Spec =
  | (Stamp & {
      kind: "user";
      op: "created" | "updated";
      id: string;
      email: string | null;
      firstName: string | null;
      suspended: boolean;
      organizations: MembershipSpec[];
    })
  | (Stamp & { kind: "user"; op: "deleted" | "authenticated"; id: string })
  | (Stamp & {
      kind: "organization";
      op: "created" | "updated";
      id: string;
      name: string | null;
      allowRegistrations: boolean | null;
    })
  | (Stamp & { kind: "organization"; op: "deleted"; id: string })
  | (Stamp & {
      kind: CatalogKind;
      op: "created" | "updated";
      id: string;
      key: string;
      name: string | null;
      description: string | null;
      isDefaultRole: boolean;
    })
  | (Stamp & { kind: CatalogKind; op: "deleted"; id: string });

type SnapshotOf<K extends Spec["kind"]> = Extract<Spec, { kind: K; op: "created" | "updated" }>;

// ---------------------------------------------------------------------------
// Generators

/** Times on a coarse grid (so ties happen), with Kinde's microseconds sometimes set. */
const arbOffset = fc
  .tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom(0, 0.001))
  .map(([seconds, micros]) => seconds * 1000 + micros);

/**
 * A user's memberships: a subset of the organizations, each with a subset of
 * the roles and permissions. One snapshot sees one key per role or permission
 * (the key it had when Kinde took the snapshot), in every organization.
 */
const arbMemberships: fc.Arbitrary<MembershipSpec[]> = fc
  .record({
    keys: fc.tuple(...[...ROLES, ...PERMISSIONS].map((id) => fc.constantFrom(...keysOf(id)))),
    codes: fc.subarray([...ORGS]),
  })
  .chain(({ keys, codes }) => {
    const keyOf = new Map<string, string>(
      [...ROLES, ...PERMISSIONS].map((id, i) => [id, keys[i]!]),
    );
    const refs = (ids: readonly string[]) =>
      fc.subarray([...ids]).map((chosen) => chosen.map((id) => ({ id, key: keyOf.get(id)! })));
    return fc.tuple(
      ...codes.map((code) =>
        fc
          .tuple(refs(ROLES), refs(PERMISSIONS))
          .map(([roles, permissions]) => ({ code, roles, permissions })),
      ),
    );
  });

const arbName = fc.constantFrom<string | null>("Ada", "Grace", "", null);

/** One event, without its id (assigned once the stream is drawn, so ids are unique). */
const arbEvent: fc.Arbitrary<Omit<Spec, "eventId">> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("user" as const),
      op: fc.constant("updated" as const),
      id: fc.constantFrom(...USERS),
      offset: arbOffset,
      email: fc.constantFrom<string | null>("ada@example.com", "Ada@Example.COM", "", null),
      firstName: arbName,
      suspended: fc.boolean(),
      organizations: arbMemberships,
    }),
  },
  ...(["deleted", "authenticated"] as const).map((op) => ({
    weight: op === "deleted" ? 1 : 2,
    arbitrary: fc.record({
      kind: fc.constant("user" as const),
      op: fc.constant(op),
      id: fc.constantFrom(...USERS),
      offset: arbOffset,
    }),
  })),
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("organization" as const),
      op: fc.constant("updated" as const),
      id: fc.constantFrom(...ORGS),
      offset: arbOffset,
      name: fc.constantFrom<string | null>("Acme", "Acme Inc", "", null),
      allowRegistrations: fc.constantFrom<boolean | null>(true, false, null),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("organization" as const),
      op: fc.constant("deleted" as const),
      id: fc.constantFrom(...ORGS),
      offset: arbOffset,
    }),
  },
  ...(["role", "permission"] as const).flatMap((kind) => {
    const ids = kind === "role" ? ROLES : PERMISSIONS;
    return [
      {
        weight: 3,
        arbitrary: fc.constantFrom(...ids).chain((id) =>
          fc.record({
            kind: fc.constant(kind),
            op: fc.constant("updated" as const),
            id: fc.constant(id),
            key: fc.constantFrom(...keysOf(id)),
            offset: arbOffset,
            name: arbName,
            description: fc.constantFrom<string | null>("Does things", "", null),
            isDefaultRole: fc.boolean(),
          }),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant(kind),
          op: fc.constant("deleted" as const),
          id: fc.constantFrom(...ids),
          offset: arbOffset,
        }),
      },
    ];
  }),
);

/**
 * Kinde sends one `*.created` per entity, before its updates: the oldest
 * snapshot of each entity becomes its `created` event (the component treats
 * both alike; the example app's hooks do not).
 */
function asKindeSendsThem(events: Spec[]): Spec[] {
  const first = new Map<string, Spec>();
  for (const e of events) {
    if (e.op !== "updated") continue;
    const key = `${e.kind}:${e.id}`;
    const seen = first.get(key);
    if (!seen || newest([seen, e]) === seen) first.set(key, e);
  }
  const created = new Set(first.values());
  return events.map((e) => (created.has(e) ? ({ ...e, op: "created" } as Spec) : e));
}

/**
 * A stream: distinct events (ids unique, random so that ties in time break in
 * no particular order), then the deliveries, a permutation of all events plus
 * retries of some of them, in batches delivered concurrently.
 */
const arbStream = fc
  .array(fc.tuple(arbEvent, fc.integer({ min: 0, max: 0xfff })), { minLength: 1, maxLength: 24 })
  .chain((drawn) => {
    const events = asKindeSendsThem(
      drawn.map(
        ([event, tag], i) =>
          ({ ...event, eventId: `event_${tag.toString(16).padStart(3, "0")}_${i}` }) as Spec,
      ),
    );
    return arbDeliveries(events);
  });

/** Deliveries of `events`: each once, plus retries, in a random order and in concurrent batches. */
function arbDeliveries(events: Spec[]) {
  return fc.record({
    events: fc.constant(events),
    deliveries: fc.array(fc.nat(events.length - 1), { maxLength: events.length }).chain((retries) =>
      fc.shuffledSubarray([...events.keys(), ...retries], {
        minLength: events.length + retries.length,
      }),
    ),
    batchSizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 40 }),
  });
}

// ---------------------------------------------------------------------------
// Kinde payloads

function toPayload(spec: Spec, base: number): object {
  const options = { at: base + spec.offset, eventId: spec.eventId };
  switch (spec.kind) {
    case "user":
      switch (spec.op) {
        case "created":
        case "updated":
          return (spec.op === "created" ? userCreated : userUpdated)(
            {
              id: spec.id,
              email: spec.email,
              first_name: spec.firstName,
              is_suspended: spec.suspended,
              organizations: spec.organizations,
            },
            options,
          );
        case "deleted":
          return userDeleted(spec.id, options);
        case "authenticated":
          return userAuthenticated(spec.id, options);
      }
      break;
    case "organization":
      if (spec.op === "deleted") return organizationDeleted(spec.id, options);
      return (spec.op === "created" ? organizationCreated : organizationUpdated)(
        { code: spec.id, name: spec.name, is_allow_registrations: spec.allowRegistrations },
        options,
      );
    case "role":
      if (spec.op === "deleted") return roleDeleted(spec.id, options);
      return (spec.op === "created" ? roleCreated : roleUpdated)(
        {
          id: spec.id,
          key: spec.key,
          name: spec.name,
          description: spec.description,
          is_default_role: spec.isDefaultRole,
        },
        options,
      );
    case "permission":
      if (spec.op === "deleted") return permissionDeleted(spec.id, options);
      return (spec.op === "created" ? permissionCreated : permissionUpdated)(
        { id: spec.id, key: spec.key, name: spec.name, description: spec.description },
        options,
      );
  }
}

// ---------------------------------------------------------------------------
// The model

/** Newest by (time, event id), as docs/how-it-works.md, "Versions", says. */
function newest<T extends Stamp>(events: T[]): T | undefined {
  let best: T | undefined;
  for (const e of events) {
    if (!best || e.offset > best.offset || (e.offset === best.offset && e.eventId > best.eventId)) {
      best = e;
    }
  }
  return best;
}

/** `""` and `null` are absent fields: drop them, as the mirror stores optional fields. */
function present<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(fields).filter(
      ([, value]) => value !== undefined && value !== null && value !== "",
    ),
  ) as Partial<T>;
}

interface Expected {
  kindeUsers: Record<string, unknown>[];
  kindeMemberships: Record<string, unknown>[];
  kindeOrganizations: Record<string, unknown>[];
  kindeRoles: Record<string, unknown>[];
  kindePermissions: Record<string, unknown>[];
  tombstones: string[];
  /** The events that must have been applied whatever the order: each surviving entity's winner. */
  winners: string[];
}

function model(events: Spec[]): Expected {
  const of = <K extends Spec["kind"]>(kind: K, id: string) =>
    events.filter((e) => e.kind === kind && e.id === id);
  const deleted = (kind: Spec["kind"], id: string) => of(kind, id).some((e) => e.op === "deleted");
  const snapshots = <K extends Spec["kind"]>(kind: K, id: string) =>
    of(kind, id).filter((e) => e.op === "created" || e.op === "updated") as SnapshotOf<K>[];

  const winners: string[] = [];
  const tombstones: string[] = [];
  const catalog = {
    role: new Map<string, { key: string } & Stamp>(),
    permission: new Map<string, { key: string } & Stamp>(),
  };
  const catalogRows = {
    role: [] as Record<string, unknown>[],
    permission: [] as Record<string, unknown>[],
  };
  for (const kind of ["role", "permission"] as const) {
    for (const id of kind === "role" ? ROLES : PERMISSIONS) {
      if (deleted(kind, id)) {
        tombstones.push(`${kind}:${id}`);
        continue;
      }
      const winner = newest(snapshots(kind, id));
      if (!winner) continue;
      winners.push(winner.eventId);
      catalog[kind].set(id, winner);
      catalogRows[kind].push({
        kindeId: id,
        key: winner.key,
        ...present({ name: winner.name, description: winner.description }),
        ...(kind === "role" ? { isDefaultRole: winner.isDefaultRole } : {}),
        version: winner.eventId,
      });
    }
  }

  const organizations: Record<string, unknown>[] = [];
  for (const code of ORGS) {
    if (deleted("organization", code)) {
      tombstones.push(`organization:${code}`);
      continue;
    }
    const winner = newest(snapshots("organization", code));
    if (!winner) continue;
    winners.push(winner.eventId);
    organizations.push({
      code,
      ...present({ name: winner.name, isAllowRegistrations: winner.allowRegistrations }),
      version: winner.eventId,
    });
  }

  // A ref's key is the one from the newer of the two events that name it: the
  // user snapshot carrying it, or the catalog's own event for it.
  const current = (kind: CatalogKind, refs: Ref[], snapshot: Stamp) =>
    refs
      .filter((r) => !deleted(kind, r.id))
      .map((r) => {
        const entry = catalog[kind].get(r.id);
        return {
          kindeId: r.id,
          key: entry && newest([entry, snapshot]) === entry ? entry.key : r.key,
        };
      });

  const users: Record<string, unknown>[] = [];
  const memberships: Record<string, unknown>[] = [];
  for (const id of USERS) {
    if (deleted("user", id)) {
      tombstones.push(`user:${id}`);
      continue;
    }
    const signIns = of("user", id).filter((e) => e.op === "authenticated");
    const winner = newest(snapshots("user", id));
    if (!winner && signIns.length === 0) continue;
    const lastSignedIn = newest(signIns);
    const orgs = (winner?.organizations ?? [])
      .filter((m) => !deleted("organization", m.code))
      .map((m) => ({
        orgCode: m.code,
        roles: current("role", m.roles, winner!),
        permissions: current("permission", m.permissions, winner!),
      }));
    if (winner) winners.push(winner.eventId);
    users.push({
      kindeId: id,
      ...present({
        email: winner?.email,
        emailLower: winner?.email?.toLowerCase(),
        firstName: winner?.firstName,
      }),
      isSuspended: winner?.suspended ?? false,
      isPasswordResetRequested: false,
      ...(lastSignedIn ? { lastSignedInAt: lastSignedIn.offset } : {}),
      organizations: orgs,
      version: winner?.eventId ?? "",
    });
    for (const m of orgs) memberships.push({ kindeId: id, ...m });
  }

  return {
    kindeUsers: users,
    kindeMemberships: memberships,
    kindeOrganizations: organizations,
    kindeRoles: catalogRows.role,
    kindePermissions: catalogRows.permission,
    tombstones: tombstones.sort(),
    winners: winners.sort(),
  };
}

// ---------------------------------------------------------------------------
// Running a stream against a fresh app

interface Answer {
  eventId: string;
  status: number;
  text: string;
}

async function deliverStream(
  t: ExampleTest,
  stream: { events: Spec[]; deliveries: number[]; batchSizes: number[] },
  base: number,
): Promise<Answer[]> {
  const tokens = await Promise.all(
    stream.events.map(async (e) => await app.issuer.sign(toPayload(e, base))),
  );
  const deliver = async (i: number): Promise<Answer> => ({
    eventId: stream.events[i]!.eventId,
    ...(await postWebhook(t, tokens[i]!)),
  });
  const answers: Answer[] = [];
  for (let next = 0, k = 0; next < stream.deliveries.length; k++) {
    const size = stream.batchSizes[k % stream.batchSizes.length]!;
    const batch = stream.deliveries.slice(next, next + size);
    next += batch.length;
    answers.push(...(await Promise.all(batch.map(deliver))));
  }
  return answers;
}

const withoutSystemFields = ({ _id: _, _creationTime: __, ...doc }: Record<string, unknown>) => doc;

/** A row as the model writes it: no system fields, the version as its event id (times are parsed, so compared via the id). */
function comparable(doc: Record<string, unknown>) {
  const row = withoutSystemFields(doc);
  if (row.version && typeof row.version === "object") {
    row.version = (row.version as { eventId: string }).eventId;
  }
  return row;
}

const toMicros = (ms: number) => Math.round(ms * 1000) / 1000;

/** Rows compared as sets: ordered by their content, whatever the order of their fields. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${k}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}
const byContent = (a: unknown, b: unknown) => (canonical(a) < canonical(b) ? -1 : 1);

/**
 * Every delivery answered 200, and each event was handled exactly once: one
 * record per event, one of its deliveries answered with the outcome recorded,
 * every other one `duplicate`. Returns each event's recorded outcome.
 */
function expectEachEventOnce(
  events: Spec[],
  answers: Answer[],
  webhookEvents: Record<string, unknown>[],
): Map<string, string> {
  for (const answer of answers) {
    expect(answer.status, answer.text).toBe(200);
    expect(answer.text).toMatch(new RegExp(`^(applied|stale|duplicate) ${answer.eventId}\\n$`));
  }
  const firsts = answers.filter((a) => !a.text.startsWith("duplicate "));
  expect(firsts.map((a) => a.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
  expect(webhookEvents).toHaveLength(events.length);
  const recorded = new Map(webhookEvents.map((e) => [e.eventId as string, e.outcome as string]));
  for (const a of firsts) expect(recorded.get(a.eventId)).toBe(outcomeOf(a));
  return recorded;
}

async function checkConvergence(t: ExampleTest, events: Spec[], answers: Answer[], base: number) {
  await t.finishAllScheduledFunctions(() => {});
  const expected = model(events);
  // Sign-in times are stored absolute, parsed from Kinde's timestamps: compare to the microsecond.
  for (const u of expected.kindeUsers) {
    if (typeof u.lastSignedInAt === "number") u.lastSignedInAt = toMicros(base + u.lastSignedInAt);
  }
  const tables = await readKindeTables(t);
  for (const u of tables.kindeUsers) {
    if (typeof u.lastSignedInAt === "number") u.lastSignedInAt = toMicros(u.lastSignedInAt);
  }

  const recorded = expectEachEventOnce(events, answers, tables.webhookEvents);
  // The newest snapshot of each surviving entity was applied, whenever it arrived.
  for (const winner of expected.winners) expect(recorded.get(winner), winner).toBe("applied");

  // The mirror is the model.
  const sorted = (rows: Record<string, unknown>[]) => rows.map(comparable).sort(byContent);
  expect({
    kindeUsers: sorted(tables.kindeUsers),
    kindeMemberships: sorted(tables.kindeMemberships),
    kindeOrganizations: sorted(tables.kindeOrganizations),
    kindeRoles: sorted(tables.kindeRoles),
    kindePermissions: sorted(tables.kindePermissions),
    tombstones: tables.tombstones.map((r) => `${r.kind as string}:${r.entityId as string}`).sort(),
  }).toEqual({
    kindeUsers: sorted(expected.kindeUsers),
    kindeMemberships: sorted(expected.kindeMemberships),
    kindeOrganizations: sorted(expected.kindeOrganizations),
    kindeRoles: sorted(expected.kindeRoles),
    kindePermissions: sorted(expected.kindePermissions),
    tombstones: expected.tombstones,
  });

  // And so is what the host reads: profiles, members, and every authorization check.
  const modelUsers = new Map(expected.kindeUsers.map((u) => [u.kindeId as string, u]));
  for (const kindeId of USERS) {
    const user = modelUsers.get(kindeId);
    const got = await t.query(internal.users.byKindeId, { kindeId });
    if (!user) {
      expect(got).toBeNull();
      continue;
    }
    const { emailLower: _, version: __, organizations, ...profile } = user;
    expect(got).toEqual({
      ...profile,
      organizations: (organizations as { orgCode: string; roles: Ref[]; permissions: Ref[] }[]).map(
        (m) => ({
          orgCode: m.orgCode,
          roles: m.roles.map((r) => r.key),
          permissions: m.permissions.map((p) => p.key),
        }),
      ),
    });
  }
  for (const orgCode of ORGS) {
    const members = await t.query(internal.organizations.members, {
      orgCode,
      paginationOpts: { numItems: 100, cursor: null },
    });
    expect(members.page.map((m) => m.kindeId).sort()).toEqual(
      expected.kindeMemberships
        .filter((m) => m.orgCode === orgCode)
        .map((m) => m.kindeId)
        .sort(),
    );
  }
  for (const kindeId of USERS) {
    const user = modelUsers.get(kindeId);
    for (const orgCode of ORGS) {
      const membership = (
        user?.organizations as { orgCode: string; roles: Ref[]; permissions: Ref[] }[] | undefined
      )?.find((m) => m.orgCode === orgCode);
      const holds = (refs: Ref[] | undefined, key: string) =>
        !!user && !user.isSuspended && !!refs?.some((r) => r.key === key);
      for (const role of ROLES.flatMap(keysOf)) {
        expect(
          await t.query(internal.organizations.hasRole, { kindeId, orgCode, role }),
          `hasRole ${kindeId} ${orgCode} ${role}`,
        ).toBe(holds(membership?.roles, role));
      }
      for (const permission of PERMISSIONS.flatMap(keysOf)) {
        expect(
          await t.query(internal.organizations.hasPermission, { kindeId, orgCode, permission }),
          `hasPermission ${kindeId} ${orgCode} ${permission}`,
        ).toBe(holds(membership?.permissions, permission));
      }
    }
  }
}

describe("convergence", () => {
  test.each(MIRROR_RUNS)(
    "any order, retries and overlap of user, organization, role and permission events converge to the model (seed $seed)",
    async ({ parameters }) => {
      await fc.assert(
        fc.asyncProperty(arbStream, async (stream) => {
          await withCaseApp(async (t) => {
            const base = Date.now() - 30 * 60_000;
            const answers = await deliverStream(t, stream, base);
            await checkConvergence(t, stream.events, answers, base);
          });
        }),
        parameters,
      );
    },
    timeout(MIRROR_RUNS),
  );
});

// ---------------------------------------------------------------------------
// Keys reused across roles. Kinde keys are unique at any one time, but a key
// freed by a delete or a rename can be taken by another role. Here the events
// come from a consistent Kinde history (times increase, a key is held by one
// role at a time), delivered in any order: the mirror must end as the history does.

const REUSED_KEYS = ["admin", "member", "viewer"] as const;
const HOLDER = "kp_prop_holder";
const HOLDER_ORG = "org_prop_holder";

interface History {
  events: Spec[];
  /** The roles alive at the end, by id, with their final key. */
  roles: Map<string, string>;
  /** The roles in the holder's last snapshot, if any. */
  held: Ref[] | undefined;
}

interface HistoryOp {
  op: "create" | "rename" | "delete" | "snapshot";
  /** Which live role a rename or delete picks. */
  pick: number;
  /** Which free key a create or rename takes. */
  key: number;
}

const arbHistoryOps: fc.Arbitrary<HistoryOp[]> = fc.array(
  fc.record({
    op: fc.constantFrom("create", "rename", "delete", "snapshot"),
    pick: fc.nat(7),
    key: fc.nat(2),
  }),
  { minLength: 2, maxLength: 16 },
);

/** Plays Kinde's side: each step is one event, a second after the previous one. */
function playHistory(ops: HistoryOp[]): History {
  const roles = new Map<string, string>();
  const events: Spec[] = [];
  let held: Ref[] | undefined;
  let created = 0;
  for (const step of ops) {
    const stamp = { offset: events.length * 1000, eventId: `event_h${events.length}` };
    const free = REUSED_KEYS.filter((k) => ![...roles.values()].includes(k));
    const alive = [...roles.keys()];
    const picked = alive[step.pick % Math.max(alive.length, 1)];
    const freeKey = free[step.key % Math.max(free.length, 1)];
    const role = (op: "created" | "updated", id: string, key: string): Spec => ({
      ...stamp,
      kind: "role",
      op,
      id,
      key,
      name: null,
      description: null,
      isDefaultRole: false,
    });
    if (step.op === "create" && freeKey) {
      const id = `role-h${created++}`;
      roles.set(id, freeKey);
      events.push(role("created", id, freeKey));
    } else if (step.op === "rename" && picked && freeKey) {
      roles.set(picked, freeKey);
      events.push(role("updated", picked, freeKey));
    } else if (step.op === "delete" && picked) {
      roles.delete(picked);
      events.push({ ...stamp, kind: "role", op: "deleted", id: picked });
    } else if (step.op === "snapshot") {
      const refs = [...roles].map(([id, key]) => ({ id, key }));
      events.push({
        ...stamp,
        kind: "user",
        op: held ? "updated" : "created",
        id: HOLDER,
        email: null,
        firstName: null,
        suspended: false,
        organizations: [{ code: HOLDER_ORG, roles: refs, permissions: [] }],
      });
      held = refs;
    }
  }
  return { events, roles, held };
}

const arbHistory = arbHistoryOps
  .map((ops) => playHistory(ops))
  .filter((h) => h.events.length > 0)
  .chain((history) => arbDeliveries(history.events).map((stream) => ({ ...stream, history })));

describe("keys reused across roles", () => {
  test.each(HISTORY_RUNS)(
    "a key freed by a delete or rename and taken by another role: any delivery order ends as Kinde's history does (seed $seed)",
    async ({ parameters }) => {
      await fc.assert(
        fc.asyncProperty(arbHistory, async (stream) => {
          await withCaseApp(async (t) => {
            const base = Date.now() - 30 * 60_000;
            const answers = await deliverStream(t, stream, base);
            await t.finishAllScheduledFunctions(() => {});
            const { roles, held } = stream.history;
            const tables = await readKindeTables(t);
            expectEachEventOnce(stream.events, answers, tables.webhookEvents);

            expect(
              tables.kindeRoles.map((r) => `${r.kindeId as string}=${r.key as string}`).sort(),
            ).toEqual([...roles].map(([id, key]) => `${id}=${key}`).sort());
            expect(await t.query(api.organizations.roles, {})).toEqual(
              [...roles]
                .sort(([, a], [, b]) => (a < b ? -1 : 1))
                .map(([kindeId, key]) => ({ kindeId, key, isDefaultRole: false })),
            );
            const user = await t.query(internal.users.byKindeId, { kindeId: HOLDER });
            const keysHeld = (held ?? []).flatMap((r) => roles.get(r.id) ?? []);
            if (held) {
              expect(user?.organizations).toEqual([
                { orgCode: HOLDER_ORG, roles: keysHeld, permissions: [] },
              ]);
            } else {
              expect(user).toBeNull();
            }
            for (const role of REUSED_KEYS) {
              expect(
                await t.query(internal.organizations.hasRole, {
                  kindeId: HOLDER,
                  orgCode: HOLDER_ORG,
                  role,
                }),
                `hasRole ${role}`,
              ).toBe(keysHeld.includes(role));
            }
          });
        }),
        parameters,
      );
    },
    timeout(HISTORY_RUNS),
  );
});

// ---------------------------------------------------------------------------
// The smallest counterexamples the properties found, as plain tests.

describe("counterexamples", () => {
  const deliverAll = async (t: ExampleTest, payloads: object[]) => {
    for (const payload of payloads) {
      const answer = await postWebhook(t, await app.issuer.sign(payload));
      expect(answer.status, answer.text).toBe(200);
    }
    await t.finishAllScheduledFunctions(() => {});
  };
  const at = (seconds: number) => ({ at: anHourAgo() + seconds * 1000 });

  test("a role first seen after a user snapshot that holds it under an older key: the membership shows the catalog's key", async () => {
    const t = initConvexTest();
    const role = { id: "role-renamed", key: "editor" };
    await deliverAll(t, [
      // Kinde: role created as "editor", the user given it, the role renamed "writer";
      // the role.created is delivered last (or lost).
      userCreated(
        { id: HOLDER, organizations: [{ code: HOLDER_ORG, roles: [role], permissions: null }] },
        at(2),
      ),
      roleUpdated({ id: role.id, key: "writer" }, at(3)),
      roleCreated(role, at(1)),
    ]);
    expect(await t.query(api.organizations.roles, {})).toMatchObject([
      { kindeId: role.id, key: "writer" },
    ]);
    expect(
      await t.query(internal.organizations.hasRole, {
        kindeId: HOLDER,
        orgCode: HOLDER_ORG,
        role: "writer",
      }),
    ).toBe(true);
    expect((await t.query(internal.users.byKindeId, { kindeId: HOLDER }))?.organizations).toEqual([
      { orgCode: HOLDER_ORG, roles: ["writer"], permissions: [] },
    ]);
    const { kindeMemberships } = await readKindeTables(t);
    expect(kindeMemberships).toMatchObject([{ roles: [{ kindeId: role.id, key: "writer" }] }]);
  });

  test("a late role.created of a deleted role does not evict the newer role that took its key", async () => {
    const t = initConvexTest();
    // Kinde: "admin" created (old), deleted, then a new role created with the key "admin".
    await deliverAll(t, [
      roleCreated({ id: "role-new", key: "admin" }, at(3)),
      roleCreated({ id: "role-old", key: "admin" }, at(1)),
      roleDeleted("role-old", at(2)),
    ]);
    expect(await t.query(api.organizations.roles, {})).toEqual([
      { kindeId: "role-new", key: "admin", name: "admin", isDefaultRole: false },
    ]);
  });
});
