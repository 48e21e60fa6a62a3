import { useConvexConnectionState, usePaginatedQuery, useQuery } from "convex/react";
import type { EventRecord } from "convex-kinde";
import { api } from "../../convex/_generated/api";
import { useConvexUnreachable } from "./ConvexUnreachable";
import { TimeAgo } from "./TimeAgo";

/**
 * Whether Kinde's webhook reaches this deployment: what the mirror holds and what the
 * webhook did lately (`getSyncStatus` and the event log). Both are public queries in this
 * example; in your app, guard them like any other admin data.
 */
export function SyncStatus() {
  const status = useQuery(api.diagnostics.syncStatus);
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
                {status.unappliedEvents}
                {status.lastUnappliedEvent && (
                  <>
                    {" "}
                    (last: <code>{status.lastUnappliedEvent.type}</code>{" "}
                    <Outcome record={status.lastUnappliedEvent} />{" "}
                    <TimeAgo ms={status.lastUnappliedEvent.receivedAt} />)
                  </>
                )}
              </td>
            </tr>
            <tr>
              <th>Last event</th>
              <td>
                {status.lastEvent === null ? (
                  <span className="muted">
                    none yet: no webhook delivery has been verified on this deployment
                  </span>
                ) : (
                  <>
                    <code>{status.lastEvent.type}</code> <Outcome record={status.lastEvent} />{" "}
                    <TimeAgo ms={status.lastEvent.receivedAt} />
                  </>
                )}
              </td>
            </tr>
          </tbody>
        </table>
      )}
      <RecentEvents />
    </section>
  );
}

function RecentEvents() {
  const { results, status, loadMore } = usePaginatedQuery(
    api.diagnostics.recentEvents,
    {},
    { initialNumItems: 10 },
  );

  return (
    <>
      <h3>Recent webhook events</h3>
      {status === "LoadingFirstPage" ? (
        <p className="muted">Loading…</p>
      ) : results.length === 0 ? (
        <p className="muted">
          No events yet. Deliveries the webhook refused (401, 400, 500, 503…) write nothing: see the
          webhook's delivery log in Kinde and your deployment's logs in Convex.
        </p>
      ) : (
        <table className="events">
          <thead>
            <tr>
              <th>Received</th>
              <th>Type</th>
              <th>Outcome</th>
              <th>About</th>
            </tr>
          </thead>
          <tbody>
            {results.map((record) => (
              <tr key={record.eventId} title={`event_id ${record.eventId}`}>
                <td>
                  <TimeAgo ms={record.receivedAt} />
                </td>
                <td>
                  <code>{record.type}</code>
                </td>
                <td>
                  <Outcome record={record} />
                </td>
                <td>
                  {record.entityId !== undefined && (
                    <code className="muted">{record.entityId}</code>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {status === "CanLoadMore" && (
        <button type="button" onClick={() => loadMore(10)}>
          Load older events
        </button>
      )}
      {status === "LoadingMore" && <p className="muted">Loading…</p>}
    </>
  );
}

const outcomeHelp: Record<EventRecord["outcome"], string> = {
  applied: "the mirror changed",
  stale: "older than what the mirror holds, or about a deleted entity",
  expired: "happened before the retention window; not applied",
  ignored: "an event type the component does not mirror",
  future: "dated further ahead than the clock-skew allowance; recorded, not applied",
  failed: "no retry could apply it (a Convex limit); recorded, not applied",
};

function Outcome({ record }: { record: EventRecord }) {
  return (
    <span
      className={
        record.outcome === "applied"
          ? "badge ok"
          : record.outcome === "failed" || record.outcome === "future"
            ? "badge danger"
            : "badge"
      }
      title={record.error ?? outcomeHelp[record.outcome]}
    >
      {record.outcome}
    </span>
  );
}
