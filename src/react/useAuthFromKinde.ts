import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { sdkFailureLog } from "./sdkFailures.js";
import { stillValid } from "./tokens.js";

/** Which of Kinde's tokens Convex receives; decides what `convex/auth.config.ts` must accept. */
export type KindeTokenType = "id" | "access";

/**
 * What this package uses of `useKindeAuth()` from `@kinde-oss/kinde-auth-react`
 * (5.x). Written out rather than imported so that this entry never loads
 * Kinde's SDK itself: the app passes its own `useKindeAuth`, and with it its
 * own copy of Kinde's React context.
 */
export interface KindeAuthState {
  isLoading: boolean;
  isAuthenticated: boolean;
  getIdToken: () => Promise<string | undefined>;
  getAccessToken: () => Promise<string | undefined>;
  refreshToken: (options: { domain: string; clientId: string }) => Promise<{
    success: boolean;
    error?: string;
    idToken?: string;
    accessToken?: string;
  }>;
}

export interface UseAuthFromKindeOptions {
  /** Your Kinde domain, as given to `KindeProvider`: a forced refresh calls its token endpoint. */
  domain: string;
  /** Your Kinde app's client id, as given to `KindeProvider`. */
  clientId: string;
  /**
   * `"id"` (default): Kinde's ID token, whose `aud` is your client id, as in
   * Kinde's Convex guide. `"access"`: the access token, for an API audience
   * registered in Kinde; it also carries `org_code`, the organization the
   * user signed in to.
   */
  tokenType?: KindeTokenType;
}

/** What `ConvexProviderWithAuth` takes from `useAuth`. */
export interface ConvexAuthFromKinde {
  isLoading: boolean;
  isAuthenticated: boolean;
  fetchAccessToken: (args: { forceRefreshToken: boolean }) => Promise<string | null>;
}

/**
 * Kinde's sign-in state in the shape `ConvexProviderWithAuth` takes as
 * `useAuth`, for setups `ConvexProviderWithKinde` does not cover:
 *
 * ```tsx
 * function useAuth() {
 *   return useAuthFromKinde(useKindeAuth(), { domain, clientId });
 * }
 * <ConvexProviderWithAuth client={convex} useAuth={useAuth}>
 * ```
 *
 * `fetchAccessToken` is created once: Convex signs the client out and in
 * again whenever it changes, while Kinde hands out new function objects on
 * every state change (each token refresh, for one). Concurrent forced
 * refreshes share one request to Kinde. A stored token is handed over only
 * while it has life left; after that, and when Kinde cannot refresh, Convex
 * gets null and treats the user as signed out. `fetchAccessToken` never
 * rejects (Convex would wait on it forever): when Kinde's SDK throws, as on
 * storage the browser refuses, Convex gets null and the failure is logged
 * once until the SDK answers again.
 */
export function useAuthFromKinde(
  kinde: KindeAuthState,
  options: UseAuthFromKindeOptions,
): ConvexAuthFromKinde {
  const { isLoading, isAuthenticated } = kinde;
  const latest = useRef({ kinde, options });
  useEffect(() => {
    latest.current = { kinde, options };
  });

  const refreshing = useRef<Promise<string | null> | null>(null);
  const [failures] = useState(sdkFailureLog);

  const fetchAccessToken = useCallback(
    async ({ forceRefreshToken }: { forceRefreshToken: boolean }): Promise<string | null> => {
      const fromKinde = async () => {
        if (!latest.current.kinde.isAuthenticated) return null;
        if (!forceRefreshToken) {
          const stored = stillValid(await storedToken(latest.current), Date.now());
          if (stored !== null) return stored;
        }
        refreshing.current ??= refresh(latest).finally(() => {
          refreshing.current = null;
        });
        return await refreshing.current;
      };
      // Convex 1.48 awaits this without a catch: a rejection would leave it paused, never
      // connecting, every query loading. Null is signed out, as Convex's Clerk and Auth0 do.
      try {
        const token = await fromKinde();
        failures.answered();
        return token;
      } catch (error) {
        failures.failed(error, latest.current.options.domain);
        return null;
      }
    },
    [failures],
  );

  return useMemo(
    () => ({ isLoading, isAuthenticated, fetchAccessToken }),
    [isLoading, isAuthenticated, fetchAccessToken],
  );
}

interface Latest {
  kinde: KindeAuthState;
  options: UseAuthFromKindeOptions;
}

async function storedToken({ kinde, options }: Latest): Promise<string | null> {
  const token = options.tokenType === "access" ? kinde.getAccessToken() : kinde.getIdToken();
  return (await token) ?? null;
}

/** A fresh token, else a stored one with life left; throws what the refresh threw when neither. */
async function refresh(latest: { readonly current: Latest }): Promise<string | null> {
  const { kinde, options } = latest.current;
  let failure: { error: unknown } | null = null;
  try {
    const result = await kinde.refreshToken({ domain: options.domain, clientId: options.clientId });
    const fresh = options.tokenType === "access" ? result.accessToken : result.idToken;
    if (result.success && fresh) return fresh;
  } catch (error) {
    // A refresh that raced the SDK's own may have failed yet stored a new token: read it below.
    failure = { error };
  }
  const stored = stillValid(await storedToken(latest.current), Date.now());
  if (stored === null && failure !== null) throw failure.error;
  return stored;
}
