import { ConvexProviderWithAuth, type ConvexReactClient } from "convex/react";
import { useMemo, type ReactNode } from "react";
import {
  useAuthFromKinde,
  type KindeAuthState,
  type UseAuthFromKindeOptions,
} from "./useAuthFromKinde.js";

export interface ConvexProviderWithKindeProps extends UseAuthFromKindeOptions {
  client: ConvexReactClient;
  /** `useKindeAuth` from `@kinde-oss/kinde-auth-react`: your app's copy of Kinde's React context. */
  useKindeAuth: () => KindeAuthState;
  children?: ReactNode;
}

/**
 * `ConvexProvider` signed in with Kinde: render it inside Kinde's
 * `KindeProvider`, in place of `ConvexProvider`.
 *
 * ```tsx
 * import { KindeProvider, useKindeAuth } from "@kinde-oss/kinde-auth-react";
 * import { ConvexProviderWithKinde } from "convex-kinde/react";
 *
 * <KindeProvider domain={domain} clientId={clientId} redirectUri={origin}>
 *   <ConvexProviderWithKinde client={convex} useKindeAuth={useKindeAuth} domain={domain} clientId={clientId}>
 *     <App />
 *   </ConvexProviderWithKinde>
 * </KindeProvider>
 * ```
 *
 * Convex receives Kinde's ID token, or its access token with
 * `tokenType="access"`; see {@link useAuthFromKinde}.
 */
export function ConvexProviderWithKinde({
  client,
  useKindeAuth,
  domain,
  clientId,
  tokenType,
  children,
}: ConvexProviderWithKindeProps) {
  // A hook made once per configuration: ConvexProviderWithAuth calls it on every render.
  const useAuth = useMemo(
    () =>
      function useConvexAuthFromKinde() {
        return useAuthFromKinde(useKindeAuth(), { domain, clientId, tokenType });
      },
    [useKindeAuth, domain, clientId, tokenType],
  );
  return (
    <ConvexProviderWithAuth client={client} useAuth={useAuth}>
      {children}
    </ConvexProviderWithAuth>
  );
}
