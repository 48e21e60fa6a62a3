/**
 * A stand-in for a Kinde tenant's signing side, for tests: a real RS256 key
 * pair with a Kinde-style colon-hex `kid`, and a real JWKS server on
 * 127.0.0.1 serving `/.well-known/jwks` and an OpenID discovery document at
 * `/.well-known/openid-configuration`. Tokens are signed with `jose`
 * exactly as Kinde signs webhooks: header `{ alg: "RS256", kid, typ: "JWT" }`,
 * the event as the payload, and no `iss`, `aud`, `exp` claims.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  base64url,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** How the key server answers, to test outages. */
export type KeyServerMode = "ok" | "down" | "slow" | "garbage" | "error";

export interface KindeTestIssuer {
  /** The issuer URL to configure as `KINDE_ISSUER_URL`, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** The `kid` of the current signing key. */
  readonly kid: string;
  /** Requests the key server has answered (or dropped) so far. */
  readonly jwksRequests: number;
  /** The current key's public JWK, as the key set publishes it. */
  readonly publicJwk: JWK;
  /** Signs `payload` as a Kinde webhook token with the current key. */
  sign(payload: object, header?: { kid?: string }): Promise<string>;
  /**
   * Signs the exact payload text `json` under `header` (default Kinde's), for
   * tokens no JWT library would build: lone-surrogate escapes, duplicate keys,
   * non-object payloads, odd headers.
   */
  signRaw(json: string, header?: Record<string, unknown>): Promise<string>;
  /** Signs the signing input `header.payload` as given (encoded or not) with the current key. */
  signInput(header: string, payload: string): Promise<string>;
  /** Signs with a key that is not in the key set (a forgery). */
  signWithUnknownKey(payload: object): Promise<string>;
  /** Replaces the signing key; the key set then publishes only the new one (or both, with `keepOld`). */
  rotateKey(options?: { keepOld?: boolean }): Promise<void>;
  /** Makes the key server fail in the given way until set back to `"ok"`. */
  setMode(mode: KeyServerMode): void;
  /**
   * The `issuer` the discovery document names (default: `url`), e.g. a custom
   * domain while `KINDE_ISSUER_URL` is the Kinde subdomain; null: the default.
   */
  setDiscoveryIssuer(issuer: string | null): void;
  close(): Promise<void>;
}

/** A random `kid` in Kinde's form: 16 colon-separated lowercase hex bytes. */
export function kindeStyleKid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = kindeStyleKid();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  return { kid, privateKey, publicJwk };
}

async function signInputWith(key: SigningKey, header: string, payload: string): Promise<string> {
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    key.privateKey,
    new TextEncoder().encode(`${header}.${payload}`),
  );
  return `${header}.${payload}.${base64url.encode(new Uint8Array(signature))}`;
}

async function signWith(key: SigningKey, payload: object, kid = key.kid): Promise<string> {
  return await new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
    .sign(key.privateKey);
}

/**
 * Starts a key server on 127.0.0.1 (port chosen by the OS) with a fresh key.
 * Close it when the test is done.
 */
export async function startKindeTestIssuer(): Promise<KindeTestIssuer> {
  let current = await newSigningKey();
  let published: SigningKey[] = [current];
  let mode: KeyServerMode = "ok";
  let requests = 0;
  let discoveryIssuer: string | null = null;
  const stranger = await newSigningKey();

  const server: Server = createServer((req, res) => {
    if (req.url === "/.well-known/openid-configuration") {
      const issuer = discoveryIssuer ?? url;
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/oauth2/auth`,
          token_endpoint: `${issuer}/oauth2/token`,
          jwks_uri: `${issuer}/.well-known/jwks`,
          response_types_supported: ["code", "token"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
        }),
      );
      return;
    }
    if (req.url !== "/.well-known/jwks") {
      res.writeHead(404).end();
      return;
    }
    requests++;
    switch (mode) {
      case "down":
        req.socket.destroy();
        return;
      case "slow":
        // Never answers; the verifier's timeout must fire first.
        return;
      case "garbage":
        res.writeHead(200, { "content-type": "application/json" }).end('{"keys": "nope"}');
        return;
      case "error":
        res.writeHead(500).end("internal error");
        return;
      case "ok":
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ keys: published.map((k) => k.publicJwk) }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    get kid() {
      return current.kid;
    },
    get jwksRequests() {
      return requests;
    },
    get publicJwk() {
      return current.publicJwk;
    },
    sign: (payload, header) => signWith(current, payload, header?.kid),
    signRaw: (json, header = { alg: "RS256", kid: current.kid, typ: "JWT" }) =>
      signInputWith(current, base64url.encode(JSON.stringify(header)), base64url.encode(json)),
    signInput: (header, payload) => signInputWith(current, header, payload),
    signWithUnknownKey: (payload) => signWith(stranger, payload),
    async rotateKey({ keepOld = false } = {}) {
      current = await newSigningKey();
      published = keepOld ? [...published, current] : [current];
    },
    setMode(next) {
      mode = next;
    },
    setDiscoveryIssuer(issuer) {
      discoveryIssuer = issuer;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
