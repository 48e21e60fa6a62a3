import { useKindeAuth } from "@kinde-oss/kinde-auth-react";
import { useEffect, useState } from "react";
import { readClaims, type TokenClaims } from "../jwt";

/**
 * Kinde says the user is signed in, but Convex refused the token. Almost always
 * `convex/auth.config.ts` does not match the token: `domain` must equal its `iss` and
 * `applicationID` must be (one of) its `aud`, exactly. Show both, so the fix is obvious.
 */
export function TokenRejected() {
  const { getIdToken, logout } = useKindeAuth();
  const [claims, setClaims] = useState<TokenClaims | null>(null);

  useEffect(() => {
    let current = true;
    void getIdToken().then((token) => {
      if (current) setClaims(readClaims(token));
    });
    return () => {
      current = false;
    };
  }, [getIdToken]);

  const audiences = claims?.aud === undefined ? [] : [claims.aud].flat();
  return (
    <section className="card warning">
      <h2>Convex did not accept the Kinde token</h2>
      <p>
        You are signed in to Kinde, but the deployment refused the ID token this app sends. Make{" "}
        <code>example/convex/auth.config.ts</code> match the token:
      </p>
      <table className="facts">
        <tbody>
          <tr>
            <th>
              <code>domain</code> must equal <code>iss</code>
            </th>
            <td>
              <code>{claims?.iss ?? "…"}</code>
            </td>
          </tr>
          <tr>
            <th>
              <code>applicationID</code> must equal <code>aud</code>
            </th>
            <td>
              {audiences.length > 0 ? (
                audiences.map((aud) => (
                  <code key={aud} className="chip">
                    {aud}
                  </code>
                ))
              ) : (
                <code>…</code>
              )}
            </td>
          </tr>
        </tbody>
      </table>
      <p>
        In this example they come from <code>npx convex env set KINDE_ISSUER_URL …</code> and{" "}
        <code>npx convex env set KINDE_CLIENT_ID …</code>. After changing either, let{" "}
        <code>npx convex dev</code> push again (save any file in <code>example/convex/</code>), then
        reload this page. If you switched the app to access tokens, <code>aud</code> is the API
        audience you registered in Kinde.
      </p>
      <button type="button" onClick={() => void logout()}>
        Sign out
      </button>
    </section>
  );
}
