import { describe, expect, test, vi } from "vitest";
import { kindeUserId, userCreated } from "convex-kinde/test";
import { initConvexTest, postWebhook, useWebhookTest } from "./setup.js";

// In a file of its own: convex-test proxies globals per handler, and a console
// stubbed after other tests' handlers ran is not always the one handlers see.
// The test builds its own app after stubbing the console, so no handler of that app
// ever ran with the real one.
const app = useWebhookTest();

const event = () => userCreated({ id: kindeUserId(), email: "ada@example.com" });

describe("logging", () => {
  test("every refusal is logged with its status and reason; an applied event is not (default level)", async () => {
    // convex-test isolates globals per handler: stub the console object, not its methods.
    const warn = vi.fn();
    const error = vi.fn();
    vi.stubGlobal("console", { ...console, warn, error });
    try {
      const t = initConvexTest();
      await postWebhook(t, "not a token", { "webhook-id": "msg_42" });
      expect(warn).toHaveBeenCalledWith(
        "[convex-kinde]",
        expect.stringMatching(
          /^refused a delivery with 401 \(webhook-id msg_42\): \[not_jwt\] .*not a JWT/,
        ),
      );
      vi.stubEnv("KINDE_ISSUER_URL", "");
      await postWebhook(t, await app.issuer.sign(event()));
      expect(error).toHaveBeenCalledWith(
        "[convex-kinde]",
        expect.stringMatching(
          /^refused a delivery with 500: \[config\] KINDE_ISSUER_URL is not set/,
        ),
      );
      vi.stubEnv("KINDE_ISSUER_URL", app.issuer.url);
      warn.mockClear();
      error.mockClear();
      expect((await postWebhook(t, await app.issuer.sign(event()))).status).toBe(200);
      expect(warn).not.toHaveBeenCalled();
      expect(error).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
