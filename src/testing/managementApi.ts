/**
 * A stand-in for a Kinde tenant's Management API on 127.0.0.1, for testing
 * backfills, setup and the doctor: the token endpoint (its tokens are RS256
 * JWTs whose `scope` claim lists what the application was granted), the list
 * endpoints the backfill reads, and webhooks (list, create, update) with the
 * tenant's event types, with Kinde's response shapes and `next_token` paging,
 * and switches for the failures real tenants produce (429 with
 * `RateLimit-Reset` or `Retry-After`, on the API or the token endpoint;
 * transient 5xx; an empty page that still carries a `next_token`; a
 * `next_token` that loops back to an earlier page; pages smaller than asked
 * for; wrong credentials; a missing scope; an endpoint that fails until told
 * otherwise). For enrichment it serves one user (`GET /api/v1/user`), the
 * search listing (`GET /api/v1/search/users`, `starting_after` paging, no
 * phone) and the property values of users and organizations (`next_token`
 * paging, {@link PROPERTY_PAGE_SIZE} a page). Written from Kinde's OpenAPI spec: where the spec allows an
 * unfriendly answer (a 400 rather than a 404 for an organization that is
 * gone, a 403 without a body), this gives it.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPair, SignJWT } from "jose";
import { CUSTOMER_EVENT_TYPES } from "../shared/unmirroredEvents.js";
import { answerBilling, BILLING_ROUTE_SCOPES, withBilling, type TenantBilling } from "./billing.js";

export interface TenantRole {
  id: string;
  key: string;
  name: string;
  description: string | null;
  is_default_role: boolean;
}
export interface TenantPermission {
  id: string;
  key: string;
  name: string;
  description: string | null;
}
export interface TenantOrganization {
  code: string;
  name: string;
  handle: string | null;
  external_id: string | null;
  /** Custom property values by key (`GET /api/v1/organizations/{code}/properties`). */
  properties?: Record<string, string | null>;
}

/** One way a user signs in, as `expand=identities` lists it. */
export interface TenantIdentity {
  type: string | null;
  identity: string | null;
  connection_id?: string | null;
}
export interface TenantUser {
  id: string;
  email: string | null;
  phone: string | null;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
  is_suspended: boolean;
  /** Profile picture URL; Kinde lists it on every user (absent here: none). */
  picture?: string | null;
  /** ISO timestamps as Kinde writes them; absent: the stand-in's defaults. */
  created_on?: string | null;
  last_signed_in?: string | null;
  total_sign_ins?: number | null;
  /** Served with `expand=identities`. */
  identities?: TenantIdentity[];
  /** Custom property values by key (`GET /api/v1/users/{id}/properties`, the search listing's `expand=properties`). */
  properties?: Record<string, string | null>;
}

/** A whole tenant: what the Management API serves. Tests may change it between requests. */
export interface Tenant {
  roles: TenantRole[];
  permissions: TenantPermission[];
  /** Role id → the ids of the permissions it grants. */
  rolePermissions: Record<string, string[]>;
  organizations: TenantOrganization[];
  users: TenantUser[];
  /** Organization code → user id → role keys held there. Membership is having an entry. */
  members: Record<string, Record<string, string[]>>;
  /** Organization code → user id → ids of permissions granted to that member directly, not through a role. */
  directPermissions?: Record<string, Record<string, string[]>>;
  /** Kinde Billing's customers (src/testing/billing.ts). */
  billing?: TenantBilling;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/**
 * A deterministic tenant: `users` users spread over `organizations`
 * organizations (every user in one or two), three roles and four permissions.
 * Ids have Kinde's shapes (`kp_…`, `org_…`, UUID-like role ids).
 */
export function makeTenant({ users = 100, organizations = 5 } = {}): Tenant {
  const permissions: TenantPermission[] = [
    "read:docs",
    "write:docs",
    "publish:docs",
    "admin:all",
  ].map((key, i) => ({
    id: `0190a1b2-0000-7000-8000-${hex(i + 1, 12)}`,
    key,
    name: key,
    description: i === 0 ? "" : null,
  }));
  const roles: TenantRole[] = ["viewer", "editor", "admin"].map((key, i) => ({
    id: `0190a1b2-1111-7000-8000-${hex(i + 1, 12)}`,
    key,
    name: key[0]!.toUpperCase() + key.slice(1),
    description: null,
    is_default_role: i === 0,
  }));
  const rolePermissions = {
    [roles[0]!.id]: [permissions[0]!.id],
    [roles[1]!.id]: [permissions[0]!.id, permissions[1]!.id],
    [roles[2]!.id]: permissions.map((p) => p.id),
  };
  const orgs: TenantOrganization[] = Array.from({ length: organizations }, (_, i) => ({
    code: `org_${hex(i + 1, 11)}`,
    name: `Organization ${i + 1}`,
    handle: `org-${i + 1}`,
    external_id: i % 2 ? `crm-${i}` : null,
    properties: { kp_tier: i % 2 ? "enterprise" : "team", kp_seats: `${10 * (i + 1)}` },
  }));
  const people: TenantUser[] = Array.from({ length: users }, (_, i) => ({
    id: `kp_${hex(i + 1, 32)}`,
    email: i % 10 === 9 ? "" : `user${i + 1}@example.com`,
    phone: i % 10 === 9 ? `+1555${hex(i, 7)}` : null,
    username: null,
    first_name: `User`,
    last_name: `${i + 1}`,
    is_suspended: i % 50 === 49,
    picture: i % 4 === 3 ? null : `https://gravatar.com/avatar/${hex(i + 1, 32)}?d=blank`,
    identities: [
      i % 10 === 9
        ? { type: "phone", identity: `+1555${hex(i, 7)}`, connection_id: null }
        : { type: "email", identity: `user${i + 1}@example.com`, connection_id: null },
      ...(i % 5 === 0
        ? [
            {
              type: "oauth2:google",
              identity: `user${i + 1}@gmail.com`,
              connection_id: "conn_0192b7e8b4f8ca08110d2b22059662a8",
            },
          ]
        : []),
    ],
    properties: { kp_plan: i % 3 ? "free" : "pro", kp_region: i % 2 ? "eu" : "" },
  }));
  const members: Tenant["members"] = Object.fromEntries(orgs.map((o) => [o.code, {}]));
  people.forEach((user, i) => {
    const home = orgs[i % orgs.length]!;
    members[home.code]![user.id] = [roles[i % roles.length]!.key];
    if (i % 3 === 0 && orgs.length > 1) {
      members[orgs[(i + 1) % orgs.length]!.code]![user.id] = [];
    }
  });
  return { roles, permissions, rolePermissions, organizations: orgs, users: people, members };
}

/** A webhook as Kinde's `GET /api/v1/webhooks` lists it. */
export interface TenantWebhook {
  id: string;
  name: string;
  endpoint: string;
  description: string | null;
  event_types: string[];
  created_on: string;
}

/** An event type as `GET /api/v1/event_types` lists it. */
export interface TenantEventType {
  id: string;
  code: string;
  name: string;
  origin: string;
  schema: Record<string, unknown>;
}

/**
 * The event types a Kinde tenant offers webhooks (Kinde's documented list;
 * billing events apart: `KINDE_BILLING_EVENT_TYPE_CODES`). `GET
 * /api/v1/event_types` serves these unless a test changes `eventTypes`.
 */
export const KINDE_EVENT_TYPE_CODES = [
  "user.created",
  "user.updated",
  "user.deleted",
  "user.authenticated",
  "user.authentication_failed",
  "organization.created",
  "organization.updated",
  "organization.deleted",
  "role.created",
  "role.updated",
  "role.deleted",
  "permission.created",
  "permission.updated",
  "permission.deleted",
  "subscriber.created",
  "access_request.created",
] as const;

/**
 * Kinde Billing's event types (`customer.*`), which Kinde lists for an
 * environment with billing: the stand-in lists them for a tenant with
 * `billing`.
 */
export const KINDE_BILLING_EVENT_TYPE_CODES = CUSTOMER_EVENT_TYPES;

function eventType(code: string, i: number): TenantEventType {
  const [entity, action] = code.split(".") as [string, string];
  return {
    id: `et_0190a1b2c3d4${hex(i + 1, 20)}`,
    code,
    name: `${entity[0]!.toUpperCase()}${entity.slice(1).replace("_", " ")} ${action.replace("_", " ")}`,
    origin: "kinde",
    schema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: { type: { const: code }, data: { type: "object" } },
    },
  };
}

/** A request the stand-in received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The parsed JSON body of a `POST` or `PATCH` to the API. */
  body?: unknown;
  /** The scope the endpoint needs (as the spec's `x-scope` names it), for API requests that got that far. */
  scope?: string;
}

export interface ManagementApiStandIn {
  /** Base URL, to set as `KINDE_DOMAIN`. */
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tenant: Tenant;
  /** Every request, in order (the token endpoint included). */
  readonly requests: RecordedRequest[];
  /**
   * The next `count` requests answer 429, asking to wait `seconds` in the
   * `header` Kinde sends (`RateLimit-Reset` by default, or `Retry-After`):
   * API requests, or with `endpoint: "token"` the token endpoint's.
   */
  rateLimitNext(count: number, seconds: number, options?: RateLimitOptions): void;
  /** The next `count` API requests (of `method`, if given) answer `status` (default 500) without acting. */
  failNext(count: number, status?: number, method?: "GET" | "POST" | "PATCH"): void;
  /** Requests whose path starts with `prefix` answer `status` (default 500) until called again with null. */
  failPath(prefix: string | null, status?: number): void;
  /** Requests whose path starts with `prefix` answer an empty page that still carries a `next_token`. */
  emptyPageWithToken(prefix: string): void;
  /**
   * Listings at exactly `path`: page `from` (0 is the first) answers the
   * `next_token` of the earlier page `to` instead of its own, so paging that
   * follows tokens blindly never ends (`{ from: 2, to: 1 }`: A→B→A→B…).
   */
  loopPaging(path: string, loop: { from: number; to: number }): void;
  /** Pages hold at most `size` items, whatever `page_size` asks for (null: up to Kinde's 500). */
  capPageSize(size: number | null): void;
  /**
   * What the member list of an organization Kinde does not have answers: 400
   * (the spec's documented `bad_request`, the default) or 404.
   */
  missingOrganizationStatus(status: 400 | 404): void;
  /** Scopes the M2M application lacks: requests needing them answer 403, and tokens no longer list them. */
  revokeScope(scope: string): void;
  /** The tenant's webhooks, as Kinde stores them; tests may seed or change them. */
  readonly webhooks: TenantWebhook[];
  /** The event types the tenant offers; tests may change them. */
  eventTypes: TenantEventType[];
  /**
   * The next `count` webhook creates or updates take effect but answer 500, as
   * when Kinde's answer is lost after it acted.
   */
  failAfterWriting(count: number): void;
  /** Tokens issued from now on carry no `scope` claim, so only a 403 tells what is missing. */
  omitTokenScopes(): void;
  /**
   * Awaits `hook` with each request's path after its answer is computed and
   * before it is sent (null: none), so a test can change the tenant, and
   * deliver the webhooks of that change, while a page showing the state
   * before it is in flight.
   */
  beforeSending(hook: ((path: string) => Promise<void>) | null): void;
  close(): Promise<void>;
}

/** How `rateLimitNext` answers: which header says how long to wait, and on which endpoint. */
export interface RateLimitOptions {
  header?: "RateLimit-Reset" | "Retry-After";
  endpoint?: "api" | "token";
}

/** Every scope the stand-in's endpoints need, all granted until revoked. */
export const STAND_IN_SCOPES = [
  "read:roles",
  "read:role_permissions",
  "read:permissions",
  "read:organizations",
  "read:organization_users",
  "read:organization_user_permissions",
  "read:users",
  "read:user_properties",
  "read:organization_properties",
  "read:webhooks",
  "create:webhooks",
  "update:webhooks",
  "read:event_types",
  "read:billing_entitlements",
] as const;

const WEBHOOK_SCOPES: [string, RegExp, string][] = [
  ["GET", /^\/api\/v1\/webhooks$/, "read:webhooks"],
  ["POST", /^\/api\/v1\/webhooks$/, "create:webhooks"],
  ["PATCH", /^\/api\/v1\/webhooks\/[^/]+$/, "update:webhooks"],
];

const SCOPES: [RegExp, string][] = [
  [/^\/api\/v1\/event_types$/, "read:event_types"],
  [/^\/api\/v1\/roles\/[^/]+\/permissions$/, "read:role_permissions"],
  [/^\/api\/v1\/roles$/, "read:roles"],
  [/^\/api\/v1\/permissions$/, "read:permissions"],
  [/^\/api\/v1\/organizations$/, "read:organizations"],
  [/^\/api\/v1\/organization$/, "read:organizations"],
  [
    /^\/api\/v1\/organizations\/[^/]+\/users\/[^/]+\/permissions$/,
    "read:organization_user_permissions",
  ],
  [/^\/api\/v1\/organizations\/[^/]+\/users$/, "read:organization_users"],
  [/^\/api\/v1\/organizations\/[^/]+\/properties$/, "read:organization_properties"],
  [/^\/api\/v1\/users$/, "read:users"],
  [/^\/api\/v1\/user$/, "read:users"],
  [/^\/api\/v1\/search\/users$/, "read:users"],
  [/^\/api\/v1\/users\/[^/]+\/properties$/, "read:user_properties"],
  ...BILLING_ROUTE_SCOPES,
];

/** Property values a page of `GET …/properties` holds (the endpoint takes no `page_size`). */
export const PROPERTY_PAGE_SIZE = 50;

/** A user's detail fields as every user endpoint lists them, the stand-in's defaults where the tenant sets none. */
function userDetails(user: TenantUser) {
  return {
    picture: user.picture ?? null,
    total_sign_ins: user.total_sign_ins === undefined ? 3 : user.total_sign_ins,
    failed_sign_ins: 0,
    last_signed_in:
      user.last_signed_in === undefined ? "2024-05-01T07:41:45.592145+00:00" : user.last_signed_in,
    created_on:
      user.created_on === undefined ? "2024-01-01T00:00:00.000000+00:00" : user.created_on,
  };
}

/** Property values as `GET …/properties` lists them. */
function propertyValues(properties: Record<string, string | null> | undefined) {
  return Object.entries(properties ?? {}).map(([key, value], i) => ({
    id: `prop_0192b7e8b4f8ca08110d2b22${hex(i + 1, 6)}`,
    key,
    name: key.replace(/^kp_/, ""),
    description: i % 2 ? null : `The ${key} of the entity`,
    value,
  }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function badRequest(code: string, message: string, field: string) {
  return {
    status: 400,
    body: JSON.stringify({ errors: [{ code, message, field }] }),
    headers: { "content-type": "application/json; charset=utf-8" },
  };
}

function invalidText(body: Record<string, unknown>, field: string) {
  const value = body[field];
  if (typeof value === "string" && value.trim() !== "") return undefined;
  return badRequest("INVALID_REQUEST", `${field} is required`, field);
}

/** Kinde refuses event type codes the tenant does not offer. */
function invalidEventTypes(
  body: Record<string, unknown>,
  offered: TenantEventType[],
  required: boolean,
) {
  const types = body.event_types;
  if (types === undefined && !required) return undefined;
  if (!Array.isArray(types) || types.some((t) => typeof t !== "string")) {
    return badRequest("INVALID_REQUEST", "event_types must be an array of strings", "event_types");
  }
  const unknown = types.filter((t) => !offered.some((e) => e.code === t));
  if (unknown.length > 0) {
    return badRequest(
      "INVALID_EVENT_TYPE",
      `Unknown event type(s): ${unknown.join(", ")}`,
      "event_types",
    );
  }
  return undefined;
}

/** Offsets as opaque tokens, as Kinde's are. */
const encodeToken = (offset: number) => Buffer.from(`offset:${offset}`).toString("base64url");
const decodeToken = (token: string | undefined) =>
  token ? Number(Buffer.from(token, "base64url").toString("utf8").slice(7)) || 0 : 0;

/** Starts the stand-in on 127.0.0.1 (port chosen by the OS) serving `tenant`. */
export async function startKindeManagementApi(tenant: Tenant): Promise<ManagementApiStandIn> {
  const clientId = "m2m_test_client";
  const clientSecret = "m2m-test-secret";
  const { privateKey } = await generateKeyPair("RS256");
  const issued = new Set<string>();
  const requests: RecordedRequest[] = [];
  const webhooks: TenantWebhook[] = [];
  let eventTypes = [
    ...KINDE_EVENT_TYPE_CODES,
    ...(tenant.billing ? KINDE_BILLING_EVENT_TYPE_CODES : []),
  ].map(eventType);
  let failingWrites = 0;
  const rateLimits = {
    api: { count: 0, seconds: 1, header: "RateLimit-Reset" },
    token: { count: 0, seconds: 1, header: "RateLimit-Reset" },
  };
  let failures = 0;
  let failureStatus = 500;
  let failureMethod: string | undefined;
  let tokenScopes = true;
  let failingPath: string | null = null;
  let failingPathStatus = 500;
  const emptyPages = new Set<string>();
  const loops = new Map<string, { from: number; to: number }>();
  let maxPageSize = 500;
  let missingOrgStatus: 400 | 404 = 400;
  const revoked = new Set<string>();

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    body: JSON.stringify(body),
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });

  function page<T>(items: T[], query: Record<string, string>, field: string, path: string) {
    const size = Math.min(Number(query.page_size) || 10, maxPageSize);
    const offset = decodeToken(query.next_token);
    const slice = items.slice(offset, offset + size);
    const loop = loops.get(path);
    const loopsBack = loop !== undefined && offset === loop.from * size;
    const more = offset + size < items.length;
    return json(200, {
      code: "OK",
      message: "Success",
      [field]: slice,
      ...(loopsBack
        ? { next_token: encodeToken(loop.to * size) }
        : more
          ? { next_token: encodeToken(offset + size) }
          : {}),
    });
  }

  const organizationNotFound = () =>
    json(missingOrgStatus, {
      errors: [
        { code: "ORGANIZATION_NOT_FOUND", message: "Organization not found", field: "org_code" },
      ],
    });

  /** The spec documents 400, not 404, for a user id Kinde does not have. */
  const userNotFound = () =>
    json(400, { errors: [{ code: "USER_INVALID", message: "Invalid user", field: "id" }] });

  /** A user's fields every user endpoint lists, without its email and phone (named differently, or left out). */
  function profileOf(user: TenantUser) {
    return {
      id: user.id,
      provided_id: null,
      username: user.username,
      first_name: user.first_name,
      last_name: user.last_name,
      is_suspended: user.is_suspended,
      ...userDetails(user),
    };
  }

  /** What `expand` adds: organization codes, identities. */
  function expanded(user: TenantUser, expand: string[]) {
    return {
      ...(expand.includes("organizations")
        ? {
            organizations: Object.entries(tenant.members)
              .filter(([, members]) => user.id in members)
              .map(([code]) => code),
          }
        : {}),
      ...(expand.includes("identities") ? { identities: user.identities ?? [] } : {}),
    };
  }

  /** An M2M token shaped like Kinde's: RS256, the granted scopes in `scope`, 24 h. */
  async function issueToken(audience: string | null) {
    const scope = STAND_IN_SCOPES.filter((s) => !revoked.has(s)).join(" ");
    const claims = {
      ...(tokenScopes ? { scope } : {}),
      gty: ["client_credentials"],
      azp: clientId,
    };
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: "stand-in", typ: "JWT" })
      .setIssuer(url)
      .setAudience(audience ? [audience] : [])
      .setIssuedAt()
      .setExpirationTime("24h")
      .setJti(Math.random().toString(36).slice(2))
      .sign(privateKey);
    issued.add(token);
    return token;
  }

  /** A 429 if `rateLimitNext` asked for one at `endpoint`. */
  function rateLimitedAnswer(endpoint: "api" | "token") {
    const limit = rateLimits[endpoint];
    if (limit.count === 0) return undefined;
    limit.count--;
    return json(
      429,
      { errors: [{ code: "TOO_MANY_REQUESTS", message: "Rate limited" }] },
      { [limit.header.toLowerCase()]: String(limit.seconds) },
    );
  }

  async function answer(req: IncomingMessage) {
    const requestUrl = new URL(req.url ?? "/", "http://localhost");
    const query = Object.fromEntries(requestUrl.searchParams);
    const path = requestUrl.pathname;
    const method = req.method ?? "GET";
    const recorded: RecordedRequest = { method, path, query };
    requests.push(recorded);

    if (path === "/oauth2/token" && method === "POST") {
      const limited = rateLimitedAnswer("token");
      if (limited) return limited;
      const form = new URLSearchParams(await readBody(req));
      if (form.get("client_id") !== clientId || form.get("client_secret") !== clientSecret) {
        return json(401, {
          error: "invalid_client",
          error_description: "Client authentication failed",
        });
      }
      return json(200, {
        access_token: await issueToken(form.get("audience")),
        expires_in: 86399,
        token_type: "bearer",
      });
    }
    const bearer = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    if (bearer === undefined || !issued.has(bearer)) {
      return json(401, { errors: [{ code: "UNAUTHORIZED", message: "Invalid token" }] });
    }
    const limited = rateLimitedAnswer("api");
    if (limited) return limited;
    if (failures > 0 && (failureMethod === undefined || failureMethod === method)) {
      failures--;
      return json(failureStatus, { errors: [{ code: "INTERNAL", message: "Temporary failure" }] });
    }
    if (failingPath !== null && path.startsWith(failingPath)) {
      return json(failingPathStatus, {
        errors: [
          { code: failingPathStatus === 400 ? "INVALID_REQUEST" : "INTERNAL", message: "Down" },
        ],
      });
    }
    if (method === "POST" || method === "PATCH") {
      const text = await readBody(req);
      try {
        recorded.body = JSON.parse(text);
      } catch {
        return json(400, { errors: [{ code: "INVALID_JSON", message: "Invalid JSON body" }] });
      }
    }
    const webhookScope = WEBHOOK_SCOPES.find(([m, pattern]) => m === method && pattern.test(path));
    const scope =
      webhookScope?.[2] ??
      (method === "GET" ? SCOPES.find(([pattern]) => pattern.test(path))?.[1] : undefined);
    if (scope === undefined) return json(404, { errors: { code: "ROUTE_NOT_FOUND" } });
    recorded.scope = scope;
    if (revoked.has(scope)) {
      // The spec gives this endpoint's 403 no body at all.
      if (scope === "read:organization_user_permissions") {
        return { status: 403, body: "", headers: {} as Record<string, string> };
      }
      return json(403, { errors: [{ code: "FORBIDDEN", message: "Missing required scope" }] });
    }
    for (const prefix of emptyPages) {
      if (path.startsWith(prefix)) {
        const field = /\/organizations\/[^/]+\/users$/.test(path)
          ? "organization_users"
          : path.split("/").at(-1)!;
        return json(200, { code: "OK", [field]: [], next_token: "c3RpbGwgbW9yZQ" });
      }
    }

    let m: RegExpMatchArray | null;
    if (path === "/api/v1/event_types") {
      return json(200, { code: "OK", message: "Success", event_types: eventTypes });
    }
    if (path === "/api/v1/webhooks" && method === "GET") {
      return json(200, { code: "OK", message: "Success", webhooks });
    }
    if (path === "/api/v1/webhooks" && method === "POST") {
      const body = recorded.body as Record<string, unknown>;
      const invalid =
        invalidText(body, "endpoint") ??
        invalidText(body, "name") ??
        invalidEventTypes(body, eventTypes, true);
      if (invalid) return invalid;
      const endpoint = body.endpoint as string;
      if (!/^https:\/\/[^/]+/.test(endpoint)) {
        return badRequest("INVALID_ENDPOINT", "Endpoint must be a valid HTTPS URL", "endpoint");
      }
      const webhook: TenantWebhook = {
        id: `webhook_${hex(webhooks.length + 1, 8)}${Math.random().toString(16).slice(2, 10)}`,
        name: body.name as string,
        endpoint,
        description: typeof body.description === "string" ? body.description : null,
        event_types: [...(body.event_types as string[])],
        created_on: new Date().toISOString(),
      };
      webhooks.push(webhook);
      if (failingWrites > 0) return lostAnswer();
      return json(200, {
        code: "WEBHOOK_CREATED",
        message: "Webhook created",
        webhook: { id: webhook.id, endpoint: webhook.endpoint },
      });
    }
    if ((m = path.match(/^\/api\/v1\/webhooks\/([^/]+)$/))) {
      const id = decodeURIComponent(m[1]!);
      const webhook = webhooks.find((w) => w.id === id);
      // The spec documents no 404 here: an unknown id is a bad request.
      if (!webhook) return badRequest("WEBHOOK_NOT_FOUND", "Webhook not found", "webhook_id");
      const body = recorded.body as Record<string, unknown>;
      const invalid =
        (body.name !== undefined ? invalidText(body, "name") : undefined) ??
        invalidEventTypes(body, eventTypes, false);
      if (invalid) return invalid;
      if (Array.isArray(body.event_types))
        webhook.event_types = [...(body.event_types as string[])];
      if (typeof body.name === "string") webhook.name = body.name;
      if (body.description !== undefined) {
        webhook.description = typeof body.description === "string" ? body.description : null;
      }
      if (failingWrites > 0) return lostAnswer();
      return json(200, { code: "WEBHOOK_UPDATED", message: "Webhook updated", webhook: { id } });
    }
    if (path === "/api/v1/roles") return page(tenant.roles, query, "roles", path);
    if ((m = path.match(/^\/api\/v1\/roles\/([^/]+)\/permissions$/))) {
      const ids = tenant.rolePermissions[decodeURIComponent(m[1]!)] ?? [];
      const granted = tenant.permissions.filter((p) => ids.includes(p.id));
      return page(granted, query, "permissions", path);
    }
    if (path === "/api/v1/permissions") {
      return page(tenant.permissions, query, "permissions", path);
    }
    if (path === "/api/v1/organizations") {
      return page(tenant.organizations, query, "organizations", path);
    }
    if (path === "/api/v1/organization") {
      const org = tenant.organizations.find((o) => o.code === query.code);
      if (!org) return organizationNotFound();
      return json(200, { ...org, is_default: false, is_auto_membership_enabled: false });
    }
    if ((m = path.match(/^\/api\/v1\/organizations\/([^/]+)\/users\/([^/]+)\/permissions$/))) {
      const code = decodeURIComponent(m[1]!);
      const userId = decodeURIComponent(m[2]!);
      // The spec documents only 200, 403 and 429 here: a non-member has no permissions.
      const roleKeys = tenant.members[code]?.[userId] ?? [];
      const roles = tenant.roles.filter((r) => roleKeys.includes(r.key));
      const direct = tenant.directPermissions?.[code]?.[userId] ?? [];
      const permissions = tenant.permissions.flatMap((p) => {
        const through = roles.filter((r) => tenant.rolePermissions[r.id]?.includes(p.id));
        if (through.length === 0 && !direct.includes(p.id)) return [];
        return [{ ...p, roles: through.map((r) => ({ id: r.id, key: r.key })) }];
      });
      return json(200, { code: "OK", message: "Success", permissions });
    }
    if ((m = path.match(/^\/api\/v1\/organizations\/([^/]+)\/users$/))) {
      const code = decodeURIComponent(m[1]!);
      const org = tenant.members[code];
      if (!org) return organizationNotFound();
      const members = Object.entries(org).map(([id, roles]) => {
        const user = tenant.users.find((u) => u.id === id);
        return {
          id,
          email: user?.email ?? null,
          full_name: `${user?.first_name ?? ""} ${user?.last_name ?? ""}`.trim(),
          first_name: user?.first_name ?? null,
          last_name: user?.last_name ?? null,
          is_suspended: user?.is_suspended ?? false,
          joined_on: "2024-01-01T00:00:00Z",
          roles,
        };
      });
      return page(members, query, "organization_users", path);
    }
    if (path === "/api/v1/users") {
      const expand = (query.expand ?? "").split(",");
      const users = tenant.users.map((user) => ({
        ...profileOf(user),
        email: user.email,
        phone: user.phone,
        ...expanded(user, expand),
      }));
      return page(users, query, "users", path);
    }
    if (path === "/api/v1/user") {
      const user = tenant.users.find((u) => u.id === query.id);
      if (!user) return userNotFound();
      const expand = (query.expand ?? "").split(",");
      // The spec names the email `preferred_email` here, and only here.
      return json(200, {
        ...profileOf(user),
        preferred_email: user.email,
        phone: user.phone,
        ...expanded(user, expand),
      });
    }
    if (path === "/api/v1/search/users") {
      const expand = (query.expand ?? "").split(",");
      const size = Math.min(Number(query.page_size) || 10, maxPageSize);
      const after = query.starting_after;
      const start = after ? tenant.users.findIndex((u) => u.id === after) + 1 : 0;
      if (after && start === 0) {
        return badRequest("INVALID_REQUEST", "starting_after is not a user", "starting_after");
      }
      // No phone in search results (spec: search_users_response).
      const results = tenant.users.slice(start, start + size).map((user) => ({
        ...profileOf(user),
        email: user.email,
        ...expanded(user, expand),
        ...(expand.includes("properties")
          ? { properties: Object.fromEntries(Object.entries(user.properties ?? {})) }
          : {}),
      }));
      return json(200, { code: "OK", message: "Success", results });
    }
    if ((m = path.match(/^\/api\/v1\/users\/([^/]+)\/properties$/))) {
      const user = tenant.users.find((u) => u.id === decodeURIComponent(m![1]!));
      if (!user) return userNotFound();
      const values = propertyValues(user.properties);
      return page(values, { ...query, page_size: String(PROPERTY_PAGE_SIZE) }, "properties", path);
    }
    if ((m = path.match(/^\/api\/v1\/organizations\/([^/]+)\/properties$/))) {
      const org = tenant.organizations.find((o) => o.code === decodeURIComponent(m![1]!));
      if (!org) return organizationNotFound();
      const values = propertyValues(org.properties);
      return page(values, { ...query, page_size: String(PROPERTY_PAGE_SIZE) }, "properties", path);
    }
    const billing = answerBilling(tenant, path, query);
    if (billing) return json(billing.status, billing.body);
    return json(404, { errors: { code: "ROUTE_NOT_FOUND" } });
  }

  function lostAnswer() {
    failingWrites--;
    return json(500, { errors: [{ code: "INTERNAL", message: "Temporary failure" }] });
  }

  let beforeSending: ((path: string) => Promise<void>) | null = null;

  const server: Server = createServer((req, res) => {
    const requestUrl = new URL(req.url ?? "/", "http://localhost");
    const path = requestUrl.pathname;
    answer(req)
      .then((answered) =>
        withBilling(tenant, path, Object.fromEntries(requestUrl.searchParams), answered),
      )
      .then(async (answered) => {
        await beforeSending?.(path);
        return answered;
      })
      .then(
        ({ status, body, headers }) => res.writeHead(status, headers).end(body),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    clientId,
    clientSecret,
    tenant,
    requests,
    rateLimitNext(count, seconds, { header = "RateLimit-Reset", endpoint = "api" } = {}) {
      rateLimits[endpoint] = { count, seconds, header };
    },
    failNext(count, status = 500, method) {
      failures = count;
      failureStatus = status;
      failureMethod = method;
    },
    failPath(prefix, status = 500) {
      failingPath = prefix;
      failingPathStatus = status;
    },
    emptyPageWithToken(prefix) {
      emptyPages.add(prefix);
    },
    loopPaging(path, loop) {
      if (!(loop.to < loop.from)) throw new Error("loopPaging: `to` must be an earlier page");
      loops.set(path, loop);
    },
    capPageSize(size) {
      maxPageSize = size ?? 500;
    },
    missingOrganizationStatus(status) {
      missingOrgStatus = status;
    },
    revokeScope(scope) {
      revoked.add(scope);
    },
    webhooks,
    get eventTypes() {
      return eventTypes;
    },
    set eventTypes(types) {
      eventTypes = types;
    },
    failAfterWriting(count) {
      failingWrites = count;
    },
    omitTokenScopes() {
      tokenScopes = false;
    },
    beforeSending(hook) {
      beforeSending = hook;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
