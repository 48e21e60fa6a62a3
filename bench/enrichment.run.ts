/**
 * What enrichment (#21) costs in Management API requests and component
 * function calls, against the Management API stand-in on 127.0.0.1:
 *
 * 1. A backfill of the same tenant without enrichment, with the details
 *    (`enrichment: {}`), and with user and organization properties too:
 *    requests and function calls per 1,000 users.
 * 2. One refresh of a user (details; details and properties) and of an
 *    organization, and a sweep of every user and organization: requests.
 * 3. `getUser` on an enriched user: documents and index ranges read (the
 *    enrichment lives on the user's own row, so it stays 1 document).
 *
 * Run alone: `npx vitest run --config vitest.bench.config.ts bench/enrichment.run.ts`.
 */
import { test, vi } from "vitest";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import kindeTest, { makeTenant, startKindeManagementApi, type Tenant } from "convex-kinde/test";
import {
  Kinde,
  type BackfillResult,
  type EnrichmentOptions,
  type RefreshResult,
} from "convex-kinde";
import { components, internal } from "../example/convex/_generated/api.js";
import schema from "../example/convex/schema.js";
import { modules as exampleModules } from "../test/setup.js";
import type { Cost, Measured } from "./harness/probes.js";
import { num, section, table } from "./harness/report.js";

/** Users (over 10 organizations) in the tenant every measurement reads: two pages of 500. */
const USERS = 1000;
const ORGANIZATIONS = 10;

const VARIANTS: [string, EnrichmentOptions | undefined][] = [
  ["no enrichment", undefined],
  ["details ({})", {}],
  [
    "details + user and organization properties",
    { userProperties: "all", organizationProperties: "all" },
  ],
];

/** The example app with a host module whose Kinde keeps `enrichment`, served `tenant`. */
async function hostFor(tenant: Tenant, enrichment: EnrichmentOptions | undefined) {
  const kinde = await startKindeManagementApi(tenant);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_ID", kinde.clientId);
  vi.stubEnv("KINDE_MANAGEMENT_CLIENT_SECRET", kinde.clientSecret);
  vi.stubEnv("KINDE_DOMAIN", kinde.url);
  const enriched = new Kinde(components.kinde, enrichment ? { enrichment } : {});
  const host = {
    backfill: enriched.backfillAction({ onEvent: internal.kinde.onKindeEvent }),
    refresh: enriched.refreshAction({ onEvent: internal.kinde.onKindeEvent }),
  };
  const t = convexTest({
    schema,
    modules: {
      ...exampleModules,
      "./host.ts": async () => host,
      "./benchProbes.ts": () => import("./harness/probes.js"),
    },
    transactionLimits: true,
  });
  kindeTest.register(t, "kinde", { inspect: true });
  const backfill = async () => {
    const result = (await t.action(
      makeFunctionReference<"action">("host:backfill"),
      {},
    )) as BackfillResult;
    if (result.run.status !== "done" || result.continuing) {
      throw new Error(
        `backfill ended ${result.run.status}${result.continuing ? ", continuing" : ""}`,
      );
    }
    return result;
  };
  const refresh = (args: Record<string, unknown>) =>
    t.action(makeFunctionReference<"action">("host:refresh"), args) as Promise<RefreshResult>;
  return { t, kinde, backfill, refresh };
}

interface BackfillCost {
  variant: string;
  requests: number;
  functionCalls: number;
}

interface RefreshCost {
  what: string;
  requests: number;
}

test("enrichment bench", async () => {
  const tenant = () => makeTenant({ users: USERS, organizations: ORGANIZATIONS });
  const backfills: BackfillCost[] = [];
  const refreshes: RefreshCost[] = [];
  let reads: { plain: Cost; enriched: Cost } | undefined;
  try {
    for (const [variant, enrichment] of VARIANTS) {
      const host = await hostFor(tenant(), enrichment);
      try {
        const result = await host.backfill();
        backfills.push({ variant, requests: result.requests, functionCalls: result.functionCalls });
        const someone = host.kinde.tenant.users[4]!.id;
        const probe = makeFunctionReference<"query">("benchProbes:getUser");
        const cost = (await host.t.query(probe, { kindeId: someone })) as Measured<unknown>;
        if (!enrichment) reads = { plain: cost, enriched: cost };
        else if (enrichment.organizationProperties) reads = { plain: reads!.plain, enriched: cost };
        if (enrichment?.organizationProperties) {
          const org = host.kinde.tenant.organizations[0]!.code;
          for (const [what, args] of [
            ["a user (details and properties)", { kind: "user", entityId: someone }],
            ["an organization (properties)", { kind: "organization", entityId: org }],
          ] as const) {
            const refreshed = await host.refresh(args);
            refreshes.push({ what, requests: refreshed.requests });
          }
          let sweep = await host.refresh({ kind: "all" });
          let requests = sweep.requests;
          for (;;) {
            const [next] = (
              await host.t.run((ctx) => ctx.db.system.query("_scheduled_functions").collect())
            ).filter((job) => job.state.kind === "pending");
            if (!next) break;
            await host.t.run((ctx) => ctx.scheduler.cancel(next._id));
            sweep = await host.refresh(next.args[0] as Record<string, unknown>);
            requests += sweep.requests;
          }
          refreshes.push({
            what: `the sweep (${num(USERS)} users, ${ORGANIZATIONS} organizations)`,
            requests,
          });
        }
        if (enrichment && !enrichment.userProperties) {
          const refreshed = await host.refresh({ kind: "user", entityId: someone });
          refreshes.push({ what: "a user (details)", requests: refreshed.requests });
        }
      } finally {
        await host.kinde.close();
      }
    }
  } finally {
    vi.unstubAllEnvs();
  }
  const per1000 = (n: number) => num((n / USERS) * 1000, 1);
  const plain = backfills[0]!;
  console.log(
    [
      section(
        `E1. Backfill with enrichment (${num(USERS)} users, ${ORGANIZATIONS} organizations; Management API requests and component function calls, token requests included)`,
        table(
          [
            "variant",
            "requests",
            "per 1,000 users",
            "vs none",
            "function calls",
            "per 1,000 users",
          ],
          backfills.map((b) => [
            b.variant,
            b.requests,
            per1000(b.requests),
            `+${b.requests - plain.requests}`,
            b.functionCalls,
            per1000(b.functionCalls),
          ]),
        ),
      ),
      section(
        "E2. Refreshes (Management API requests, the token's included when the action asked for one)",
        table(
          ["refresh of", "requests"],
          refreshes.map((r) => [r.what, r.requests]),
        ),
      ),
      section(
        "E3. getUser of a user, without enrichment and with every part of it",
        table(
          ["user", "documents read", "index ranges", "bytes read"],
          [
            [
              "not enriched",
              reads!.plain.documentsRead,
              reads!.plain.databaseQueries,
              reads!.plain.bytesRead,
            ],
            [
              "enriched",
              reads!.enriched.documentsRead,
              reads!.enriched.databaseQueries,
              reads!.enriched.bytesRead,
            ],
          ],
        ),
      ),
    ].join("\n"),
  );
});
