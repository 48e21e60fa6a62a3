/// <reference types="vite/client" />
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { convexTest } from "convex-test";
import kindeTest, {
  startKindeTestIssuer,
  userCreated,
  type KindeTestIssuer,
} from "convex-kinde/test";
import schema from "./schema";
import { api } from "./_generated/api";

const modules = import.meta.glob("./**/*.ts");
let issuer: KindeTestIssuer;

beforeAll(async () => {
  issuer = await startKindeTestIssuer();
  vi.stubEnv("KINDE_ISSUER_URL", issuer.url);
});
afterAll(async () => {
  await issuer.close();
});

test("a signed user.created posted to this app's /kinde/webhook is mirrored", async () => {
  const t = convexTest({ schema, modules });
  kindeTest.register(t);
  const kindeId = "kp_0123456789abcdef0123456789abcdef";
  const response = await t.fetch("/kinde/webhook", {
    method: "POST",
    headers: { "content-type": "application/jwt" },
    body: await issuer.sign(userCreated({ id: kindeId, email: "ada@example.com" })),
  });
  expect(response.status).toBe(200);
  const me = await t.withIdentity({ subject: kindeId }).query(api.users.me, {});
  expect(me).toMatchObject({ kindeId, email: "ada@example.com" });
});
