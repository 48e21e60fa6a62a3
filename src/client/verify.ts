/**
 * Verification of Kinde webhook tokens: RS256 signatures checked with `jose`
 * against the tenant's key set, which is cached in module scope per issuer so
 * that it survives between requests in the same Convex isolate.
 */
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
} from "jose";
import { messageOf } from "../shared/errors.js";

/**
 * Why a token was refused, as a stable code (in jose's manner) that tests and
 * operators match on; the message around it may change.
 */
export const VERIFICATION_STATUS = {
  /** The body is not a compact JWT. */
  not_jwt: 401,
  /** Signed with another algorithm than RS256. */
  algorithm: 401,
  /** No key in the issuer's key set has the token's `kid`. */
  no_matching_key: 401,
  /** The signature does not verify. */
  bad_signature: 401,
  /** Signed by the issuer, but a user, ID or machine token, not a webhook. */
  not_webhook: 401,
  /** Any other refusal of the token by jose. */
  refused: 401,
  /** The key set did not answer in time. */
  jwks_timeout: 503,
  /** The key set answered with something that is not a key set. */
  jwks_invalid: 503,
  /** The key set could not be fetched (network, non-200). */
  jwks_unreachable: 503,
} as const;
export type VerificationReason = keyof typeof VERIFICATION_STATUS;

/** Why a token was refused: its reason code, and the HTTP status that code answers. */
export class VerificationError extends Error {
  override name = "VerificationError";
  readonly status: 401 | 503;
  constructor(
    readonly reason: VerificationReason,
    message: string,
  ) {
    super(message);
    this.status = VERIFICATION_STATUS[reason];
  }
}

/** Kinde's documented key set path, under the issuer URL. */
export const JWKS_PATH = "/.well-known/jwks";

/**
 * Tuning of the key set cache. The timeout stays well under any webhook
 * delivery timeout so a slow key server yields a 503 (and a Kinde retry)
 * rather than a dropped connection. The cooldown bounds refetches caused by
 * tokens with unknown `kid`s: at most one per cooldown, however many arrive.
 */
export const KEY_SET_OPTIONS = {
  timeoutDuration: 3_000,
  cooldownDuration: 30_000,
  cacheMaxAge: 10 * 60_000,
} as const;

/**
 * Claims that Kinde's access, ID and M2M tokens carry and webhook tokens never
 * do. The same key set signs all of them, so without this check anyone could
 * POST their own access token to the webhook.
 */
const NON_WEBHOOK_CLAIMS = ["iss", "aud", "sub", "azp", "scp", "scope", "gty"] as const;

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** The cached key set of one issuer (created on first use). */
function keySetFor(issuerUrl: string) {
  let keySet = keySets.get(issuerUrl);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(issuerUrl + JWKS_PATH), KEY_SET_OPTIONS);
    keySets.set(issuerUrl, keySet);
  }
  return keySet;
}

/**
 * Checks that `token` is a webhook token signed by `issuerUrl`'s key set and
 * returns its claims.
 *
 * Kinde webhook tokens carry no `iss`, `aud` or `exp`, so none is asserted
 * (asserting `iss` would refuse every real webhook); instead a token carrying
 * any claim of a user or machine token is refused.
 *
 * @throws VerificationError 401 for anything not signed by the issuer or not a
 *   webhook token, 503 when the key set cannot be fetched.
 */
export async function verifyWebhookToken(token: string, issuerUrl: string): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    // jose refuses any algorithm but RS256 before it resolves a key, so junk
    // never costs a key set request.
    ({ payload } = await jwtVerify(token, keySetFor(issuerUrl), { algorithms: ["RS256"] }));
  } catch (error) {
    throw classify(error, token, issuerUrl);
  }
  const foreign = NON_WEBHOOK_CLAIMS.filter((claim) => payload[claim] !== undefined);
  if (foreign.length > 0) {
    throw new VerificationError(
      "not_webhook",
      `the token carries ${foreign.map((c) => `\`${c}\``).join(", ")}: it is a Kinde user or machine token, not a webhook`,
    );
  }
  return payload;
}

/**
 * Turns jose's refusal into the status and message the webhook answers. The
 * header is decoded only here, on the refusal path, to say what was wrong
 * with the token.
 */
function classify(error: unknown, token: string, issuerUrl: string): VerificationError {
  let header: { alg?: unknown; kid?: unknown };
  try {
    header = decodeProtectedHeader(token);
  } catch {
    return new VerificationError(
      "not_jwt",
      "the request body is not a JWT; Kinde sends the signed event token as the raw body (Content-Type: application/jwt)",
    );
  }
  if (header.alg !== "RS256") {
    return new VerificationError(
      "algorithm",
      `the token is signed with ${String(JSON.stringify(header.alg)).slice(0, 40)}; Kinde webhooks are signed with RS256`,
    );
  }
  const keySetUrl = issuerUrl + JWKS_PATH;
  if (error instanceof errors.JWKSTimeout) {
    return new VerificationError(
      "jwks_timeout",
      `timed out after ${KEY_SET_OPTIONS.timeoutDuration} ms fetching the key set ${keySetUrl}`,
    );
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new VerificationError(
      "no_matching_key",
      `no key in ${keySetUrl} matches the token's kid ${String(JSON.stringify(header.kid)).slice(0, 80)}; check that KINDE_ISSUER_URL is the Kinde environment that sends these webhooks`,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new VerificationError("bad_signature", "the token's signature is invalid");
  }
  if (error instanceof errors.JWKSInvalid) {
    return new VerificationError("jwks_invalid", `${keySetUrl} did not return a valid key set`);
  }
  if (error instanceof errors.JOSEError && error.code === "ERR_JOSE_GENERIC") {
    // jose's plain JOSEError comes from the key set fetch: non-200 or non-JSON response.
    // That is an internal detail of jose, which is why package.json allows only ~6.2 of it.
    return new VerificationError(
      "jwks_unreachable",
      `could not load the key set ${keySetUrl}: ${error.message}`,
    );
  }
  if (error instanceof errors.JOSEError) {
    return new VerificationError("refused", `the token was refused: ${error.message}`);
  }
  // Anything else is the fetch itself failing (DNS, connection refused, TLS).
  return new VerificationError(
    "jwks_unreachable",
    `could not reach the key set ${keySetUrl}: ${messageOf(error)}`,
  );
}
