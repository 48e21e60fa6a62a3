import { useConvexConnectionState } from "convex/react";
import { useEffect, useState } from "react";
import { convexUrl } from "../config";

/** How long the app waits for Convex's WebSocket before saying it can't be reached. */
export const UNREACHABLE_AFTER_MS = 5_000;

/**
 * Whether the client has been without a WebSocket to Convex for UNREACHABLE_AFTER_MS. The
 * Convex client retries forever and says why only in the console; the page should say so too.
 */
export function useConvexUnreachable(): boolean {
  const { isWebSocketConnected } = useConvexConnectionState();
  const [unreachable, setUnreachable] = useState(false);
  useEffect(() => {
    if (isWebSocketConnected) {
      setUnreachable(false);
      return;
    }
    const timer = setTimeout(() => setUnreachable(true), UNREACHABLE_AFTER_MS);
    return () => clearTimeout(timer);
  }, [isWebSocketConnected]);
  return unreachable;
}

/** Shown above everything else while Convex can't be reached. */
export function ConvexUnreachable() {
  const { hasEverConnected, connectionRetries } = useConvexConnectionState();
  if (!useConvexUnreachable()) return null;
  return (
    <section className="card warning" role="alert">
      <h2>Convex can't be reached</h2>
      <p>
        The app has had no connection to <code>{convexUrl}</code> for {UNREACHABLE_AFTER_MS / 1000}{" "}
        seconds or more
        {connectionRetries > 0 && ` (${connectionRetries} attempts)`}. It keeps trying and carries
        on by itself once the deployment answers.
      </p>
      {hasEverConnected ? (
        <p>It was connected before: check your network, or whether the deployment is paused.</p>
      ) : (
        <ul>
          <li>
            Is <code>VITE_CONVEX_URL</code> in <code>.env.local</code> your deployment's URL (it
            ends in <code>.convex.cloud</code>)? Restart <code>npm run dev:example</code> after
            changing it.
          </li>
          <li>
            Running a local backend? Start it with <code>npx convex dev</code>.
          </li>
        </ul>
      )}
    </section>
  );
}
