import { useKindeAuth } from "@kinde-oss/kinde-auth-react";
import { useConvexAuth } from "convex/react";
import { useKindeUser } from "convex-kinde/react";
import { useState } from "react";
import { api } from "../convex/_generated/api";
import { ConvexUnreachable } from "./components/ConvexUnreachable";
import { Documents } from "./components/Documents";
import { Organizations } from "./components/Organizations";
import { Profile } from "./components/Profile";
import { SyncStatus } from "./components/SyncStatus";
import { TokenRejected } from "./components/TokenRejected";

export function App() {
  return (
    <div className="page">
      <Header />
      <main className="content">
        <ConvexUnreachable />
        <Body />
        <SyncStatus />
      </main>
    </div>
  );
}

function Header() {
  const { isAuthenticated, user, login, register, logout } = useKindeAuth();
  return (
    <header className="header">
      <h1>
        convex-kinde <span className="muted">example</span>
      </h1>
      <div className="row">
        {isAuthenticated ? (
          <>
            <span className="muted">{user?.email ?? user?.id}</span>
            <button type="button" onClick={() => void logout()}>
              Sign out
            </button>
          </>
        ) : (
          <>
            <button type="button" onClick={() => void register()}>
              Create account
            </button>
            <button type="button" className="primary" onClick={() => void login()}>
              Sign in
            </button>
          </>
        )}
      </div>
    </header>
  );
}

/** What to show for each combination of Kinde's and Convex's view of the user. */
function Body() {
  const kinde = useKindeAuth();
  const convex = useConvexAuth();

  if (kinde.isLoading || (kinde.isAuthenticated && convex.isLoading)) {
    return <p className="card muted">Signing in…</p>;
  }
  if (!kinde.isAuthenticated) {
    return (
      <section className="card">
        <h2>Signed out</h2>
        <p>
          Sign in with Kinde to see your profile, organizations, roles and permissions as the mirror
          in Convex holds them, and to try a permission-guarded mutation.
        </p>
        <p className="muted">
          The sync status below names no one, so it is public: it shows whether Kinde's webhook
          reaches your deployment, even before sign-in works.
        </p>
      </section>
    );
  }
  // Kinde signed the user in, but the Convex deployment did not accept Kinde's token.
  if (!convex.isAuthenticated) return <TokenRejected />;
  return <SignedIn />;
}

function SignedIn() {
  const me = useKindeUser(api.kindeUser);
  const [chosenOrg, setChosenOrg] = useState<string | null>(null);

  if (me === undefined) return <p className="card muted">Loading your profile…</p>;
  if (me === null) return <NotMirrored />;

  const orgCode =
    me.organizations.find((org) => org.orgCode === chosenOrg)?.orgCode ??
    me.organizations[0]?.orgCode;
  return (
    <>
      <Profile user={me} />
      <Organizations memberships={me.organizations} selected={orgCode} onSelect={setChosenOrg} />
      {orgCode !== undefined && (
        <Documents key={orgCode} orgCode={orgCode} myKindeId={me.kindeId} />
      )}
    </>
  );
}

/** Convex knows who is signed in, but the mirror has no such user (yet). */
function NotMirrored() {
  const { user } = useKindeAuth();
  return (
    <section className="card warning">
      <h2>Not in the mirror yet</h2>
      <p>
        Convex accepted your Kinde token (you are <code>{user?.id ?? "a Kinde user"}</code>), but no
        webhook has told the mirror about this user.
      </p>
      <ul>
        <li>
          A new user appears within seconds of signing up, once Kinde delivers{" "}
          <code>user.created</code>. This page updates by itself when it does.
        </li>
        <li>
          Users who existed before the webhook was added arrive with their next{" "}
          <code>user.updated</code>: in Kinde, add them to an organization or change their roles.
        </li>
        <li>
          No <em>Last event</em> below? Check the webhook's URL and events in Kinde, and{" "}
          <code>KINDE_ISSUER_URL</code> on the deployment (see example/README.md).
        </li>
      </ul>
    </section>
  );
}
