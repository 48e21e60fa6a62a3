/**
 * Seconds until a JWT's `exp` at `nowMs`, negative once expired; null for
 * anything that is not a JWT with a numeric `exp`. Decoding only: the token
 * came from Kinde's SDK, and Convex verifies it; this only decides whether it
 * is still worth sending.
 */
export function secondsUntilExpiry(token: string | null | undefined, nowMs: number): number | null {
  const payload = token?.split(".")[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64.padEnd(Math.ceil(base64.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    const exp =
      typeof claims === "object" && claims !== null && "exp" in claims ? claims.exp : null;
    return typeof exp === "number" ? exp - nowMs / 1000 : null;
  } catch {
    return null;
  }
}

/**
 * A token Convex would still accept for a moment: it expires more than this
 * many seconds from now. Less, and it could expire in flight.
 */
export const MIN_TOKEN_LIFE_SECONDS = 5;

/** The token if it has life left, else null. Tokens without `exp` are not worth sending. */
export function stillValid(token: string | null | undefined, nowMs: number): string | null {
  const left = secondsUntilExpiry(token, nowMs);
  return token && left !== null && left > MIN_TOKEN_LIFE_SECONDS ? token : null;
}
