import { describe, expect, test, vi } from "vitest";
import { SignJWT, base64url, generateKeyPair } from "jose";
import { kindeEvent, kindeUserId, userCreated, userUpdated } from "convex-kinde/test";
import { VERIFICATION_STATUS, type RefusalReason, type VerificationReason } from "convex-kinde";
import { expectNothingWritten, useWebhookTest, withFreshIssuer } from "./setup.js";

const app = useWebhookTest();

/** Asserts the answer and that the component's tables are still empty. */
async function expectRefused(
  response: { status: number; text: string },
  status: number,
  message: RegExp,
) {
  expect(response.status).toBe(status);
  expect(response.text).toMatch(/^convex-kinde: /);
  expect(response.text).toMatch(message);
  await expectNothingWritten(app.t);
}

const event = () => userCreated({ id: kindeUserId(), email: "ada@example.com" });
const encode = (value: object) => base64url.encode(JSON.stringify(value));

describe("401: not a webhook signed by the issuer", () => {
  test("a tampered payload (bad signature)", async () => {
    const [header, , signature] = (await app.issuer.sign(event())).split(".");
    const forged = `${header}.${encode({ ...event(), type: "user.deleted" })}.${signature}`;
    await expectRefused(await app.post(forged), 401, /signature is invalid/);
  });

  test("a token signed by a key the issuer does not publish, after one key set refresh", async () => {
    await expectRefused(
      await app.post(await app.issuer.signWithUnknownKey(event())),
      401,
      /no key .* matches the token's kid/,
    );
  });

  test("alg none", async () => {
    const token = `${encode({ alg: "none", typ: "JWT" })}.${encode(event())}.`;
    await expectRefused(
      await app.post(token),
      401,
      /signed with "none"; Kinde webhooks are signed with RS256/,
    );
  });

  test("HS256 signed with the public key as the secret (algorithm confusion)", async () => {
    const jwks = (await (await fetch(`${app.issuer.url}/.well-known/jwks`)).json()) as {
      keys: object[];
    };
    const secret = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const token = await new SignJWT(event())
      .setProtectedHeader({ alg: "HS256", kid: app.issuer.kid })
      .sign(secret);
    await expectRefused(await app.post(token), 401, /signed with "HS256"/);
  });

  test("RS512 with a key of the issuer's form", async () => {
    const { privateKey } = await generateKeyPair("RS512");
    const token = await new SignJWT(event())
      .setProtectedHeader({ alg: "RS512", kid: app.issuer.kid })
      .sign(privateKey);
    await expectRefused(await app.post(token), 401, /"RS512"/);
  });

  test.each([
    ["an empty body", ""],
    ["JSON (the pre-2025 content type)", JSON.stringify(event())],
    ["two segments", "eyJhbGciOiJSUzI1NiJ9.eyJ0eXBlIjoieCJ9"],
    ["bad base64 in the header", "!!!.eyJ0eXBlIjoieCJ9.c2ln"],
  ])("%s is not a JWT", async (_, body) => {
    await expectRefused(await app.post(body), 401, /not a JWT/);
  });

  test.each([
    [
      "an access token",
      {
        iss: "https://acme.kinde.com",
        aud: ["convex"],
        sub: "kp_1",
        azp: "client",
        scp: ["openid"],
      },
      /`iss`, `aud`, `sub`, `azp`, `scp`/,
    ],
    [
      "an M2M token",
      {
        aud: ["https://acme.kinde.com/api"],
        azp: "m2m",
        gty: ["client_credentials"],
        scope: "read:users",
      },
      /not a webhook/,
    ],
    ["an ID token", { iss: "https://acme.kinde.com", sub: "kp_1" }, /`iss`, `sub`/],
  ])("%s signed by the same keys is refused (token confusion)", async (_, claims, message) => {
    const token = await app.issuer.sign({ ...event(), ...claims });
    await expectRefused(await app.post(token), 401, message);
  });

  test("junk and other algorithms are refused without a key set request", async () => {
    // A fresh issuer: nothing cached, so any key lookup would be a request.
    await withFreshIssuer(async (fresh) => {
      const hs256 = await new SignJWT(event())
        .setProtectedHeader({ alg: "HS256", kid: fresh.kid })
        .sign(new TextEncoder().encode("secret"));
      const none = `${encode({ alg: "none", kid: fresh.kid })}.${encode(event())}.`;
      for (const body of ["", "not.a.jwt", "!!!.e30.c2ln", hs256, none]) {
        expect((await app.post(body)).status).toBe(401);
      }
      expect(fresh.jwksRequests).toBe(0);
      // The same issuer then verifies a real delivery with exactly one request.
      expect((await app.post(await fresh.sign(event()))).status).toBe(200);
      expect(fresh.jwksRequests).toBe(1);
    });
  });

  test("an expired token (Kinde webhooks carry no exp)", async () => {
    const token = await app.issuer.sign({ ...event(), exp: Math.floor(Date.now() / 1000) - 60 });
    await expectRefused(await app.post(token), 401, /refused/);
  });
});

describe("400: verified, but not a usable event", () => {
  test.each([
    ["no event_id", () => ({ ...event(), event_id: undefined }), /event_id/],
    ["no type", () => ({ ...event(), type: undefined }), /type/],
    ["a timestamp that is not a date", () => ({ ...event(), timestamp: "tomorrow" }), /timestamp/],
    [
      "user.created without a user id",
      () => kindeEvent("user.created", { user: { email: "a@b.c" } }),
      /id/,
    ],
    [
      "user.deleted with an empty id",
      () => kindeEvent("user.deleted", { user: { id: "" } }),
      /data\.user\.id/,
    ],
    [
      "roles that are neither key strings nor { id, key } objects",
      () =>
        userUpdated({
          id: "kp_1",
          organizations: [{ code: "o", roles: [7] as never, permissions: null }],
        }),
      /roles\[0\]/,
    ],
    [
      "data not an object for a user event",
      () => kindeEvent("user.updated", "nope" as never),
      /data/,
    ],
  ])("%s", async (_, build, message) => {
    await expectRefused(await app.post(await app.issuer.sign(build())), 400, message);
  });
});

describe("413: too large", () => {
  test("a body over 1 MiB", async () => {
    const body = "x".repeat(1024 * 1024 + 1);
    await expectRefused(await app.post(body), 413, /larger than 1048576 bytes/);
  });

  test("a declared Content-Length over 1 MiB is refused before the body is read", async () => {
    const token = await app.issuer.sign(event());
    await expectRefused(
      await app.post(token, { "content-length": String(2 * 1024 * 1024) }),
      413,
      /larger/,
    );
  });

  test("a streamed body without a length is cut off at 1 MiB", async () => {
    const chunk = new TextEncoder().encode("y".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 40) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await app.t.fetch("/kinde/webhook", {
      method: "POST",
      body: stream,
      // @ts-expect-error -- Node's fetch needs this for a streamed body
      duplex: "half",
    });
    expect(response.status).toBe(413);
    expect(sent).toBeLessThan(40);
  });
});

describe("500: the deployment is not configured", () => {
  test.each([
    ["unset", undefined],
    ["empty", ""],
    ["not a URL", "acme.kinde"],
  ])("KINDE_ISSUER_URL %s", async (_, value) => {
    vi.stubEnv("KINDE_ISSUER_URL", value);
    const response = await app.post(await app.issuer.sign(event()));
    await expectRefused(response, 500, /KINDE_ISSUER_URL/);
    if (!value) expect(response.text).toMatch(/npx convex env set KINDE_ISSUER_URL/);
  });
});

describe("503: the key set cannot be fetched", () => {
  // Each case needs a fresh issuer: the key set of a working issuer is cached.
  test.each([
    ["the server drops the connection", "down", /could not reach the key set/],
    ["the server answers 500", "error", /could not load the key set.*200/],
    ["the server answers garbage", "garbage", /did not return a valid key set/],
  ] as const)("%s", async (_, mode, message) => {
    await withFreshIssuer(async (broken) => {
      broken.setMode(mode);
      await expectRefused(await app.post(await broken.sign(event())), 503, message);
      broken.setMode("ok");
      expect((await app.post(await broken.sign(event()))).status).toBe(200);
    });
  });

  test("the server does not answer within the timeout", async () => {
    await withFreshIssuer(async (broken) => {
      broken.setMode("slow");
      await expectRefused(
        await app.post(await broken.sign(event())),
        503,
        /timed out after 3000 ms/,
      );
    });
  });

  test("nothing listens at the issuer", async () => {
    await withFreshIssuer(async (broken) => {
      await broken.close();
      await expectRefused(
        await app.post(await broken.sign(event())),
        503,
        /could not reach the key set/,
      );
    });
  });
});

describe("every refusal carries a stable reason code", () => {
  const tamper = (token: string) => {
    const [header, , signature] = token.split(".");
    return `${header}.${encode({ ...event(), type: "user.deleted" })}.${signature}`;
  };
  /** One delivery per reason, with the status the reason answers. */
  const cases: [RefusalReason, number, () => Promise<{ status: number; text: string }>][] = [
    ["not_jwt", 401, () => app.post("not a token")],
    ["algorithm", 401, () => app.post(`${encode({ alg: "none" })}.${encode(event())}.`)],
    ["no_matching_key", 401, async () => app.post(await app.issuer.signWithUnknownKey(event()))],
    ["bad_signature", 401, async () => app.post(tamper(await app.issuer.sign(event())))],
    ["not_webhook", 401, async () => app.post(await app.issuer.sign({ ...event(), sub: "kp_1" }))],
    ["invalid_payload", 400, async () => app.post(await app.issuer.sign({ type: "user.created" }))],
    ["too_large", 413, () => app.post("x".repeat(1024 * 1024 + 1))],
    [
      "config",
      500,
      async () => {
        vi.stubEnv("KINDE_ISSUER_URL", "");
        return await app.post(await app.issuer.sign(event()));
      },
    ],
  ];

  test.each(cases)("%s: %i", async (reason, status, deliver) => {
    const answer = await deliver();
    expect(answer.status).toBe(status);
    expect(answer.text).toMatch(new RegExp(`^convex-kinde: \\[${reason}\\] `));
    if (reason in VERIFICATION_STATUS) {
      expect(VERIFICATION_STATUS[reason as VerificationReason]).toBe(status);
    }
  });

  test.each([
    ["down", "jwks_unreachable"],
    ["garbage", "jwks_invalid"],
  ] as const)("a key set that is %s, on a cold cache: 503 [%s]", async (mode, reason) => {
    await withFreshIssuer(async (fresh) => {
      fresh.setMode(mode);
      const answer = await app.post(await fresh.sign(event()));
      expect(answer.status).toBe(503);
      expect(answer.text).toMatch(new RegExp(`^convex-kinde: \\[${reason}\\] `));
    });
  });
});
