import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  kindeUserId,
  startKindeTestIssuer,
  userCreated,
  userUpdated,
  type KindeTestIssuer,
} from "convex-kinde/test";
import { api } from "../example/convex/_generated/api.js";
import { initConvexTest } from "./setup.js";

// A fresh issuer per test: the key set cache lives in module scope, per issuer URL.
let issuer: KindeTestIssuer;
let t: ReturnType<typeof initConvexTest>;

beforeEach(async () => {
  issuer = await startKindeTestIssuer();
  vi.stubEnv("KINDE_ISSUER_URL", issuer.url);
  t = initConvexTest();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
  await issuer.close();
});

async function post(token: string) {
  const response = await t.fetch("/kinde/webhook", { method: "POST", body: token });
  return { status: response.status, text: await response.text() };
}

/** Moves the clock jose reads for its cache and cooldown. */
function advanceClock(ms: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + ms);
}

describe("the key set cache", () => {
  test("one key set request serves many events", async () => {
    for (let i = 0; i < 50; i++) {
      expect((await post(await issuer.sign(userCreated({ id: kindeUserId() })))).status).toBe(200);
    }
    expect(issuer.jwksRequests).toBe(1);
  });

  test("a flood of tokens with unknown kids costs at most one refresh per cooldown", async () => {
    expect((await post(await issuer.sign(userCreated({ id: kindeUserId() })))).status).toBe(200);
    const forged = await issuer.signWithUnknownKey(userCreated({ id: kindeUserId() }));
    advanceClock(31_000); // past the cooldown of the first fetch
    const statuses = [];
    for (let i = 0; i < 200; i++) statuses.push((await post(forged)).status);
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(issuer.jwksRequests).toBe(2);
  });

  test("key rotation: a new kid triggers one refresh and verifies", async () => {
    expect((await post(await issuer.sign(userCreated({ id: kindeUserId() })))).status).toBe(200);
    await issuer.rotateKey();
    advanceClock(31_000);
    const id = kindeUserId();
    expect((await post(await issuer.sign(userCreated({ id })))).status).toBe(200);
    expect(issuer.jwksRequests).toBe(2);
    expect(await t.query(api.users.byKindeId, { kindeId: id })).not.toBeNull();
  });

  test("a rotation within the cooldown is refused with 401, and Kinde's retry after it applies the event once", async () => {
    const id = kindeUserId();
    expect(
      (await post(await issuer.sign(userCreated({ id }, { at: Date.now() - 2000 })))).status,
    ).toBe(200);
    await issuer.rotateKey();
    const token = await issuer.sign(
      userUpdated({ id, first_name: "Rotated" }, { at: Date.now() - 1000 }),
    );
    expect((await post(token)).status).toBe(401);
    expect(await t.query(api.users.byKindeId, { kindeId: id })).not.toHaveProperty("firstName");
    advanceClock(31_000);
    expect((await post(token)).text).toMatch(/^applied /);
    expect((await post(token)).text).toMatch(/^duplicate /);
    expect((await t.query(api.users.byKindeId, { kindeId: id }))?.firstName).toBe("Rotated");
  });

  test("a key set that publishes both keys during rotation verifies both with one request", async () => {
    const oldToken = await issuer.sign(userCreated({ id: kindeUserId() }));
    await issuer.rotateKey({ keepOld: true });
    const newToken = await issuer.sign(userCreated({ id: kindeUserId() }));
    expect((await post(newToken)).status).toBe(200);
    expect((await post(oldToken)).status).toBe(200);
    expect(issuer.jwksRequests).toBe(1);
  });
});
