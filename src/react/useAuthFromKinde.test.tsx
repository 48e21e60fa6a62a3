// @vitest-environment happy-dom
import { act, cleanup, render, renderHook, screen } from "@testing-library/react";
import { ConvexReactClient, useConvexAuth } from "convex/react";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { WebSocketServer } from "ws";
import { startKindeTestIssuer, type KindeTestIssuer } from "../testing/issuer.js";
import { ConvexProviderWithKinde } from "./ConvexProviderWithKinde.js";
import { sdkFailureLog } from "./sdkFailures.js";
import { secondsUntilExpiry, stillValid } from "./tokens.js";
import {
  useAuthFromKinde,
  type KindeAuthState,
  type UseAuthFromKindeOptions,
} from "./useAuthFromKinde.js";

const DOMAIN = "https://acme.kinde.com";
const CLIENT_ID = "3f1e9c0b7d2a4e6f8a1b2c3d4e5f6a7b";
const options: UseAuthFromKindeOptions = { domain: DOMAIN, clientId: CLIENT_ID };

let issuer: KindeTestIssuer;
beforeAll(async () => {
  issuer = await startKindeTestIssuer();
});
afterAll(async () => {
  await issuer.close();
});
afterEach(() => {
  cleanup();
});

/** A Kinde-signed token of `kind` for Ada, expiring `seconds` from now (negative: expired). */
async function kindeToken(kind: "id" | "access", seconds: number) {
  const now = Math.floor(Date.now() / 1000);
  return await issuer.sign({
    iss: DOMAIN,
    sub: "kp_0123456789abcdef0123456789abcdef",
    aud: kind === "id" ? [CLIENT_ID] : ["convex"],
    iat: now,
    exp: now + seconds,
    ...(kind === "access" ? { org_code: "org_1a2b3c4d5e6", azp: CLIENT_ID } : {}),
  });
}

type RefreshResult = Awaited<ReturnType<KindeAuthState["refreshToken"]>>;

/**
 * Kinde's React SDK as `useKindeAuth()` returns it, with its storage: like the
 * SDK, every state change hands out new function objects, and a successful
 * refresh stores the new tokens.
 */
function fakeKinde(stored: { id?: string; access?: string }) {
  const storage = { ...stored };
  const refresh = vi.fn<(o: { domain: string; clientId: string }) => Promise<RefreshResult>>();
  const state = (isAuthenticated = true): KindeAuthState => ({
    isLoading: false,
    isAuthenticated,
    getIdToken: async () => storage.id,
    getAccessToken: async () => storage.access,
    refreshToken: async (o) => {
      const result = await refresh(o);
      if (result.success) {
        storage.id = result.idToken ?? storage.id;
        storage.access = result.accessToken ?? storage.access;
      }
      return result;
    },
  });
  return { storage, refresh, state };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("tokens", () => {
  test("secondsUntilExpiry reads exp; anything else is null", async () => {
    const now = Date.now();
    const left = secondsUntilExpiry(await kindeToken("id", 3600), now);
    expect(left).toBeGreaterThan(3590);
    expect(left).toBeLessThanOrEqual(3600);
    expect(secondsUntilExpiry(await kindeToken("id", -10), now)).toBeLessThan(-9);
    expect(secondsUntilExpiry(await issuer.sign({ sub: "kp_x" }), now)).toBeNull();
    for (const junk of [undefined, null, "", "abc", "a.%%%.c", "a.bm90IGpzb24.c"]) {
      expect(secondsUntilExpiry(junk, now)).toBeNull();
    }
  });

  test("stillValid keeps a token with more than 5 s left", async () => {
    const token = await kindeToken("id", 60);
    const now = Date.now();
    expect(stillValid(token, now)).toBe(token);
    expect(stillValid(token, now + 54_000)).toBe(token);
    expect(stillValid(token, now + 56_000)).toBeNull();
    expect(stillValid(await issuer.sign({ sub: "kp_x" }), now)).toBeNull();
  });
});

describe("sdkFailureLog", () => {
  test("logs the first failure of a streak and each new cause in it; an answer ends the streak", () => {
    const lines: string[] = [];
    const log = sdkFailureLog((line) => lines.push(line));
    const refused = new DOMException("The operation is insecure.", "SecurityError");
    log.failed(refused, DOMAIN);
    log.failed(new DOMException("The operation is insecure.", "SecurityError"), DOMAIN);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[convex-kinde\] .*SecurityError: The operation is insecure\./);
    log.failed("storage unavailable", DOMAIN);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("(storage unavailable)");
    log.answered();
    log.answered();
    log.failed("storage unavailable", DOMAIN);
    expect(lines).toHaveLength(3);
  });
});

describe("useAuthFromKinde", () => {
  test("fetchAccessToken stays the same function across Kinde's state changes, and uses the latest", async () => {
    const first = await kindeToken("id", 3600);
    const kinde = fakeKinde({ id: first });
    const { result, rerender } = renderHook(
      ({ state }: { state: KindeAuthState }) => useAuthFromKinde(state, { ...options }),
      { initialProps: { state: kinde.state() } },
    );
    const fetchAccessToken = result.current.fetchAccessToken;
    expect(await fetchAccessToken({ forceRefreshToken: false })).toBe(first);

    // Kinde refreshed on its own: new functions, a new stored token, and new options objects.
    const second = await kindeToken("id", 3600);
    kinde.storage.id = second;
    rerender({ state: kinde.state() });
    rerender({ state: kinde.state() });
    expect(result.current.fetchAccessToken).toBe(fetchAccessToken);
    expect(await fetchAccessToken({ forceRefreshToken: false })).toBe(second);
    expect(kinde.refresh).not.toHaveBeenCalled();
  });

  test("concurrent forced refreshes make one request to Kinde", async () => {
    const kinde = fakeKinde({ id: await kindeToken("id", 30) });
    const { result } = renderHook(() => useAuthFromKinde(kinde.state(), options));
    const fresh = await kindeToken("id", 3600);
    const answer = deferred<RefreshResult>();
    kinde.refresh.mockReturnValueOnce(answer.promise);

    const calls = [1, 2, 3].map(() => result.current.fetchAccessToken({ forceRefreshToken: true }));
    answer.resolve({ success: true, idToken: fresh, accessToken: "unused" });
    expect(await Promise.all(calls)).toEqual([fresh, fresh, fresh]);
    expect(kinde.refresh).toHaveBeenCalledTimes(1);
    expect(kinde.refresh).toHaveBeenCalledWith({ domain: DOMAIN, clientId: CLIENT_ID });

    // Once settled, the next forced request refreshes again.
    const newer = await kindeToken("id", 3600);
    kinde.refresh.mockResolvedValueOnce({ success: true, idToken: newer });
    expect(await result.current.fetchAccessToken({ forceRefreshToken: true })).toBe(newer);
    expect(kinde.refresh).toHaveBeenCalledTimes(2);
  });

  test("the stored token while it is valid, a refresh once it is not, null when that fails", async () => {
    const valid = await kindeToken("id", 600);
    const kinde = fakeKinde({ id: valid });
    const { result } = renderHook(() => useAuthFromKinde(kinde.state(), options));
    const fetchToken = (forceRefreshToken: boolean) =>
      result.current.fetchAccessToken({ forceRefreshToken });

    expect(await fetchToken(false)).toBe(valid);
    // A forced refresh that Kinde refuses still hands over the stored token while it lasts.
    kinde.refresh.mockResolvedValueOnce({ success: false, error: "Failed to refresh token" });
    expect(await fetchToken(true)).toBe(valid);

    // Expired: not handed over as is; refreshed instead.
    kinde.storage.id = await kindeToken("id", -1);
    const fresh = await kindeToken("id", 3600);
    kinde.refresh.mockResolvedValueOnce({ success: true, idToken: fresh });
    expect(await fetchToken(false)).toBe(fresh);

    // Expired, and Kinde cannot refresh (refused, or the network failed): null, signed out.
    kinde.storage.id = await kindeToken("id", 3);
    kinde.refresh.mockResolvedValueOnce({ success: false, error: "No refresh token found" });
    expect(await fetchToken(false)).toBeNull();
    kinde.refresh.mockRejectedValueOnce(new TypeError("Failed to fetch"));
    expect(await fetchToken(true)).toBeNull();
  });

  test("Kinde's SDK throwing gives null, never a rejection, logged once per streak", async () => {
    const valid = await kindeToken("id", 600);
    const kinde = fakeKinde({ id: valid });
    const storage = { refuses: true };
    const refused = () => new DOMException("The operation is insecure.", "SecurityError");
    const state = (): KindeAuthState => ({
      ...kinde.state(),
      getIdToken: () =>
        storage.refuses ? Promise.reject(refused()) : Promise.resolve(kinde.storage.id),
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const { result } = renderHook(() => useAuthFromKinde(state(), options));
      const fetchToken = (forceRefreshToken: boolean) =>
        result.current.fetchAccessToken({ forceRefreshToken });
      const ours = () =>
        logged.mock.calls.map(([text]) => String(text)).filter((t) => t.includes("[convex-kinde]"));

      // Convex's two asks at sign-in, the stored token and a forced refresh, and a reconnect.
      kinde.refresh.mockRejectedValue(refused());
      expect(await fetchToken(false)).toBeNull();
      expect(await fetchToken(true)).toBeNull();
      expect(await Promise.all([1, 2, 3].map(() => fetchToken(true)))).toEqual([null, null, null]);
      expect(ours()).toHaveLength(1);
      expect(ours()[0]).toContain("SecurityError: The operation is insecure.");
      expect(ours()[0]).toContain("signed out");

      // A refresh that throws while a stored token has life left: the stored token, no log.
      storage.refuses = false;
      expect(await fetchToken(true)).toBe(valid);
      // The SDK answered: the streak is over, and the next failure is logged again.
      storage.refuses = true;
      expect(await fetchToken(false)).toBeNull();
      expect(ours()).toHaveLength(2);

      // Within a streak, a different failure is a new cause: logged once too.
      kinde.storage.id = await kindeToken("id", 2);
      storage.refuses = false;
      kinde.refresh.mockRejectedValue(new TypeError("Failed to fetch"));
      expect(await fetchToken(false)).toBeNull();
      expect(await fetchToken(true)).toBeNull();
      expect(ours()).toHaveLength(3);
      expect(ours()[2]).toContain("TypeError: Failed to fetch");
      expect(ours()[2]).toContain(DOMAIN);

      // An SDK function that throws instead of rejecting.
      const throwing: KindeAuthState = {
        ...kinde.state(),
        getIdToken: () => {
          throw refused();
        },
        refreshToken: () => {
          throw refused();
        },
      };
      const sync = renderHook(() => useAuthFromKinde(throwing, options));
      expect(await sync.result.current.fetchAccessToken({ forceRefreshToken: false })).toBeNull();
      expect(await sync.result.current.fetchAccessToken({ forceRefreshToken: true })).toBeNull();
      expect(ours()).toHaveLength(4);
    } finally {
      logged.mockRestore();
    }
  });

  test("ID token by default, the access token with tokenType: 'access'", async () => {
    const id = await kindeToken("id", 600);
    const access = await kindeToken("access", 600);
    const kinde = fakeKinde({ id, access });
    const idMode = renderHook(() => useAuthFromKinde(kinde.state(), options));
    const accessMode = renderHook(() =>
      useAuthFromKinde(kinde.state(), { ...options, tokenType: "access" }),
    );
    expect(await idMode.result.current.fetchAccessToken({ forceRefreshToken: false })).toBe(id);
    expect(await accessMode.result.current.fetchAccessToken({ forceRefreshToken: false })).toBe(
      access,
    );

    const [newId, newAccess] = [await kindeToken("id", 900), await kindeToken("access", 900)];
    kinde.refresh.mockResolvedValue({ success: true, idToken: newId, accessToken: newAccess });
    expect(await idMode.result.current.fetchAccessToken({ forceRefreshToken: true })).toBe(newId);
    expect(await accessMode.result.current.fetchAccessToken({ forceRefreshToken: true })).toBe(
      newAccess,
    );
  });

  test("sign-out: not authenticated, no token, no refresh attempt", async () => {
    const kinde = fakeKinde({ id: await kindeToken("id", 600) });
    const { result, rerender } = renderHook(
      ({ state }: { state: KindeAuthState }) => useAuthFromKinde(state, options),
      { initialProps: { state: kinde.state(true) } },
    );
    expect(result.current.isAuthenticated).toBe(true);
    const fetchAccessToken = result.current.fetchAccessToken;

    // Kinde's logout clears its storage and reports the user signed out.
    kinde.storage.id = undefined;
    rerender({ state: kinde.state(false) });
    expect(result.current).toMatchObject({ isAuthenticated: false, isLoading: false });
    expect(result.current.fetchAccessToken).toBe(fetchAccessToken);
    expect(await fetchAccessToken({ forceRefreshToken: false })).toBeNull();
    expect(await fetchAccessToken({ forceRefreshToken: true })).toBeNull();
    expect(kinde.refresh).not.toHaveBeenCalled();
  });
});

describe("ConvexProviderWithKinde", () => {
  /** The part of ConvexReactClient that ConvexProviderWithAuth drives. */
  function recordingClient() {
    const calls: string[] = [];
    const fetchers: ((a: { forceRefreshToken: boolean }) => Promise<string | null>)[] = [];
    const client = {
      setAuth: (fetchToken: (typeof fetchers)[number], onChange: (ok: boolean) => void) => {
        calls.push("setAuth");
        fetchers.push(fetchToken);
        void fetchToken({ forceRefreshToken: false }).then((token) => onChange(token !== null));
      },
      clearAuth: () => calls.push("clearAuth"),
    };
    return { client: client as unknown as ConvexReactClient, calls, fetchers };
  }

  test("signs Convex in once, stays signed in across Kinde's refreshes, and out on sign-out", async () => {
    const kinde = fakeKinde({ id: await kindeToken("id", 600) });
    let state = kinde.state(true);
    const useKindeAuth = () => state;
    const { client, calls, fetchers } = recordingClient();
    // A new element each time, as when Kinde's context changes and re-renders the tree.
    const ui = () => (
      <ConvexProviderWithKinde
        client={client}
        useKindeAuth={useKindeAuth}
        domain={DOMAIN}
        clientId={CLIENT_ID}
      >
        <p>app</p>
      </ConvexProviderWithKinde>
    );
    const view = render(ui());
    await act(async () => {});
    expect(view.getByText("app")).toBeTruthy();
    expect(calls).toEqual(["setAuth"]);

    // Kinde refreshes its tokens three times: new function objects each time.
    for (let i = 0; i < 3; i++) {
      kinde.storage.id = await kindeToken("id", 600);
      state = kinde.state(true);
      view.rerender(ui());
      await act(async () => {});
    }
    expect(calls).toEqual(["setAuth"]);
    expect(await fetchers[0]!({ forceRefreshToken: false })).toBe(kinde.storage.id);

    kinde.storage.id = undefined;
    state = kinde.state(false);
    view.rerender(ui());
    await act(async () => {});
    expect(calls).toEqual(["setAuth", "clearAuth"]);
  });
});

/**
 * A WebSocket server on 127.0.0.1 standing where a Convex deployment would: it never answers,
 * and keeps the type of every message a client sends, which is what shows whether the client
 * got as far as `Connect`.
 */
async function silentDeployment() {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const received: string[] = [];
  server.on("connection", (socket) => {
    socket.on("message", (data) => {
      received.push((JSON.parse(String(data)) as { type: string }).type);
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe("ConvexProviderWithKinde over a real ConvexReactClient", () => {
  test("Kinde's SDK throwing leaves the app signed out, not loading, logged once, nothing unhandled", async () => {
    const deployment = await silentDeployment();
    const convex = new ConvexReactClient(deployment.url, {
      skipConvexDeploymentUrlCheck: true,
      unsavedChangesWarning: false,
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const logged = vi.spyOn(console, "error");
    try {
      // Storage the browser refuses (a sandboxed iframe, blocked site data): each read throws.
      const blocked = () => new DOMException("The operation is insecure.", "SecurityError");
      const kinde: KindeAuthState = {
        isLoading: false,
        isAuthenticated: true,
        getIdToken: async () => {
          throw blocked();
        },
        getAccessToken: async () => {
          throw blocked();
        },
        refreshToken: async () => {
          throw blocked();
        },
      };
      function AuthState() {
        const { isLoading, isAuthenticated } = useConvexAuth();
        return <p>{isLoading ? "loading" : isAuthenticated ? "signed in" : "signed out"}</p>;
      }
      render(
        <ConvexProviderWithKinde
          client={convex}
          useKindeAuth={() => kinde}
          domain={DOMAIN}
          clientId={CLIENT_ID}
        >
          <AuthState />
        </ConvexProviderWithKinde>,
      );
      expect(screen.getByText("loading")).toBeTruthy();

      expect(await screen.findByText("signed out")).toBeTruthy();
      // The client goes on without a token: it connects, and sends no Authenticate.
      await vi.waitFor(() => expect(deployment.received).toContain("Connect"));
      expect(deployment.received).not.toContain("Authenticate");
      // Convex asked twice (the cached token, then a forced refresh): one log for the streak.
      const ours = logged.mock.calls.filter(([text]) => String(text).includes("[convex-kinde]"));
      expect(ours).toHaveLength(1);
      expect(String(ours[0]![0])).toMatch(/SecurityError.*signed out/s);
      expect(unhandled).toEqual([]);
    } finally {
      cleanup();
      await convex.close();
      await deployment.close();
      process.off("unhandledRejection", onUnhandled);
      logged.mockRestore();
    }
  });
});
