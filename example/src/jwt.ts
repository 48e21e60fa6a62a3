// Reads a JWT's claims without verifying it: only to explain things to a developer
// (which token Convex got). Never trust these claims for access.

export type TokenClaims = {
  iss?: string;
  aud?: string | string[];
  sub?: string;
  exp?: number;
  iat?: number;
};

export function readClaims(token: string | null | undefined): TokenClaims | null {
  const payload = token?.split(".")[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(
      Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (c) =>
        c.charCodeAt(0),
      ),
    );
    const claims: unknown = JSON.parse(json);
    return typeof claims === "object" && claims !== null ? (claims as TokenClaims) : null;
  } catch {
    return null;
  }
}
