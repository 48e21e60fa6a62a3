import { useQuery } from "convex/react";
import type { KindeUser } from "convex-kinde";
import type { ReactNode } from "react";
import { api } from "../../convex/_generated/api";
import { TimeAgo } from "./TimeAgo";

/** The signed-in user as the mirror holds it (`api.kindeUser.user`), live. */
export function Profile({ user }: { user: KindeUser }) {
  // The app's own row, written by the event hooks in example/convex/kinde.ts in the same
  // transaction as the mirror's change.
  const appProfile = useQuery(api.users.myProfile);
  const name = [user.firstName, user.lastName].filter(Boolean).join(" ");

  return (
    <section className="card">
      <div className="row spread">
        <h2>{name || user.email || user.phone || user.username || "Your profile"}</h2>
        <div className="row">
          {user.isSuspended && <span className="badge danger">suspended</span>}
          {user.isPasswordResetRequested && <span className="badge">password reset requested</span>}
        </div>
      </div>
      <table className="facts">
        <tbody>
          <Fact label="Kinde id" value={<code>{user.kindeId}</code>} />
          <Fact label="Email" value={user.email} />
          <Fact label="Phone" value={user.phone} />
          <Fact label="Username" value={user.username} />
          <Fact
            label="Last sign-in"
            value={user.lastSignedInAt !== undefined && <TimeAgo ms={user.lastSignedInAt} />}
          />
          <Fact
            label="App profile"
            value={
              appProfile === undefined
                ? "…"
                : (appProfile?.displayName ?? "none (written by the user.created hook)")
            }
          />
        </tbody>
      </table>
      <p className="muted small">
        Change your name in Kinde and watch this card follow: Kinde sends <code>user.updated</code>,
        the webhook applies it, and this query re-runs.
      </p>
    </section>
  );
}

function Fact({ label, value }: { label: string; value: ReactNode }) {
  if (value === undefined || value === false || value === "") return null;
  return (
    <tr>
      <th>{label}</th>
      <td>{value}</td>
    </tr>
  );
}
