import { useConvexConnectionState, useQuery } from "convex/react";
import { api } from "../../convex/_generated/api";
import { useConvexUnreachable } from "./ConvexUnreachable";
import { TimeAgo } from "./TimeAgo";

/**
 * Whether Kinde's webhook reaches this deployment: how much the mirror holds and when the last
 * event arrived (`diagnostics.syncSummary`). It names no one, so it is public and shows before
 * sign-in works; the event log itself is an internal query.
 */
export function SyncStatus() {
  const status = useQuery(api.diagnostics.syncSummary);
  const connection = useConvexConnectionState();
  const unreachable = useConvexUnreachable();

  return (
    <section className="card">
      <div className="row spread">
        <h2>Sync status</h2>
        <span className={connection.isWebSocketConnected ? "badge ok" : "badge"}>
          {connection.isWebSocketConnected ? "live" : unreachable ? "unreachable" : "connecting…"}
        </span>
      </div>
      {status === undefined ? (
        <p className="muted">Loading…</p>
      ) : (
        <table className="facts">
          <tbody>
            <tr>
              <th>Users mirrored</th>
              <td>{status.users}</td>
            </tr>
            <tr>
              <th>Organizations mirrored</th>
              <td>{status.organizations}</td>
            </tr>
            <tr>
              <th>Events not applied</th>
              <td>
                {status.unappliedEvents > 0 ? (
                  <span className="badge danger">{status.unappliedEvents}</span>
                ) : (
                  0
                )}
              </td>
            </tr>
            <tr>
              <th>Last event</th>
              <td>
                {status.lastEventAt === null ? (
                  <span className="muted">
                    none yet: no webhook delivery has been verified on this deployment
                  </span>
                ) : (
                  <TimeAgo ms={status.lastEventAt} />
                )}
              </td>
            </tr>
          </tbody>
        </table>
      )}
      <p className="muted small">
        The event log names every user and when each signs in, so it is an internal query: read it
        in the Convex dashboard, or with{" "}
        <code>
          npx convex run diagnostics:recentEvents {"'"}
          {'{"paginationOpts": {"numItems": 10, "cursor": null}}'}
          {"'"}
        </code>
        . Deliveries the webhook refused (401, 400, 500, 503…) write nothing: see the webhook's
        delivery log in Kinde and your deployment's logs in Convex.
      </p>
    </section>
  );
}
