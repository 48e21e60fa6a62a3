// @vitest-environment happy-dom
// The hooks of convex-kinde/react over the generated queries, rendered with React Testing
// Library against the example app in convex-test: a permission-gated button follows the
// mirror when a signed webhook revokes the permission.
import { act, cleanup, render, screen } from "@testing-library/react";
import { ConvexProviderWithAuth, type ConvexReactClient } from "convex/react";
import { getFunctionName, type FunctionReference } from "convex/server";
import { kindeOrgCode, kindeUserId, kindeUuid, userUpdated } from "convex-kinde/test";
import {
  useHasPermission,
  useHasRole,
  useKindeOrganizations,
  useKindeUser,
} from "convex-kinde/react";
import { afterEach, expect, test } from "vitest";
import { api } from "../example/convex/_generated/api.js";
import { useWebhookTest, type ExampleTest } from "./setup.js";

// happy-dom's fetch enforces the same-origin policy of a page; the webhook's key-set fetch is
// server code (in Convex it runs in the deployment, not in a browser).
(window as unknown as HappyDomWindow).happyDOM.settings.fetch.disableSameOriginPolicy = true;
type HappyDomWindow = { happyDOM: { settings: { fetch: { disableSameOriginPolicy: boolean } } } };

const app = useWebhookTest();
afterEach(() => {
  cleanup();
});

/**
 * The part of ConvexReactClient that useQuery and ConvexProviderWithAuth use, answering from
 * convex-test as one signed-in user. Convex pushes new results when a query's reads change;
 * here `sync()` re-runs every watched query and notifies the ones whose result changed.
 */
function convexTestClient(t: Pick<ExampleTest, "query">) {
  type Entry = { result: unknown; listeners: Set<() => void>; run: () => Promise<unknown> };
  const watched = new Map<string, Entry>();
  const sync = async () => {
    for (const entry of watched.values()) {
      const result = await entry.run();
      if (JSON.stringify(result) !== JSON.stringify(entry.result)) {
        entry.result = result;
        for (const listener of entry.listeners) listener();
      }
    }
  };
  const client = {
    watchQuery(query: FunctionReference<"query">, args: Record<string, unknown> = {}) {
      const key = `${getFunctionName(query)}:${JSON.stringify(args)}`;
      let entry = watched.get(key);
      if (!entry) {
        entry = { result: undefined, listeners: new Set(), run: () => t.query(query, args) };
        watched.set(key, entry);
      }
      const current = entry;
      return {
        onUpdate(listener: () => void) {
          current.listeners.add(listener);
          void sync();
          return () => current.listeners.delete(listener);
        },
        localQueryResult: () => current.result,
        journal: () => undefined,
      };
    },
    setAuth(_fetch: unknown, onChange: (isAuthenticated: boolean) => void) {
      onChange(true);
    },
    clearAuth() {},
  };
  return {
    client: client as unknown as ConvexReactClient,
    sync,
  };
}

const signedIn = () => ({
  isLoading: false,
  isAuthenticated: true,
  fetchAccessToken: async () => "token",
});

function PublishButton({ orgCode }: { orgCode?: string }) {
  const canPublish = useHasPermission(api.kindeUser, "publish:docs", { orgCode });
  return <button disabled={canPublish !== true}>Publish</button>;
}

function Header() {
  const user = useKindeUser(api.kindeUser);
  const organizations = useKindeOrganizations(api.kindeUser);
  const isAdmin = useHasRole(api.kindeUser, "admin");
  if (user === undefined || organizations === undefined) return <p>loading</p>;
  return (
    <p>
      {user?.firstName ?? "nobody"} in {organizations.map((o) => o.orgCode).join(",")}
      {isAdmin ? " (admin)" : ""}
    </p>
  );
}

test("a permission-gated button follows a revoking webhook, with one hook call", async () => {
  const acme = kindeOrgCode();
  const ada = kindeUserId();
  const admin = { id: kindeUuid(), key: "admin" };
  const publish = { id: kindeUuid(), key: "publish:docs" };
  const T0 = Date.now() - 60_000;
  const membership = (permissions: (typeof publish)[]) => ({
    id: ada,
    first_name: "Ada",
    organizations: [{ code: acme, roles: [admin], permissions }],
  });
  expect((await app.deliver(userUpdated(membership([publish]), { at: T0 }))).status).toBe(200);

  // An access token for acme (org_code), so neither hook is told the organization.
  const convex = convexTestClient(app.t.withIdentity({ subject: ada, org_code: acme }));
  render(
    <ConvexProviderWithAuth client={convex.client} useAuth={signedIn}>
      <Header />
      <PublishButton />
    </ConvexProviderWithAuth>,
  );
  const button = () => screen.getByRole<HTMLButtonElement>("button", { name: "Publish" });
  expect(button().disabled).toBe(true); // loading
  await act(convex.sync);
  expect(button().disabled).toBe(false);
  expect(screen.getByText(`Ada in ${acme} (admin)`)).toBeTruthy();

  // Kinde revokes publish:docs; the token in the browser still lists it until it expires.
  expect((await app.deliver(userUpdated(membership([]), { at: T0 + 1 }))).status).toBe(200);
  await act(convex.sync);
  expect(button().disabled).toBe(true);
  expect(screen.getByText(`Ada in ${acme} (admin)`)).toBeTruthy();

  // And back.
  expect((await app.deliver(userUpdated(membership([publish]), { at: T0 + 2 }))).status).toBe(200);
  await act(convex.sync);
  expect(button().disabled).toBe(false);
});

test("signed out: the hooks answer no user, no organizations, no permission", async () => {
  const anonymous = convexTestClient(app.t);
  render(
    <ConvexProviderWithAuth client={anonymous.client} useAuth={signedIn}>
      <Header />
      <PublishButton orgCode="org_1a2b3c4d5e6" />
    </ConvexProviderWithAuth>,
  );
  await act(anonymous.sync);
  expect(screen.getByText(/nobody in/)).toBeTruthy();
  expect(screen.getByRole<HTMLButtonElement>("button").disabled).toBe(true);
});
