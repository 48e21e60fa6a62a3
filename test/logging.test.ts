import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import {
  kindeUserId,
  startKindeTestIssuer,
  userCreated,
  type KindeTestIssuer,
} from "convex-kinde/test";
import { initConvexTest } from "./setup.js";

// In a file of its own: convex-test proxies globals per handler, and a console
// stubbed after other tests' handlers ran is not always the one handlers see.
let issuer: KindeTestIssuer;
beforeAll(async () => {
  issuer = await startKindeTestIssuer();
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await issuer.close();
});

async function post(
  t: ReturnType<typeof initConvexTest>,
  body: string,
  headers: Record<string, string> = {},
) {
  const response = await t.fetch("/kinde/webhook", { method: "POST", headers, body });
  return { status: response.status, text: await response.text() };
}

const event = () => userCreated({ id: kindeUserId(), email: "ada@example.com" });

describe("logging", () => {
  test("every refusal is logged with its status and reason; an applied event is not (default level)", async () => {
    // convex-test isolates globals per handler: stub the console object, not its methods.
    const warn = vi.fn();
    const error = vi.fn();
    vi.stubGlobal("console", { ...console, warn, error });
    try {
      vi.stubEnv("KINDE_ISSUER_URL", issuer.url);
      const t = initConvexTest();
      await post(t, "not a token", { "webhook-id": "msg_42" });
      expect(warn).toHaveBeenCalledWith(
        "[convex-kinde]",
        expect.stringMatching(
          /^refused a delivery with 401 \(webhook-id msg_42\): \[not_jwt\] .*not a JWT/,
        ),
      );
      vi.stubEnv("KINDE_ISSUER_URL", "");
      await post(t, await issuer.sign(event()));
      expect(error).toHaveBeenCalledWith(
        "[convex-kinde]",
        expect.stringMatching(
          /^refused a delivery with 500: \[config\] KINDE_ISSUER_URL is not set/,
        ),
      );
      vi.stubEnv("KINDE_ISSUER_URL", issuer.url);
      warn.mockClear();
      error.mockClear();
      expect((await post(t, await issuer.sign(event()))).status).toBe(200);
      expect(warn).not.toHaveBeenCalled();
      expect(error).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
