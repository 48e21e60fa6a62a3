/**
 * Hostile and malformed deliveries, table-driven: each is answered with the
 * status docs/webhook-responses.md documents (401 not a webhook of the
 * issuer, 400 verified but unusable, 413 too large, 200 for what is valid, if
 * odd), none crashes (no 500), and none writes anything it should not: a
 * refused delivery leaves every component table empty.
 *
 * Most cases need a token whose bytes the test controls exactly (a header
 * with `crit`, a payload that is not an object, an own `__proto__` key, a
 * lone surrogate escape), signed by a key the webhook trusts: the test kit's
 * issuer signs raw payload text (`signRaw`, `signInput`).
 */
import { describe, expect, test } from "vitest";
import {
  SignJWT,
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  type CryptoKey,
} from "jose";
import {
  kindeEvent,
  startKindeTestIssuer,
  kindeTimestamp,
  readKindeTables,
  userCreated,
  userUpdated,
  type KindeUserPayload,
} from "convex-kinde/test";
import { internal } from "../example/convex/_generated/api.js";
import { tablesWithRows, useWebhookTest } from "./setup.js";

const app = useWebhookTest();

const b64 = (text: string) => base64url.encode(text);

// ---------------------------------------------------------------------------
// Helpers

const recently = () => ({ at: Date.now() - 60_000 });
const user = (fields: Partial<KindeUserPayload> = {}) =>
  userCreated({ id: "kp_hostile", email: "ada@example.com", ...fields }, recently());
/** A signed token of `payload` (any JSON value). */
const signed = (payload: unknown) => app.issuer.signRaw(JSON.stringify(payload));
/** A user.created whose `data.user` is `fields` exactly (no defaults filled in). */
const rawUser = (fields: Record<string, unknown>) =>
  kindeEvent("user.created", { user: fields }, recently());

/** The answer, and every component table, for one delivery. */
async function deliver(body: string | Uint8Array, headers: Record<string, string> = {}) {
  const answer = await app.post(body as BodyInit, headers);
  return { answer, tables: await readKindeTables(app.t) };
}

async function expectRefused(body: string | Uint8Array, status: number, message: RegExp) {
  const { answer, tables } = await deliver(body);
  expect(answer.status, answer.text).toBe(status);
  expect(answer.text).toMatch(/^convex-kinde: /);
  expect(answer.text).toMatch(message);
  expect(tablesWithRows(tables)).toEqual([]);
}

/** 200 `ignored`: the event is recorded, and nothing else is written. */
async function expectIgnored(body: string, type: string) {
  const { answer, tables } = await deliver(body);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.text).toMatch(/^ignored event_/);
  expect(tablesWithRows(tables)).toEqual(["webhookEvents"]);
  expect(tables.webhookEvents).toMatchObject([{ type, outcome: "ignored" }]);
  expect(tables.webhookEvents[0]).not.toHaveProperty("entityId");
}

/** 200 `applied`, returning the stored user row and its public form. */
async function expectAppliedUser(body: string, kindeId = "kp_hostile") {
  const { answer, tables } = await deliver(body);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.text).toMatch(/^applied event_/);
  expect(tables.kindeUsers).toHaveLength(1);
  const row = tables.kindeUsers[0]!;
  return { row, user: await app.t.query(internal.users.byKindeId, { kindeId }), tables };
}

const nested = (depth: number, leaf = "1") => "[".repeat(depth) + leaf + "]".repeat(depth);

// ---------------------------------------------------------------------------

describe("401: not a token signed by the issuer's key", () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    [
      "a token whose signature is cut in half",
      async () => {
        const token = await signed(user());
        return token.slice(0, token.length - 170);
      },
      /signature is invalid/,
    ],
    [
      "a token cut after the payload (no signature segment)",
      async () => (await signed(user())).split(".").slice(0, 2).join("."),
      /not a JWT/,
    ],
    ["a token cut inside the header", async () => (await signed(user())).slice(0, 10), /not a JWT/],
    [
      "a validly signed payload segment that is not base64url",
      () =>
        app.issuer.signInput(b64(JSON.stringify({ alg: "RS256", kid: app.issuer.kid })), "*!*!*"),
      /refused: Failed to base64url decode the payload/,
    ],
    [
      "a signature segment that is not base64url",
      async () => `${(await signed(user())).split(".").slice(0, 2).join(".")}.***`,
      /refused: Failed to base64url decode the signature/,
    ],
    [
      "a header that is not JSON",
      async () => `${b64("hello")}.${b64(JSON.stringify(user()))}.c2ln`,
      /not a JWT/,
    ],
    [
      "a header that is a JSON array",
      async () => `${b64('["RS256"]')}.${b64(JSON.stringify(user()))}.c2ln`,
      /not a JWT/,
    ],
    [
      "a header without alg",
      () => app.issuer.signRaw(JSON.stringify(user()), { kid: app.issuer.kid }),
      /signed with undefined/,
    ],
    [
      "alg none with an empty signature",
      async () => `${b64('{"alg":"none"}')}.${b64(JSON.stringify(user()))}.`,
      /signed with "none"/,
    ],
    [
      'alg "rs256" in lower case, validly signed',
      () => app.issuer.signRaw(JSON.stringify(user()), { alg: "rs256", kid: app.issuer.kid }),
      /signed with "rs256"/,
    ],
    [
      "HS256 keyed with the issuer's public JWK (algorithm confusion)",
      async () =>
        await new SignJWT(user())
          .setProtectedHeader({ alg: "HS256", kid: app.issuer.kid })
          .sign(new TextEncoder().encode(JSON.stringify(app.issuer.publicJwk))),
      /signed with "HS256"/,
    ],
    [
      "HS256 keyed with the issuer's public key as PEM (algorithm confusion)",
      async () => {
        const pem = await exportSPKI((await importJWK(app.issuer.publicJwk, "RS256")) as CryptoKey);
        return await new SignJWT(user())
          .setProtectedHeader({ alg: "HS256", kid: app.issuer.kid })
          .sign(new TextEncoder().encode(pem));
      },
      /signed with "HS256"/,
    ],
    [
      "PS256 under the issuer's kid",
      async () => {
        const { privateKey } = await generateKeyPair("PS256");
        return await new SignJWT(user())
          .setProtectedHeader({ alg: "PS256", kid: app.issuer.kid })
          .sign(privateKey);
      },
      /signed with "PS256"/,
    ],
    [
      "a JWE (encrypted, five segments)",
      async () => [b64('{"alg":"RSA-OAEP-256","enc":"A256GCM"}'), "a", "b", "c", "d"].join("."),
      /signed with "RSA-OAEP-256"/,
    ],
    [
      "RS256 signed by the issuer's key, with a crit extension jose does not know",
      () =>
        app.issuer.signRaw(JSON.stringify(user()), {
          alg: "RS256",
          kid: app.issuer.kid,
          crit: ["kinde"],
          kinde: 1,
        }),
      /refused: Extension Header Parameter "kinde" is not recognized/,
    ],
    [
      "RS256 signed by the issuer's key, with crit b64:false (an unencoded payload)",
      async () => {
        const header = b64(
          JSON.stringify({ alg: "RS256", kid: app.issuer.kid, b64: false, crit: ["b64"] }),
        );
        return await app.issuer.signInput(header, JSON.stringify({ type: "x" }).replace(/"/g, "'"));
      },
      /refused: JWTs MUST NOT use unencoded payload/,
    ],
    [
      "RS256 signed by the issuer's key, with crit that is not an array",
      () =>
        app.issuer.signRaw(JSON.stringify(user()), {
          alg: "RS256",
          kid: app.issuer.kid,
          crit: "b64",
        }),
      /refused: "crit" \(Critical\) Header Parameter MUST be an array/,
    ],
    [
      "the issuer's kid on a token signed by another key",
      async () => {
        const { privateKey } = await generateKeyPair("RS256");
        return await new SignJWT(user())
          .setProtectedHeader({ alg: "RS256", kid: app.issuer.kid })
          .sign(privateKey);
      },
      /signature is invalid/,
    ],
    [
      "a 64 KiB kid",
      () =>
        app.issuer.signRaw(JSON.stringify(user()), { alg: "RS256", kid: "k".repeat(64 * 1024) }),
      /no key .* matches the token's kid/,
    ],
    [
      "a validly signed payload that is a JSON array, not a claims set",
      () => app.issuer.signRaw(JSON.stringify([user()])),
      /refused: JWT Claims Set must be a top-level JSON object/,
    ],
    [
      "a validly signed payload that is not JSON",
      () => app.issuer.signRaw("user.created kp_1"),
      /refused: JWT Claims Set must be a top-level JSON object/,
    ],
    [
      "an nbf in the future",
      () => signed({ ...user(), nbf: Math.floor(Date.now() / 1000) + 3600 }),
      /refused: "nbf" claim timestamp check failed/,
    ],
    [
      "an exp that is a string",
      () => signed({ ...user(), exp: "tomorrow" }),
      /refused: "exp" claim must be a number/,
    ],
    [
      "a sub claim (a user token's) on an otherwise valid event",
      () => signed({ ...user(), sub: "kp_hostile" }),
      /carries `sub`/,
    ],
    [
      "the token wrapped in JSON quotes",
      async () => JSON.stringify(await signed(user())),
      /not a JWT/,
    ],
    [
      "the token as a Bearer header value",
      async () => `Bearer ${await signed(user())}`,
      /not a JWT/,
    ],
    [
      "two tokens on two lines",
      async () => `${await signed(user())}\n${await signed(user())}`,
      /Invalid Compact JWS/,
    ],
    [
      "the flattened JSON serialization of a JWS",
      async () => {
        const [protectedHeader, payload, signature] = (await signed(user())).split(".");
        return JSON.stringify({ protected: protectedHeader, payload, signature });
      },
      /not a JWT/,
    ],
  ];
  test.each(cases)("%s", async (_, body, message) => {
    await expectRefused(await body(), 401, message);
  });

  test("binary garbage (NUL bytes, invalid UTF-8)", async () => {
    await expectRefused(
      new Uint8Array([0, 0xff, 0xfe, 0x2e, 0xc3, 0x28, 0x2e, 0]),
      401,
      /not a JWT/,
    );
  });

  test("a jku header pointing at an attacker's key set is never fetched", async () => {
    const attacker = await startKindeTestIssuer();
    try {
      const token = await attacker.signRaw(JSON.stringify(user()), {
        alg: "RS256",
        kid: attacker.kid,
        jku: `${attacker.url}/.well-known/jwks`,
        x5u: `${attacker.url}/cert.pem`,
      });
      await expectRefused(token, 401, /no key .* matches the token's kid/);
      expect(attacker.jwksRequests).toBe(0);
    } finally {
      await attacker.close();
    }
  });

  test("a key embedded in the header (jwk) is not trusted", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const token = await new SignJWT(user())
      .setProtectedHeader({ alg: "RS256", jwk: await exportJWK(publicKey) })
      .sign(privateKey);
    await expectRefused(token, 401, /signature is invalid/);
  });

  test("a 64 KiB webhook-id header on a forged delivery", async () => {
    const { answer, tables } = await deliver("not-a-token", {
      "webhook-id": "w".repeat(64 * 1024),
    });
    expect(answer.status).toBe(401);
    expect(tablesWithRows(tables)).toEqual([]);
  });
});

describe("413: bodies over 1 MiB", () => {
  test("a signed token padded past 1 MiB by one byte", async () => {
    const token = await signed(user());
    await expectRefused(token + " ".repeat(1024 * 1024 + 1 - token.length), 413, /larger than/);
  });

  test("1 MiB of junk exactly is read, and refused as not a JWT (the limit is inclusive)", async () => {
    await expectRefused("x".repeat(1024 * 1024), 401, /not a JWT/);
  });

  test("the limit counts bytes, not characters: 600,000 'é' are 1.2 MB", async () => {
    await expectRefused("é".repeat(600_000), 413, /larger than/);
  });

  test("a user in 10,000 organizations, each with a role, is over 1 MiB", async () => {
    const organizations = Array.from({ length: 10_000 }, (_, i) => ({
      code: `org_${String(i).padStart(7, "0")}`,
      roles: [{ id: "0b1f0ba7-7b2b-4e57-a4e4-9f8d3c0a5e11", key: "member" }],
      permissions: null,
    }));
    const token = await signed(user({ organizations }));
    expect(new TextEncoder().encode(token).byteLength).toBeGreaterThan(1024 * 1024);
    await expectRefused(token, 413, /larger than/);
  });
});

describe("400: signed by the issuer, but not a usable event", () => {
  const envelope = (fields: Record<string, unknown>) => ({ ...user(), ...fields });
  const cases: [string, () => unknown, RegExp][] = [
    // The envelope, field by field.
    ["type is a number", () => envelope({ type: 42 }), /envelope.*type/],
    ["type is null", () => envelope({ type: null }), /envelope.*type/],
    ["type is an object", () => envelope({ type: { user: "created" } }), /envelope.*type/],
    ["event_id is a number", () => envelope({ event_id: 42 }), /envelope.*event_id/],
    ["event_id is null", () => envelope({ event_id: null }), /envelope.*event_id/],
    ["event_id is blank", () => envelope({ event_id: "   " }), /`event_id` is empty/],
    ["event_id is an array", () => envelope({ event_id: ["event_1"] }), /envelope.*event_id/],
    ["timestamp is missing", () => envelope({ timestamp: undefined }), /envelope.*timestamp/],
    ["timestamp is epoch seconds", () => envelope({ timestamp: 1714000000 }), /timestamp/],
    ["timestamp is empty", () => envelope({ timestamp: "" }), /`timestamp` is not an ISO 8601/],
    ["timestamp is a date only", () => envelope({ timestamp: "2026-05-01" }), /`timestamp`/],
    [
      "timestamp is 30 February",
      () => envelope({ timestamp: "2026-02-30T10:00:00Z" }),
      /`timestamp`/,
    ],
    ["timestamp is hour 25", () => envelope({ timestamp: "2026-05-01T25:00:00Z" }), /`timestamp`/],
    [
      "timestamp has an offset of -99:99, which no time zone has",
      () =>
        envelope({ timestamp: kindeTimestamp(Date.now() - 60_000, 0).replace("+00:00", "-99:99") }),
      /`timestamp` is not an ISO 8601/,
    ],
    [
      "event_timestamp is unparseable while timestamp is fine",
      () => envelope({ event_timestamp: "soon" }),
      /`event_timestamp` is not an ISO 8601/,
    ],
    ["event_timestamp is a number", () => envelope({ event_timestamp: 1 }), /event_timestamp/],
    ["source is a number", () => envelope({ source: 7 }), /envelope.*source/],
    ["source is an object", () => envelope({ source: { by: "admin" } }), /envelope.*source/],
    // data of a user event.
    ["data is missing", () => envelope({ data: undefined }), /envelope.*data/],
    ["data is null", () => envelope({ data: null }), /`data`/],
    ["data is an array", () => envelope({ data: [{ user: { id: "kp_1" } }] }), /`data`/],
    ["data.user is a string", () => envelope({ data: { user: "kp_1" } }), /`data`.*user/],
    // The user, field by field.
    ["user.id is a number", () => rawUser({ id: 42 }), /user\.id/],
    ["user.id is null", () => rawUser({ id: null }), /user\.id/],
    ["user.id is blank", () => rawUser({ id: " \t " }), /`data\.user\.id` is empty/],
    ["user.email is a number", () => rawUser({ id: "kp_1", email: 42 }), /user\.email/],
    ["user.email is an object", () => rawUser({ id: "kp_1", email: { $ne: "" } }), /user\.email/],
    ["user.phone is a boolean", () => rawUser({ id: "kp_1", phone: true }), /user\.phone/],
    ["user.username is an array", () => rawUser({ id: "kp_1", username: ["a"] }), /user\.username/],
    [
      "user.first_name is an array",
      () => rawUser({ id: "kp_1", first_name: ["Ada"] }),
      /first_name/,
    ],
    ["user.last_name is a number", () => rawUser({ id: "kp_1", last_name: 0 }), /last_name/],
    [
      'user.is_suspended is "true"',
      () => rawUser({ id: "kp_1", is_suspended: "true" }),
      /is_suspended/,
    ],
    ["user.is_suspended is 1", () => rawUser({ id: "kp_1", is_suspended: 1 }), /is_suspended/],
    [
      'user.is_password_reset_requested is "no"',
      () => rawUser({ id: "kp_1", is_password_reset_requested: "no" }),
      /is_password_reset_requested/,
    ],
    [
      "user.organizations is an object",
      () => rawUser({ id: "kp_1", organizations: { org_1: {} } }),
      /organizations/,
    ],
    [
      "user.organizations is a string",
      () => rawUser({ id: "kp_1", organizations: "org_1" }),
      /organizations/,
    ],
    [
      "an organization that is null",
      () => rawUser({ id: "kp_1", organizations: [null] }),
      /organizations/,
    ],
    [
      "an organization code that is a number",
      () => rawUser({ id: "kp_1", organizations: [{ code: 1 }] }),
      /organizations\[0\]\.code/,
    ],
    [
      "an organization code that is blank",
      () => rawUser({ id: "kp_1", organizations: [{ code: " " }] }),
      /`data\.user\.organizations\[\]\.code` is empty/,
    ],
    [
      "roles as a string",
      () => rawUser({ id: "kp_1", organizations: [{ code: "o", roles: "admin" }] }),
      /roles/,
    ],
    [
      "a role with a numeric id",
      () => rawUser({ id: "kp_1", organizations: [{ code: "o", roles: [{ id: 1, key: "a" }] }] }),
      /roles\[0\]\.id/,
    ],
    [
      "a role without a key",
      () => rawUser({ id: "kp_1", organizations: [{ code: "o", roles: [{ id: "r" }] }] }),
      /roles\[0\]\.key/,
    ],
    [
      "permissions as an object",
      () => rawUser({ id: "kp_1", organizations: [{ code: "o", permissions: { read: true } }] }),
      /permissions/,
    ],
    // Other handled types.
    [
      "user.deleted without a user",
      () => kindeEvent("user.deleted", { id: "kp_1" }, recently()),
      /`data`.*user/,
    ],
    [
      "user.deleted with a numeric id",
      () => kindeEvent("user.deleted", { user: { id: 1 } }, recently()),
      /user\.id/,
    ],
    [
      "organization.created without a code",
      () => kindeEvent("organization.created", { organization: { name: "Acme" } }, recently()),
      /organization\.code/,
    ],
    [
      'organization.updated with is_allow_registrations "yes"',
      () =>
        kindeEvent(
          "organization.updated",
          { organization: { code: "org_1", is_allow_registrations: "yes" } },
          recently(),
        ),
      /is_allow_registrations/,
    ],
    [
      "role.created with an empty key",
      () => kindeEvent("role.created", { role: { id: "r", key: "" } }, recently()),
      /`data\.role\.key` is empty/,
    ],
    [
      'role.updated with is_default_role "no"',
      () =>
        kindeEvent(
          "role.updated",
          { role: { id: "r", key: "admin", is_default_role: "no" } },
          recently(),
        ),
      /is_default_role/,
    ],
    [
      "permission.deleted with a numeric id",
      () => kindeEvent("permission.deleted", { permission: { id: 9 } }, recently()),
      /permission\.id/,
    ],
    // Sizes.
    [
      "a user in 1,001 organizations",
      () =>
        user({
          organizations: Array.from({ length: 1001 }, (_, i) => ({
            code: `org_${i}`,
            roles: null,
            permissions: null,
          })),
        }),
      /belongs to 1001 organizations; convex-kinde mirrors at most 1000/,
    ],
  ];
  test.each(cases)("%s", async (_, payload, message) => {
    await expectRefused(await signed(payload()), 400, message);
  });

  test("a user in 10,000 organizations: under 1 MiB, so the answer is the 400 for more than 1,000", async () => {
    const organizations = Array.from({ length: 10_000 }, (_, i) => ({
      code: `org_${String(i).padStart(7, "0")}`,
      roles: null,
      permissions: null,
    }));
    const token = await signed(user({ organizations }));
    expect(new TextEncoder().encode(token).byteLength).toBeLessThan(1024 * 1024);
    await expectRefused(token, 400, /belongs to 10000 organizations/);
  });

  test("a first_name nested 10,000 arrays deep (a JSON bomb in a checked field)", async () => {
    const json = `{"type":"user.created","event_id":"event_bomb","timestamp":"${new Date().toISOString()}","data":{"user":{"id":"kp_1","first_name":${nested(10_000, '"Ada"')}}}}`;
    await expectRefused(await app.issuer.signRaw(json), 400, /first_name/);
  });

  test("data.user nested 10,000 objects deep", async () => {
    const deep = '{"user":'.repeat(10_000) + '{"id":"kp_1"}' + "}".repeat(10_000);
    const json = `{"type":"user.created","event_id":"event_bomb","timestamp":"${new Date().toISOString()}","data":${deep}}`;
    await expectRefused(await app.issuer.signRaw(json), 400, /`data`/);
  });
});

describe("never a 500: events Convex could not store, or not read in one mutation", () => {
  // A 500 makes Kinde retry for 36 hours and then disable the endpoint, so a verified event the
  // mirror cannot hold must be refused with a 400 that says why (or be mirrored).

  // Convex strings must be valid Unicode ("Strings are stored as UTF-8 and must be valid
  // Unicode sequences"). JSON still carries a lone surrogate as an escape, so a signed token
  // can hold one. convex-test stores it; a Convex deployment refuses the write.
  const loneSurrogate = "\ud800";
  test.each([
    ["in the user's first_name", () => user({ first_name: `Ada${loneSurrogate}` })],
    ["in the user's id", () => user({ id: `kp_${loneSurrogate}` })],
    [
      "in an organization code",
      () =>
        user({
          organizations: [{ code: `org_${loneSurrogate}`, roles: null, permissions: null }],
        }),
    ],
    ["in the event_id", () => ({ ...user(), event_id: `event_${loneSurrogate}` })],
    [
      "in the type of an event the component ignores (it is recorded)",
      () => kindeEvent(`custom.${loneSurrogate}`, {}, recently()),
    ],
  ])("a lone surrogate %s is refused with 400", async (_, payload) => {
    const token = await signed(payload());
    expect(JSON.stringify(payload())).toContain("\\ud800"); // JSON's escape, inside the signed base64
    await expectRefused(token, 400, /Unicode|surrogate/i);
  });

  test("more than 8,192 roles in one membership (Convex arrays hold at most 8,192 values) is refused with 400", async () => {
    const roles = Array.from({ length: 8_193 }, (_, i) => ({ id: `r${i}`, key: `k${i}` }));
    await expectRefused(
      await signed(user({ organizations: [{ code: "org_many_roles", roles, permissions: null }] })),
      400,
      /roles/,
    );
  });

  test("a user holding 301 distinct roles and permissions is refused with the documented 400; 300 are mirrored", async () => {
    const permissions = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `p${i}`, key: `perm:${i}` }));
    await expectRefused(
      await signed(
        user({ organizations: [{ code: "org_1", roles: null, permissions: permissions(301) }] }),
      ),
      400,
      /holds 301 distinct roles and permissions; convex-kinde mirrors at most 300 per user/,
    );
    const { user: mirrored } = await expectAppliedUser(
      await signed(
        user({ organizations: [{ code: "org_1", roles: null, permissions: permissions(300) }] }),
      ),
    );
    expect(mirrored?.organizations[0]?.permissions).toHaveLength(300);
  });

  test(
    "the worst snapshot within the limits fits one transaction: 1,000 organizations replaced by 1,000 others, 300 roles and permissions",
    { timeout: 60_000 },
    async () => {
      const refs = Array.from({ length: 150 }, (_, i) => ({ id: `x${i}`, key: `x:${i}` }));
      const orgs = (prefix: string) =>
        Array.from({ length: 1000 }, (_, i) => ({
          code: `${prefix}_${i}`,
          roles: i === 0 ? refs : null,
          permissions: i === 0 ? refs.map((r) => ({ id: `p${r.id}`, key: r.key })) : null,
        }));
      await expectAppliedUser(await signed(user({ organizations: orgs("org_a") })));
      const { user: mirrored } = await expectAppliedUser(
        await signed(
          userUpdated(
            { id: "kp_hostile", organizations: orgs("org_b") },
            { at: Date.now() - 1000 },
          ),
        ),
      );
      expect(mirrored?.organizations).toHaveLength(1000);
      expect(mirrored?.organizations.every((o) => o.orgCode.startsWith("org_b"))).toBe(true);
    },
  );
});

describe("200: valid, if odd, and mirrored faithfully", () => {
  test("surrounding whitespace and a trailing newline around the token", async () => {
    const { user: mirrored } = await expectAppliedUser(`\n  ${await signed(user())}\r\n\t`);
    expect(mirrored?.email).toBe("ada@example.com");
  });

  test("unicode: emoji, RTL override, combining marks, zero-width joiners, astral plane, NUL", async () => {
    const names = {
      first_name: "Ada 👩🏽‍💻 \u202Eevil\u202C",
      last_name: "Lovelace\u0000Byron",
      username: "e\u0301\u200d𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
      email: "ÅDA.😀@EXAMPLE.com",
      phone: "+٤٤٢٠٧١٨٣٨٧٥٠",
    };
    const { row, user: mirrored } = await expectAppliedUser(
      await signed(
        user({
          ...names,
          organizations: [
            { code: "org_ünï😀", roles: [{ id: "r-😀", key: "rôle" }], permissions: null },
          ],
        }),
      ),
    );
    expect(mirrored).toEqual({
      kindeId: "kp_hostile",
      email: names.email,
      firstName: names.first_name,
      lastName: names.last_name,
      username: names.username,
      phone: names.phone,
      isSuspended: false,
      isPasswordResetRequested: false,
      organizations: [{ orgCode: "org_ünï😀", roles: ["rôle"], permissions: [] }],
    });
    expect(row.emailLower).toBe("åda.😀@example.com");
    expect(
      (await app.t.query(internal.users.byEmail, { email: "åda.😀@example.COM" }))?.kindeId,
    ).toBe("kp_hostile");
  });

  test("an unhandled type with data nested 10,000 deep is ignored, and only recorded", async () => {
    const json = `{"type":"custom.bomb","event_id":"event_bomb","timestamp":"${new Date().toISOString()}","data":${nested(10_000)}}`;
    await expectIgnored(await app.issuer.signRaw(json), "custom.bomb");
  });

  test.each(["__proto__", "constructor", "toString", "hasOwnProperty", "$type"])(
    "an event type named %s is ignored",
    async (type) => {
      await expectIgnored(await signed(kindeEvent(type, {}, recently())), type);
    },
  );

  test("unhandled data full of prototype and $ keys is ignored", async () => {
    const json = `{"type":"custom.proto","event_id":"event_proto","timestamp":"${new Date().toISOString()}","data":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"$where":"1","_id":"x"}}`;
    await expectIgnored(await app.issuer.signRaw(json), "custom.proto");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test("__proto__, constructor and prototype keys inside a user are stripped; nothing is polluted", async () => {
    const data = JSON.parse(
      `{"user":{"id":"kp_hostile","email":"ada@example.com","__proto__":{"is_suspended":true,"first_name":"Evil"},"constructor":{"prototype":{"isSuspended":true}},"prototype":{"x":1},"organizations":[{"code":"org_1","roles":[{"id":"r","key":"admin","__proto__":{"key":"root"}}],"permissions":null,"__proto__":{"code":"org_evil"}}]}}`,
    ) as object;
    const { row, user: mirrored } = await expectAppliedUser(
      await signed(kindeEvent("user.created", data, recently())),
    );
    expect(mirrored).toEqual({
      kindeId: "kp_hostile",
      email: "ada@example.com",
      isSuspended: false,
      isPasswordResetRequested: false,
      organizations: [{ orgCode: "org_1", roles: ["admin"], permissions: [] }],
    });
    expect(Object.keys(row).sort()).toEqual(
      [
        "_creationTime",
        "_id",
        "email",
        "emailLower",
        "isPasswordResetRequested",
        "isSuspended",
        "kindeId",
        "organizations",
        "version",
      ].sort(),
    );
    expect(({} as Record<string, unknown>).is_suspended).toBeUndefined();
    expect(({} as Record<string, unknown>).isSuspended).toBeUndefined();
  });

  test("$-prefixed and _-prefixed keys (reserved in Convex field names) are stripped, not stored", async () => {
    const payload = {
      ...user({
        organizations: [{ code: "org_1", roles: null, permissions: null }],
      }),
      $envelope: 1,
      _id: "x",
    };
    const data = payload.data as { user: Record<string, unknown> & { organizations: object[] } };
    data.user.$set = { is_suspended: true };
    data.user._creationTime = 1;
    data.user.$ne = "";
    Object.assign(data.user.organizations[0]!, { $code: "org_2", _id: "y" });
    const { row, user: mirrored, tables } = await expectAppliedUser(await signed(payload));
    expect(mirrored).toMatchObject({
      isSuspended: false,
      organizations: [{ orgCode: "org_1", roles: [], permissions: [] }],
    });
    const allKeys = JSON.stringify(tables);
    expect(allKeys).not.toMatch(/"\$/);
    expect(row).not.toHaveProperty("$set");
  });

  test("junk fields everywhere on a handled event are stripped: only the documented fields are stored", async () => {
    const payload = {
      ...user({
        first_name: "Ada",
        organizations: [
          {
            code: "org_1",
            roles: [{ id: "r1", key: "admin", junk: "x" } as never],
            permissions: null,
            junk: { deep: [1, 2, 3] },
          } as never,
        ],
      }),
      junk_top: { a: [1, { b: 2 }] },
      ip_address: "203.0.113.10",
    };
    const data = payload.data as { user: Record<string, unknown> };
    data.user.junk = nested(1000);
    data.user.extra = { nested: { deeper: true } };
    (payload.data as Record<string, unknown>).junk_data = "x".repeat(10_000);
    const { row, tables } = await expectAppliedUser(await signed(payload));
    const { _id: _, _creationTime: __, version, ...stored } = row;
    expect(stored).toEqual({
      kindeId: "kp_hostile",
      email: "ada@example.com",
      emailLower: "ada@example.com",
      firstName: "Ada",
      isSuspended: false,
      isPasswordResetRequested: false,
      organizations: [
        { orgCode: "org_1", roles: [{ kindeId: "r1", key: "admin" }], permissions: [] },
      ],
    });
    expect(version).toMatchObject({ eventId: payload.event_id });
    expect(tables.kindeMemberships.map(({ _id: _, _creationTime: __, ...m }) => m)).toEqual([
      {
        kindeId: "kp_hostile",
        orgCode: "org_1",
        roles: [{ kindeId: "r1", key: "admin" }],
        permissions: [],
      },
    ]);
    expect(JSON.stringify(tables)).not.toMatch(/junk|extra|ip_address/);
  });

  test("10,000 copies of one organization are one membership", async () => {
    const organizations = Array.from({ length: 10_000 }, () => ({
      code: "org_same",
      roles: null,
      permissions: null,
    }));
    const { user: mirrored, tables } = await expectAppliedUser(
      await signed(user({ organizations })),
    );
    expect(mirrored?.organizations).toEqual([{ orgCode: "org_same", roles: [], permissions: [] }]);
    expect(tables.kindeMemberships).toHaveLength(1);
  });

  test("a user in exactly 1,000 organizations (the documented maximum) is mirrored", async () => {
    const organizations = Array.from({ length: 1000 }, (_, i) => ({
      code: `org_${String(i).padStart(4, "0")}`,
      roles: null,
      permissions: null,
    }));
    const { user: mirrored, tables } = await expectAppliedUser(
      await signed(user({ organizations })),
    );
    expect(mirrored?.organizations).toHaveLength(1000);
    expect(tables.kindeMemberships).toHaveLength(1000);
  });

  test("many large headers on a valid delivery change nothing but the request", async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 50; i++) headers[`x-junk-${i}`] = "j".repeat(1024);
    headers["webhook-id"] = "msg_hostile";
    const { answer, tables } = await deliver(await signed(user()), headers);
    expect(answer.status).toBe(200);
    expect(tables.webhookEvents).toMatchObject([{ outcome: "applied", webhookId: "msg_hostile" }]);
  });
});
