import { describe, expect, test } from "vitest";
import { kindeUserId, userCreated, userUpdated } from "convex-kinde/test";
import { internal } from "../example/convex/_generated/api.js";
import { advanceClock, useWebhookTest } from "./setup.js";

// A fresh issuer per test: the key set cache lives in module scope, per issuer URL.
const app = useWebhookTest({ issuer: "perTest" });

describe("the key set cache", () => {
  test("one key set request serves many events", async () => {
    for (let i = 0; i < 50; i++) {
      expect((await app.deliver(userCreated({ id: kindeUserId() }))).status).toBe(200);
    }
    expect(app.issuer.jwksRequests).toBe(1);
  });

  test("a flood of tokens with unknown kids costs at most one refresh per cooldown", async () => {
    expect((await app.deliver(userCreated({ id: kindeUserId() }))).status).toBe(200);
    const forged = await app.issuer.signWithUnknownKey(userCreated({ id: kindeUserId() }));
    advanceClock(31_000); // past the cooldown of the first fetch
    const statuses = [];
    for (let i = 0; i < 200; i++) statuses.push((await app.post(forged)).status);
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(app.issuer.jwksRequests).toBe(2);
  });

  test("key rotation: a new kid triggers one refresh and verifies", async () => {
    expect((await app.deliver(userCreated({ id: kindeUserId() }))).status).toBe(200);
    await app.issuer.rotateKey();
    advanceClock(31_000);
    const id = kindeUserId();
    expect((await app.deliver(userCreated({ id }))).status).toBe(200);
    expect(app.issuer.jwksRequests).toBe(2);
    expect(await app.t.query(internal.users.byKindeId, { kindeId: id })).not.toBeNull();
  });

  test("a rotation within the cooldown is refused with 401, and Kinde's retry after it applies the event once", async () => {
    const id = kindeUserId();
    expect((await app.deliver(userCreated({ id }, { at: Date.now() - 2000 }))).status).toBe(200);
    await app.issuer.rotateKey();
    const token = await app.issuer.sign(
      userUpdated({ id, first_name: "Rotated" }, { at: Date.now() - 1000 }),
    );
    expect((await app.post(token)).status).toBe(401);
    expect(await app.t.query(internal.users.byKindeId, { kindeId: id })).not.toHaveProperty(
      "firstName",
    );
    advanceClock(31_000);
    expect((await app.post(token)).text).toMatch(/^applied /);
    expect((await app.post(token)).text).toMatch(/^duplicate /);
    expect((await app.t.query(internal.users.byKindeId, { kindeId: id }))?.firstName).toBe(
      "Rotated",
    );
  });

  test("a key set that publishes both keys during rotation verifies both with one request", async () => {
    const oldToken = await app.issuer.sign(userCreated({ id: kindeUserId() }));
    await app.issuer.rotateKey({ keepOld: true });
    const newToken = await app.issuer.sign(userCreated({ id: kindeUserId() }));
    expect((await app.post(newToken)).status).toBe(200);
    expect((await app.post(oldToken)).status).toBe(200);
    expect(app.issuer.jwksRequests).toBe(1);
  });
});
