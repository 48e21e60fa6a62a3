/**
 * `npm run demo`: an offline tour of convex-kinde. A local stand-in for Kinde
 * signs a realistic stream of webhook events (RS256, Kinde-style kid) and
 * serves its key set on 127.0.0.1; the example app in example/convex runs in
 * convex-test and receives each one on POST /kinde/webhook. After each step
 * the tour prints what the webhook answered and what the app now reads, and
 * asserts that both are what the narration promised: any surprise fails the
 * run (non-zero exit).
 *
 * Run with `vitest run --config vitest.demo.config.ts` (Vite transforms the
 * example app and the test kit).
 */
import { expect, test, vi } from "vitest";
import {
  customerEvent,
  kindeCustomerId,
  kindeOrgCode,
  kindeUserId,
  kindeUuid,
  organizationCreated,
  permissionCreated,
  readKindeTables,
  roleCreated,
  startKindeManagementApi,
  startKindeTestIssuer,
  userAuthenticated,
  userCreated,
  userDeleted,
  userUpdated,
  type KindeTestIssuer,
  type KindeUserPayload,
  type ManagementApiStandIn,
} from "convex-kinde/test";
import {
  isKindeAuthorizationError,
  type BackfillResult,
  type DoctorReport,
  type KindeAuthorizationErrorData,
  type KindeUser,
  type SetupResult,
} from "convex-kinde";
import { api, components, internal } from "../example/convex/_generated/api.js";
import { initConvexTest, outcomeOf, type ExampleTest } from "../test/setup.js";

// ---------------------------------------------------------------- output

const color = process.env.CONVEX_KINDE_DEMO_COLOR === "1";
const style = (open: number, close: number) => (text: string) =>
  color ? `\x1b[${open}m${text}\x1b[${close}m` : text;
const bold = style(1, 22);
const dim = style(2, 22);
const red = style(31, 39);
const green = style(32, 39);
const yellow = style(33, 39);
const cyan = style(36, 39);

/** The terminal's width (vitest.demo.config.ts passes it on), within reason. */
const WIDTH = Math.min(100, Math.max(72, Number(process.env.CONVEX_KINDE_DEMO_COLUMNS) || 100));
const INDENT = "   ";
const LABEL = 9;

/**
 * Word-wraps plain `text` to WIDTH after the prefix `first`; continuation lines
 * are indented by `hang` spaces.
 */
function wrap(text: string, first: string, hang: number): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(" ")) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = " ".repeat(hang);
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  lines.push(line);
  return lines;
}

const print = (...lines: string[]) => console.log(lines.join("\n"));

// ---------------------------------------------------------------- the tenant

const MINUTE = 60_000;

interface Cast {
  ada: string;
  acme: string;
  editorRole: { id: string; key: string };
  publishPermission: { id: string; key: string };
}

/** The tour's running state: the app, the stand-in for Kinde, and what was seen so far. */
class Tour {
  readonly now = Date.now();
  readonly tally = new Map<string, number>();
  deliveries = 0;
  step = 0;
  private previousState: string[] = [];

  constructor(
    readonly t: ExampleTest,
    readonly cast: Cast,
  ) {}

  /** Event time `minutes` before the tour started. */
  ago(minutes: number) {
    return { at: this.now - minutes * MINUTE };
  }

  get asAda() {
    return this.t.withIdentity({ subject: this.cast.ada });
  }

  /** Runs one narrated step; `promise` is printed as ✓ when `body` passes, ✗ and rethrown when not. */
  async run(title: string, narration: string, promise: string, body: () => Promise<void>) {
    this.step++;
    print("", bold(`${String(this.step).padStart(2)}. ${title}`), ...wrap(narration, INDENT, 3));
    try {
      await body();
    } catch (error) {
      const message = error instanceof Error ? error.message.split("\n")[0]! : String(error);
      print(...wrap(`✗ ${promise}: ${message}`, INDENT, 5).map(red));
      throw error;
    }
    print(...wrap(`✓ ${promise}`, INDENT, 5).map(green));
  }

  /**
   * POSTs `token` to the webhook as Kinde does, prints the answer, and asserts
   * its status and body. A retry reuses its delivery's `webhookId`, as Kinde's do.
   */
  async deliver(
    what: string,
    token: string,
    expected: { status: number; body: RegExp },
    webhookId = `msg_${kindeUuid()}`,
  ) {
    const response = await this.t.fetch("/kinde/webhook", {
      method: "POST",
      headers: { "content-type": "application/jwt", "webhook-id": webhookId },
      body: token,
    });
    const text = (await response.text()).trim();
    this.deliveries++;
    const ok = response.status === expected.status && expected.body.test(text);
    const kind = response.status === 200 ? outcomeOf({ text }) : `refused (${response.status})`;
    this.tally.set(kind, (this.tally.get(kind) ?? 0) + 1);
    const head = `${INDENT}→ ${what.padEnd(20)} ← `;
    const [first, ...rest] = wrap(`${response.status} ${text}`, head, head.length).map((line) =>
      line.slice(head.length),
    );
    const paint = !ok ? red : response.status === 200 ? green : yellow;
    print(
      `${INDENT}→ ${cyan(what.padEnd(20))} ← ${paint(first!)}`,
      ...rest.map((line) => " ".repeat(head.length) + paint(line)),
    );
    if (!ok)
      throw new Error(`expected ${expected.status} ${expected.body}, got ${response.status}`);
    return text;
  }

  /** What the app reads now, printed with unchanged lines dimmed; returned for assertions. */
  async state() {
    const { ada, acme } = this.cast;
    const user = await this.t.query(internal.users.byKindeId, { kindeId: ada });
    const me = await this.asAda.query(api.users.me, {});
    expect(me, "api.users.me as Ada is internal.users.byKindeId").toEqual(user);
    const mayPublish = await this.asAda.query(api.kindeUser.can, {
      orgCode: acme,
      permission: "publish:docs",
    });
    const profile = await this.t.query(internal.users.profile, { kindeId: ada });
    const { page: log } = await this.t.query(internal.diagnostics.recentEvents, {
      paginationOpts: { numItems: 3, cursor: null },
    });

    const lines = [
      ["user", user ? describeUser(user, this.now) : "none: not in the mirror"],
      ["orgs", user ? describeOrgs(user, acme) : "none"],
      ["may", `publish:docs in Acme? ${mayPublish ? "yes" : "no"}`],
      ["profile", profile ? `"${profile.displayName}"` : "none"],
      ["log", log.map((e) => `${e.outcome} ${e.type}`).join(" · ") || "empty"],
    ].map(([label, text]) => wrap(text!, INDENT + label!.padEnd(LABEL), INDENT.length + LABEL));
    print(
      ...lines.flatMap((block, i) =>
        block.map((line) => (this.previousState[i] === block.join("\n") ? dim(line) : line)),
      ),
    );
    this.previousState = lines.map((block) => block.join("\n"));
    return { user, mayPublish, profile, log };
  }

  /** Everything stored: the component's tables and the app's own. */
  async snapshot() {
    const component = await readKindeTables(this.t);
    const app = await this.t.run(async (ctx) => ({
      profiles: await ctx.db.query("profiles").collect(),
      documents: await ctx.db.query("documents").collect(),
    }));
    return { component, app };
  }

  /** Asserts that nothing stored changed since `before`, except new event-log records. */
  async expectOnlyLogged(before: Awaited<ReturnType<Tour["snapshot"]>>) {
    const after = await this.snapshot();
    expect({ ...after.component, webhookEvents: [] }, "the mirror").toEqual({
      ...before.component,
      webhookEvents: [],
    });
    expect(after.app, "the app's tables").toEqual(before.app);
  }

  /** Ada tries to publish a document in Acme; prints and returns what happened. */
  async publish(title: string): Promise<"published" | KindeAuthorizationErrorData["kind"]> {
    const attempt = `documents.publish "${title}" as Ada`;
    try {
      const id = await this.asAda.mutation(api.documents.publish, {
        orgCode: this.cast.acme,
        title,
      });
      const documents = await this.asAda.query(api.documents.list, { orgCode: this.cast.acme });
      expect(documents).toMatchObject([{ _id: id, title, publishedBy: this.cast.ada }]);
      print(`${INDENT}${"publish".padEnd(LABEL)}${attempt} → published in Acme`);
      return "published";
    } catch (error) {
      if (!isKindeAuthorizationError(error)) throw error;
      print(
        ...wrap(
          `${attempt} → refused, ${error.data.kind}: ${error.data.message}`,
          INDENT + "publish".padEnd(LABEL),
          INDENT.length + LABEL,
        ),
      );
      return error.data.kind;
    }
  }
}

/** One line for what setup did (or would do). */
function printSetup(what: string, result: SetupResult) {
  const did = {
    create: result.changed
      ? `created ${result.webhookId}`
      : "would create a webhook (dry run: nothing changed)",
    update: result.changed ? `updated ${result.webhookId}` : "would update (dry run)",
    none: `${result.webhookId} is up to date: nothing to change`,
  }[result.action];
  const head = `${INDENT}→ ${what.padEnd(20)} ← `;
  const [first, ...rest] = wrap(
    `${did}: ${result.endpoint}, ${result.eventTypes.length} event types, ${result.requests} Management API requests`,
    head,
    head.length,
  );
  print(
    `${INDENT}→ ${cyan(what.padEnd(20))} ← ${green(first!.slice(head.length))}`,
    ...rest.map((line) => green(line)),
  );
}

function describeUser(user: KindeUser, now: number) {
  const name = [user.firstName, user.lastName].filter(Boolean).join(" ") || "(no name)";
  const signIn =
    user.lastSignedInAt === undefined
      ? "never signed in"
      : `signed in ${Math.round((now - user.lastSignedInAt) / MINUTE)} min ago`;
  return [name, user.email, user.isSuspended ? "suspended" : undefined, signIn]
    .filter(Boolean)
    .join(" · ");
}

function describeOrgs(user: KindeUser, acme: string) {
  if (user.organizations.length === 0) return "none";
  return user.organizations
    .map((org) => {
      const name = org.orgCode === acme ? `Acme (${org.orgCode})` : org.orgCode;
      const roles = org.roles.join(", ") || "none";
      const permissions = org.permissions.join(", ") || "none";
      return `${name}: roles ${roles} · permissions ${permissions}`;
    })
    .join("; ");
}

// ---------------------------------------------------------------- the story

test("the offline tour", async () => {
  const started = performance.now();
  print(
    "",
    bold("convex-kinde · offline tour") + dim("  (no Kinde account, no Convex deployment)"),
  );
  const t = initConvexTest();
  // The app loads while the stand-ins generate their RSA keys; it starts with an empty mirror,
  // and the tenant with no webhook and nothing that predates it.
  const [issuer, management, status] = await Promise.all([
    startKindeTestIssuer(),
    startKindeManagementApi({
      roles: [],
      permissions: [],
      rolePermissions: {},
      organizations: [],
      users: [],
      members: {},
    }),
    t.query(internal.diagnostics.syncStatus, {}),
  ]);
  expect(status, "getSyncStatus before the tour").toEqual({
    lastEvent: null,
    users: 0,
    organizations: 0,
    unappliedEvents: 0,
    lastUnappliedEvent: null,
  });
  vi.stubEnv("KINDE_ISSUER_URL", issuer.url);
  vi.stubEnv("KINDE_DOMAIN", management.url);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", management.clientId);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", management.clientSecret);
  vi.stubEnv("KINDE_CLIENT_ID", "kinde_app_client_id");
  // What Convex sets in a deployment: its HTTP actions URL.
  vi.stubEnv("CONVEX_SITE_URL", DEMO_SITE_URL);
  try {
    await tour(t, issuer, management, started);
  } finally {
    vi.unstubAllEnvs();
    await Promise.all([issuer.close(), management.close()]);
  }
});

const DEMO_SITE_URL = "https://happy-otter-123.convex.site";

async function tour(
  t: ExampleTest,
  issuer: KindeTestIssuer,
  management: ManagementApiStandIn,
  started: number,
) {
  const cast: Cast = {
    ada: kindeUserId(),
    acme: kindeOrgCode(),
    editorRole: { id: kindeUuid(), key: "editor" },
    publishPermission: { id: kindeUuid(), key: "publish:docs" },
  };
  const tour = new Tour(t, cast);
  const { ada, acme, editorRole, publishPermission } = cast;

  const legend = (label: string, text: string) =>
    wrap(text, INDENT + label.padEnd(LABEL), INDENT.length + LABEL).map(dim);
  print(
    ...legend(
      "Kinde",
      `a local stand-in: an RS256 key (kid ${issuer.kid.slice(0, 11)}…) and its key set at ${issuer.url}/.well-known/jwks`,
    ),
    ...legend(
      "",
      `and a stand-in for its Management API at ${management.url} (an M2M token, webhooks, users)`,
    ),
    ...legend(
      "app",
      `example/convex in convex-test as ${DEMO_SITE_URL}, KINDE_ISSUER_URL set to the stand-in; each step POSTs signed Kinde events to its /kinde/webhook`,
    ),
    ...legend("cast", `Ada (${ada}) and the organization Acme (${acme})`),
    "",
    dim(`After each step, what the app reads${color ? " (dimmed: unchanged)" : ""}:`),
    ...legend("user", "internal.users.byKindeId (api.users.me, signed in as Ada, agrees)"),
    ...legend("orgs", "her organizations, roles and permissions, from the same user"),
    ...legend("may", "api.kindeUser.can, signed in as Ada"),
    ...legend("profile", "the app's own profiles row, written by its event hooks"),
    ...legend("log", "internal.diagnostics.recentEvents: the event log, newest first"),
  );

  const adaUser: KindeUserPayload = { id: ada, email: "ada@example.com", first_name: "Ada" };
  const adaInAcme: KindeUserPayload = {
    ...adaUser,
    last_name: "Lovelace",
    organizations: [{ code: acme, roles: [editorRole], permissions: [publishPermission] }],
  };
  /** The 200 the webhook answers when it did `outcome` with `event`. */
  const answer = (outcome: string, event: { event_id: string }) => ({
    status: 200,
    body: new RegExp(`^${outcome} ${event.event_id}$`),
  });

  await tour.run(
    "Setup",
    "Before anything happens, you register this deployment's webhook with `npx convex run kinde:setup` (first with a dry run), and run the backfill. Kinde lists no webhook yet, and the tenant has nothing older to bring in.",
    "one webhook for this deployment with every event type the mirror uses; a second run changes nothing",
    async () => {
      const run = async (args: { dryRun?: boolean }) =>
        (await t.action(internal.kinde.setup, args)) as SetupResult;
      const dry = await run({ dryRun: true });
      printSetup("setup --dry-run", dry);
      expect(dry).toMatchObject({ action: "create", changed: false });
      expect(management.webhooks, "Kinde's webhooks after the dry run").toEqual([]);
      const created = await run({});
      printSetup("setup", created);
      expect(created).toMatchObject({ action: "create", changed: true });
      expect(management.webhooks).toMatchObject([
        { id: created.webhookId, endpoint: `${DEMO_SITE_URL}/kinde/webhook` },
      ]);
      const again = await run({});
      printSetup("setup again", again);
      expect(again).toMatchObject({ action: "none", changed: false });
      expect(management.webhooks).toHaveLength(1);
      const backfill = (await t.action(internal.kinde.backfill, {})) as BackfillResult;
      print(
        ...wrap(
          `${backfill.run.status}: ${backfill.run.pages} pages, ${backfill.requests} Management API requests, nothing to bring in`,
          `${INDENT}→ ${cyan("backfill".padEnd(20))} ← `,
          INDENT.length + 25,
        ),
      );
      expect(backfill.run).toMatchObject({ status: "done", counts: { users: 0 } });
    },
  );

  await tour.run(
    "The tenant's catalog",
    "An hour ago an admin set up the tenant in Kinde: the organization Acme, the permission publish:docs and the role editor. Kinde sent an event for each.",
    "applied: the organization, role and permission are mirrored",
    async () => {
      const catalog = [
        organizationCreated({ code: acme, name: "Acme" }, tour.ago(60)),
        permissionCreated({ ...publishPermission, name: "Publish documents" }, tour.ago(59)),
        roleCreated({ ...editorRole, name: "Editor" }, tour.ago(58)),
      ];
      for (const event of catalog) {
        await tour.deliver(event.type, await issuer.sign(event), answer("applied", event));
      }
      expect(await t.query(internal.organizations.get, { code: acme })).toMatchObject({
        name: "Acme",
      });
      expect(await t.query(api.organizations.roles, {})).toMatchObject([{ key: "editor" }]);
      expect(await t.query(api.organizations.permissions, {})).toMatchObject([
        { key: "publish:docs" },
      ]);
      const state = await tour.state();
      expect(state.user, "user").toBeNull();
    },
  );

  await tour.run(
    "Ada signs up",
    "30 minutes ago Ada created an account with ada@example.com on your Kinde sign-up page.",
    "applied: Ada is mirrored, not yet in Acme; the user.created hook created her profile",
    async () => {
      const created = userCreated(adaUser, { ...tour.ago(30), source: "user" });
      await tour.deliver("user.created", await issuer.sign(created), answer("applied", created));
      const state = await tour.state();
      expect(state.user, "user").toMatchObject({ email: "ada@example.com", organizations: [] });
      expect(state.mayPublish, "hasPermission").toBe(false);
      expect(state.profile, "profile").toMatchObject({ displayName: "Ada" });
    },
  );

  await tour.run(
    "Ada signs in",
    "A minute later she signed in; Kinde reported it with user.authenticated.",
    "applied: her last sign-in is recorded, her profile untouched",
    async () => {
      const signedIn = userAuthenticated(ada, tour.ago(29));
      await tour.deliver(
        "user.authenticated",
        await issuer.sign(signedIn),
        answer("applied", signedIn),
      );
      const state = await tour.state();
      expect(state.user?.lastSignedInAt).toBeCloseTo(tour.ago(29).at, -1);
    },
  );

  const update = userUpdated(adaInAcme, tour.ago(20));
  const updateToken = await issuer.sign(update);
  const updateDelivery = `msg_${kindeUuid()}`;
  await tour.run(
    "An admin edits Ada",
    "20 minutes ago an admin added her last name and made her an editor in Acme, which grants publish:docs there. Kinde sent user.updated with her organizations, roles and permissions.",
    "applied: hasPermission turned true and documents.publish accepts her",
    async () => {
      await tour.deliver("user.updated", updateToken, answer("applied", update), updateDelivery);
      const state = await tour.state();
      expect(state.user, "user").toMatchObject({
        firstName: "Ada",
        lastName: "Lovelace",
        organizations: [{ orgCode: acme, roles: ["editor"], permissions: ["publish:docs"] }],
      });
      expect(state.mayPublish, "hasPermission").toBe(true);
      expect(state.profile, "profile").toMatchObject({ displayName: "Ada Lovelace" });
      expect(await tour.publish("Launch plan")).toBe("published");
    },
  );

  await tour.run(
    "Kinde retries",
    "Kinde did not see your 200 in time (a timeout on its side) and delivers the very same user.updated again.",
    "duplicate: nothing written, not even a log record",
    async () => {
      const before = await tour.snapshot();
      await tour.deliver(
        "user.updated again",
        updateToken,
        answer("duplicate", update),
        updateDelivery,
      );
      await tour.state();
      expect(await tour.snapshot(), "stored data").toEqual(before);
    },
  );

  await tour.run(
    "An older edit arrives late",
    'An edit made 25 minutes ago, before the one above (first name "Augusta Ada", last name "King", no organizations), failed on the first try; Kinde delivers it only now.',
    "stale: recorded in the log, the mirror keeps the newer data",
    async () => {
      const before = await tour.snapshot();
      const older = userUpdated(
        { ...adaUser, first_name: "Augusta Ada", last_name: "King", organizations: [] },
        tour.ago(25),
      );
      await tour.deliver("older user.updated", await issuer.sign(older), answer("stale", older));
      const state = await tour.state();
      expect(state.user, "user").toMatchObject({ firstName: "Ada", lastName: "Lovelace" });
      expect(state.mayPublish, "hasPermission").toBe(true);
      expect(state.log[0]).toMatchObject({ eventId: older.event_id, outcome: "stale" });
      await tour.expectOnlyLogged(before);
    },
  );

  await tour.run(
    "Acme upgrades its plan",
    "Acme pays, through Kinde Billing, for the starter plan (no reports feature). 15 minutes ago it moved to pro, which adds reports. Kinde's customer.plan_changed is only a trigger (Kinde publishes no plan in it): the refresh it schedules reads Acme's entitlements from the Management API and hands them to the component's billing.applyCustomer, versioned by when its fetch began. The tour hands them over as that refresh does; api.kindeUser.can answers the gated check.",
    "the gated check follows the plan: no reports on starter, reports once pro's fetch lands; a fetch that began earlier is stale",
    async () => {
      const customerId = kindeCustomerId();
      const owner = { kind: "organization" as const, orgCode: acme };
      const mayReport = () =>
        tour.asAda.query(api.kindeUser.can, { orgCode: acme, entitlement: "reports" });
      const fetch = async (label: string, minutesAgo: number, plan: string, features: string[]) => {
        const { outcome } = await t.mutation(components.kinde.billing.applyCustomer, {
          owner,
          customerId,
          fetchedAt: tour.ago(minutesAgo).at,
          plans: [{ planCode: plan }],
          entitlements: features.map((featureCode) => ({ featureCode })),
        });
        const may = await mayReport();
        print(
          ...wrap(
            `${outcome}: plan ${plan} (${features.join(", ")}) → reports in Acme? ${may ? "yes" : "no"}`,
            `${INDENT}→ ${cyan(label.padEnd(20))} ← `,
            INDENT.length + 25,
          ),
        );
        return { outcome, may };
      };
      expect(await fetch("fetch @ -18 min", 18, "starter", ["seats"])).toEqual({
        outcome: "applied",
        may: false,
      });
      const changed = customerEvent("customer.plan_changed", { id: customerId }, tour.ago(15));
      await tour.deliver(
        "plan_changed event",
        await issuer.sign(changed),
        answer("ignored", changed),
      );
      expect(await fetch("fetch @ -14 min", 14, "pro", ["seats", "reports"])).toEqual({
        outcome: "applied",
        may: true,
      });
      // A refresh that began before the one above and lands after it changes nothing.
      expect(await fetch("late fetch @ -16 min", 16, "starter", ["seats"])).toEqual({
        outcome: "stale",
        may: true,
      });
    },
  );

  await tour.run(
    "Ada is deleted",
    "10 minutes ago an admin deleted Ada in Kinde.",
    "applied: she is gone, her profile removed by the hook, and she can no longer publish",
    async () => {
      const deleted = userDeleted(ada, tour.ago(10));
      await tour.deliver("user.deleted", await issuer.sign(deleted), answer("applied", deleted));
      const state = await tour.state();
      expect(state.user, "user").toBeNull();
      expect(state.mayPublish, "hasPermission").toBe(false);
      expect(state.profile, "profile").toBeNull();
      expect(await tour.publish("After hours")).toBe("forbidden");
    },
  );

  await tour.run(
    "A late retry after the deletion",
    "An edit made 12 minutes ago, just before the deletion, reaches you only now.",
    "stale: a deleted user never comes back",
    async () => {
      const before = await tour.snapshot();
      const late = userUpdated({ ...adaInAcme, first_name: "Ada A." }, tour.ago(12));
      await tour.deliver("late user.updated", await issuer.sign(late), answer("stale", late));
      const state = await tour.state();
      expect(state.user, "user").toBeNull();
      expect(state.profile, "profile").toBeNull();
      await tour.expectOnlyLogged(before);
    },
  );

  await tour.run(
    "An attacker posts Ada's access token",
    "Kinde signs users' access tokens with the same key as webhooks, so the signature of Ada's token (captured before she was deleted) is valid. It is still not a webhook.",
    "refused with 401: nothing written",
    async () => {
      const before = await tour.snapshot();
      const issuedAt = Math.floor(tour.ago(15).at / 1000);
      const accessToken = await issuer.sign({
        aud: ["convex"],
        azp: "3c1bd7a5e2f84f0a9d6e1b2c3d4e5f60",
        exp: issuedAt + 86_400,
        iat: issuedAt,
        iss: issuer.url,
        jti: kindeUuid(),
        org_code: acme,
        permissions: ["publish:docs"],
        roles: [editorRole],
        scp: ["openid", "profile", "email", "offline"],
        sub: ada,
        v: "2",
      });
      await tour.deliver("Ada's access token", accessToken, {
        status: 401,
        body: /`iss`.*not a webhook/,
      });
      await tour.state();
      expect(await tour.snapshot(), "stored data").toEqual(before);
    },
  );

  await tour.run(
    "An attacker forges an event",
    "Someone who found your webhook URL forges a user.created that makes mallory@example.net an editor in Acme, signed with their own RSA key.",
    "refused with 401: nothing written",
    async () => {
      const before = await tour.snapshot();
      const mallory = kindeUserId();
      const forged = userCreated({
        id: mallory,
        email: "mallory@example.net",
        organizations: [{ code: acme, roles: [editorRole], permissions: [publishPermission] }],
      });
      await tour.deliver("forged user.created", await issuer.signWithUnknownKey(forged), {
        status: 401,
        body: /no key .* matches the token's kid/,
      });
      await tour.state();
      expect(await tour.snapshot(), "stored data").toEqual(before);
      expect(await t.query(internal.users.byKindeId, { kindeId: mallory })).toBeNull();
    },
  );

  await tour.run(
    "The doctor",
    "Finally, `npx convex run kinde:doctor` checks everything the sync depends on: the issuer and its keys, the machine-to-machine application and its scopes, the webhook in Kinde, what arrived, and the backfill.",
    "all green: each line ok",
    async () => {
      const report = (await t.action(internal.kinde.doctor, {})) as DoctorReport;
      const width = Math.max(...report.checks.map((c) => c.name.length));
      for (const check of report.checks) {
        const paint = check.verdict === "ok" ? green : check.verdict === "warn" ? yellow : red;
        const mark = { ok: "✓", warn: "!", fail: "✗" }[check.verdict];
        const head = `${INDENT}${mark} ${check.name.padEnd(width)}  `;
        const [first, ...rest] = wrap(check.found, head, head.length);
        print(paint(first!.slice(0, head.length)) + first!.slice(head.length), ...rest.map(dim));
        if (check.fix) print(...wrap(`fix: ${check.fix}`, " ".repeat(head.length), head.length));
      }
      expect(report.checks.filter((c) => c.verdict !== "ok")).toEqual([]);
      expect(report.summary).toBe(`${report.checks.length} ok, 0 warnings, 0 failures`);
    },
  );

  const status = await t.query(internal.diagnostics.syncStatus, {});
  expect(status, "getSyncStatus").toMatchObject({ users: 0, organizations: 1 });
  expect(await t.query(api.organizations.roles, {}), "roles").toHaveLength(1);
  expect(await t.query(api.organizations.permissions, {}), "permissions").toHaveLength(1);
  const counts = ["applied", "duplicate", "stale", "ignored", "refused (401)"]
    .map((kind) => `${tour.tally.get(kind) ?? 0}\u00a0${kind.replace(" ", "\u00a0")}`)
    .join(", ");
  expect([...tour.tally.values()].reduce((a, b) => a + b, 0)).toBe(tour.deliveries);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  print(
    "",
    ...wrap(
      `✓ All ${tour.step} steps as narrated: ${tour.deliveries} deliveries, ${counts}.`,
      "",
      2,
    ).map((line) => bold(green(line))),
    ...wrap(
      `Mirror now: no users; Acme, the editor role and publish:docs remain. Tour:\u00a0${seconds}\u00a0s.`,
      "  ",
      2,
    ).map(dim),
    "",
  );
}
