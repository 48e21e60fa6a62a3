/// <reference types="vite/client" />
import { afterAll, afterEach, beforeAll, beforeEach, vi } from "vitest";
import { convexTest } from "convex-test";
import kindeTest, { startKindeTestIssuer, type KindeTestIssuer } from "convex-kinde/test";
import schema from "./schema.js";

export const modules = import.meta.glob("./**/*.*s");

/** A fresh example app with the component registered, Convex's transaction limits enforced. */
export function initConvexTest() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  kindeTest.register(t, "kinde", { inspect: true });
  return t;
}

export type ExampleTest = ReturnType<typeof initConvexTest>;

/** What the webhook answered. */
export interface WebhookAnswer {
  status: number;
  text: string;
}

/**
 * Sets up a webhook test file: one local Kinde issuer (key pair + JWKS server
 * on 127.0.0.1) for the file, and for each test a fresh example app whose
 * `KINDE_ISSUER_URL` points at it. Read `t` and `issuer` inside tests.
 */
export function useWebhookTest() {
  let issuer: KindeTestIssuer | undefined;
  let t: ExampleTest | undefined;
  beforeAll(async () => {
    issuer = await startKindeTestIssuer();
  });
  afterAll(async () => {
    await issuer?.close();
  });
  beforeEach(() => {
    vi.stubEnv("KINDE_ISSUER_URL", issuer!.url);
    t = initConvexTest();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.useRealTimers();
    issuer!.setMode("ok");
  });

  const app = {
    get t(): ExampleTest {
      return t!;
    },
    get issuer(): KindeTestIssuer {
      return issuer!;
    },
    /** POSTs `body` to the webhook route as Kinde does. */
    async post(body: BodyInit, headers: Record<string, string> = {}): Promise<WebhookAnswer> {
      const response = await app.t.fetch("/kinde/webhook", {
        method: "POST",
        headers: { "content-type": "application/jwt", ...headers },
        body,
      });
      return { status: response.status, text: await response.text() };
    },
    /** Signs `payload` with the issuer's key and POSTs it. */
    async deliver(payload: object, headers?: Record<string, string>): Promise<WebhookAnswer> {
      return await app.post(await app.issuer.sign(payload), headers);
    },
  };
  return app;
}
