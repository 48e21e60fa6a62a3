import { useKindeAuth } from "@kinde-oss/kinde-auth-react";
import { useCallback, useEffect, useMemo, useRef } from "react";
import { kindeConfig } from "./config";
import { secondsLeft } from "./jwt";

/**
 * Kinde's sign-in state, in the shape `ConvexProviderWithAuth` takes as `useAuth`:
 *
 * ```tsx
 * <KindeProvider …>
 *   <ConvexProviderWithAuth client={convex} useAuth={useAuthFromKinde}>
 * ```
 *
 * It hands Convex Kinde's **ID token**, whose `iss` is your Kinde domain and whose `aud` is
 * your Kinde app's client id: what `convex/auth.config.ts` accepts with
 * `{ domain: KINDE_ISSUER_URL, applicationID: KINDE_CLIENT_ID }` (option A in the README).
 *
 * Option B, an access token for an API audience: register an API with audience `convex` in
 * Kinde and authorize this app for it, pass `audience="convex"` to `KindeProvider`, use
 * `applicationID: "convex"` in auth.config.ts, and in this hook read the access token
 * instead of the ID token:
 *
 * ```ts
 * const { isLoading, isAuthenticated, getAccessToken, refreshToken } = useKindeAuth();
 * // in fetchAccessToken:                   (await getAccessToken()) ?? null
 * // after refreshToken(…) succeeds:        result.accessToken ?? null
 * ```
 */
export function useAuthFromKinde(): {
  isLoading: boolean;
  isAuthenticated: boolean;
  fetchAccessToken: (args: { forceRefreshToken: boolean }) => Promise<string | null>;
} {
  const { isLoading, isAuthenticated, getIdToken, refreshToken } = useKindeAuth();

  // Kinde returns new function objects every time its state changes (after each token
  // refresh, for one), while Convex signs the client out and in again whenever
  // `fetchAccessToken` changes. So `fetchAccessToken` is created once and reads Kinde's
  // latest functions through this ref.
  const kinde = useRef({ getIdToken, refreshToken });
  useEffect(() => {
    kinde.current = { getIdToken, refreshToken };
  }, [getIdToken, refreshToken]);

  // Convex may ask for a fresh token from two places at once; refresh only once.
  const refreshing = useRef<Promise<string | null> | null>(null);

  const fetchAccessToken = useCallback(
    async ({ forceRefreshToken }: { forceRefreshToken: boolean }): Promise<string | null> => {
      // The token Kinde holds right now (Kinde's SDK refreshes its tokens on its own too).
      if (!forceRefreshToken) return (await kinde.current.getIdToken()) ?? null;

      // Convex wants a new token: its current one is about to expire, or the server refused it.
      refreshing.current ??= (async () => {
        try {
          const result = await kinde.current.refreshToken({
            domain: kindeConfig.domain,
            clientId: kindeConfig.clientId,
          });
          if (result.success && result.idToken) return result.idToken;
        } catch {
          // Fall through: a refresh that raced Kinde's own may have stored a token anyway.
        }
        // Refresh failed. Still hand over the stored token if it has life left; with no
        // token, Convex treats the user as signed out.
        const stored = (await kinde.current.getIdToken()) ?? null;
        return (secondsLeft(stored) ?? 0) > 5 ? stored : null;
      })().finally(() => {
        refreshing.current = null;
      });
      return await refreshing.current;
    },
    [],
  );

  return useMemo(
    () => ({ isLoading, isAuthenticated, fetchAccessToken }),
    [isLoading, isAuthenticated, fetchAccessToken],
  );
}
