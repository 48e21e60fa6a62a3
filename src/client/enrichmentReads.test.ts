/**
 * Enrichment's Management API reads against the stand-in, over real HTTP:
 * what they ask for, what they make of hostile answers, and that a user or
 * organization Kinde no longer has reads as nothing.
 */
import { afterEach, describe, expect, test } from "vitest";
import { MAX_IDENTITIES, MAX_PROPERTIES } from "../shared/enrichment.js";
import {
  makeTenant,
  PROPERTY_PAGE_SIZE,
  startKindeManagementApi,
  type ManagementApiStandIn,
} from "../testing/managementApi.js";
import { withHostileEnrichment } from "../testing/tenants.js";
import { enrichmentOf } from "./config.js";
import { readOrganizationProperties, readUser } from "./enrichmentReads.js";
import { createLogger } from "./log.js";
import { DEFAULT_RETRY, ManagementApi, ManagementApiError } from "./managementApi.js";
import type { EnrichmentOptions } from "./types.js";

let kinde: ManagementApiStandIn | undefined;
afterEach(async () => {
  await kinde?.close();
  kinde = undefined;
});

const log = createLogger("ERROR");

async function serve() {
  kinde = await startKindeManagementApi(
    withHostileEnrichment(makeTenant({ users: 12, organizations: 2 })),
  );
  const { url, clientId, clientSecret } = kinde;
  return new ManagementApi(
    { domain: url, clientId, clientSecret },
    { ...DEFAULT_RETRY, baseDelayMs: 1, maxDelayMs: 2 },
  );
}

const option = (enrichment: EnrichmentOptions) => enrichmentOf({ enrichment })!;
const apiRequests = () =>
  kinde!.requests
    .filter((r) => r.path !== "/oauth2/token")
    .map((r) => `${r.path}?${new URLSearchParams(r.query)}`);

describe("readUser", () => {
  test("details: one GET /api/v1/user with identities; offsets and microseconds to ms", async () => {
    const api = await serve();
    const user = kinde!.tenant.users[0]!;
    expect(await readUser(api, user.id, option({}), log)).toEqual({
      details: {
        picture: "https://lh3.googleusercontent.com/a/ACg8ocJ=s96-c",
        createdAt: Date.UTC(2023, 11, 1, 5, 29, 59) + 999.999,
        totalSignIns: 0,
        lastSignedInAt: Date.UTC(2024, 1, 28, 18, 0, 0) + 0.001,
        identities: [
          { type: "email", identity: "user1@example.com" },
          { type: "oauth2:google", identity: "user1@gmail.com" },
        ],
      },
    });
    expect(apiRequests()).toEqual([`/api/v1/user?id=${user.id}&expand=identities`]);
  });

  test("without identities, no expand; blanks and nulls absent", async () => {
    const api = await serve();
    const blank = kinde!.tenant.users[1]!;
    expect(
      await readUser(api, blank.id, option({ details: ["picture", "createdAt", "signIns"] }), log),
    ).toEqual({
      details: {},
    });
    expect(apiRequests()).toEqual([`/api/v1/user?id=${blank.id}`]);
  });

  test("properties: every page of GET /api/v1/users/{id}/properties, the first 100 by key", async () => {
    const api = await serve();
    const many = kinde!.tenant.users[2]!;
    const read = await readUser(
      api,
      many.id,
      option({ details: ["identities"], userProperties: "all" }),
      log,
    );
    expect(read!.details!.identities).toHaveLength(MAX_IDENTITIES);
    expect(Object.keys(read!.properties!)).toHaveLength(MAX_PROPERTIES);
    expect(read!.properties!.kp_custom_000).toBe("value 129");
    expect(read!.properties!.kp_custom_082).toBeUndefined();
    const pages = apiRequests().filter((r) => r.includes("/properties"));
    expect(pages).toHaveLength(Math.ceil(130 / PROPERTY_PAGE_SIZE));
  });

  test("only the configured keys; odd keys and long values left out", async () => {
    const api = await serve();
    const odd = kinde!.tenant.users[3]!;
    const all = await readUser(api, odd.id, option({ details: [], userProperties: "all" }), log);
    expect(all).toEqual({ properties: { kp_plan: "pro", "kp.dotted key": "kept" } });
    const some = await readUser(
      api,
      odd.id,
      option({ details: [], userProperties: ["kp_plan", "kp_long"] }),
      log,
    );
    expect(some).toEqual({ properties: { kp_plan: "pro" } });
    // Details not wanted: no user read.
    expect(apiRequests().every((r) => r.startsWith(`/api/v1/users/${odd.id}/properties`))).toBe(
      true,
    );
  });

  test("a user Kinde does not have (the spec's 400): null, nothing else asked", async () => {
    const api = await serve();
    expect(await readUser(api, "kp_gone", option({ userProperties: "all" }), log)).toBeNull();
    expect(apiRequests()).toEqual(["/api/v1/user?id=kp_gone&expand=identities"]);
  });

  test("a missing scope is an error naming it, not an absence", async () => {
    const api = await serve();
    kinde!.revokeScope("read:user_properties");
    const user = kinde!.tenant.users[4]!;
    const error = await readUser(api, user.id, option({ userProperties: "all" }), log).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ManagementApiError);
    expect((error as Error).message).toMatch(/needs the scope `read:user_properties`/);
  });

  test("a 5xx is retried", async () => {
    const api = await serve();
    kinde!.failNext(2, 503);
    const user = kinde!.tenant.users[5]!;
    expect((await readUser(api, user.id, option({ details: ["picture"] }), log))!.details).toEqual({
      picture: `https://gravatar.com/avatar/${"6".padStart(32, "0")}?d=blank`,
    });
    expect(apiRequests()).toHaveLength(3);
  });
});

describe("readOrganizationProperties", () => {
  test("the organization's values, selected; a missing organization: null", async () => {
    const api = await serve();
    const [first, second] = kinde!.tenant.organizations;
    expect(await readOrganizationProperties(api, first!.code, "all", log)).toEqual({
      kp_tier: "team",
      kp_seats: "10",
    });
    expect(await readOrganizationProperties(api, second!.code, ["kp_tier"], log)).toEqual({
      kp_tier: "enterprise",
    });
    expect(await readOrganizationProperties(api, "org_gone", "all", log)).toBeNull();
    expect(apiRequests()).toEqual([
      `/api/v1/organizations/${first!.code}/properties?`,
      `/api/v1/organizations/${second!.code}/properties?`,
      "/api/v1/organizations/org_gone/properties?",
    ]);
  });
});
