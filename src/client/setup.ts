/**
 * Setup, host side: registers this deployment's webhook in Kinde through the
 * Management API, or brings an existing one's event types up to date. The
 * plan is a pure function of what Kinde lists, so a dry run and a real run
 * decide the same way, and a second run finds nothing to do.
 */
import { v, type Infer } from "convex/values";
import { internalActionGeneric } from "convex/server";
import { logLevelOf, managementConfig } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import {
  backoffMs,
  ManagementApi,
  ManagementApiError,
  retryPolicy,
  type RetryPolicy,
} from "./managementApi.js";
import type { KindeOptions } from "./types.js";
import { retryLaterMessage, waitOrThrow, WaitRequired } from "./waits.js";
import { EVENT_TYPES, type HandledEventType } from "../shared/eventTypes.js";
import { messageOf } from "../shared/errors.js";
import { CUSTOMER_EVENT_TYPES, type UnmirroredEventType } from "../shared/unmirroredEvents.js";

/**
 * Every Kinde event type the mirror applies, in `EVENT_TYPES`' order;
 * docs/setup-and-doctor.md, "Point Kinde at the webhook by hand", lists the same.
 */
export const MIRRORED_EVENT_TYPES = Object.keys(EVENT_TYPES) as readonly HandledEventType[];

/** What a Kinde event type code looks like: `customer.plan_changed`, `access_request.created`. */
const EVENT_TYPE_FORMAT = /^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/;

/** Management API scopes, as the spec names them. */
export const WEBHOOK_SCOPES = {
  read: "read:webhooks",
  create: "create:webhooks",
  update: "update:webhooks",
  eventTypes: "read:event_types",
} as const;

/** Set by Convex in every deployment: its HTTP actions URL, `https://<name>.convex.site`. */
export const SITE_URL_ENV_VAR = "CONVEX_SITE_URL";

/** A configuration problem setup cannot work around; the message says what to change. */
export class SetupError extends Error {
  override name = "SetupError";
}

/**
 * The URL Kinde must call: the deployment's HTTP actions URL and the route's
 * path. Kinde delivers to HTTPS endpoints only, so a local deployment
 * (`http://127.0.0.1:3211`) is refused here rather than by Kinde.
 */
export function webhookEndpoint(siteUrl: string | undefined, path: string): string {
  if (!siteUrl || siteUrl.trim() === "") {
    throw new SetupError(
      `${SITE_URL_ENV_VAR} is not set. Convex sets it in every deployment; run setup with \`npx convex run\` against the deployment whose webhook you want registered.`,
    );
  }
  let url: URL;
  try {
    url = new URL(path, siteUrl.trim().replace(/\/*$/, "/"));
  } catch {
    throw new SetupError(`${SITE_URL_ENV_VAR} is not a URL: ${JSON.stringify(siteUrl)}`);
  }
  if (!path.startsWith("/")) {
    throw new SetupError(`The webhook path must start with "/", as registerRoutes needs: ${path}`);
  }
  if (url.protocol !== "https:") {
    throw new SetupError(
      `Kinde delivers webhooks to HTTPS endpoints only, and ${SITE_URL_ENV_VAR} is ${siteUrl}: a local deployment Kinde cannot reach. Run setup against a cloud deployment (dev, prod or preview).`,
    );
  }
  return normalizeEndpoint(url.href) ?? url.href;
}

/**
 * An endpoint in the form two spellings of the same URL share: scheme and host
 * lowercased, default port dropped, no fragment. The path stays as it is:
 * Convex routes paths exactly, so `/kinde/webhook/` is another endpoint.
 * Null for something that is not a URL.
 */
export function normalizeEndpoint(endpoint: string): string | null {
  try {
    const url = new URL(endpoint.trim());
    url.hash = "";
    return url.href;
  } catch {
    return null;
  }
}

/**
 * Why `other` looks meant for `endpoint` but cannot receive its deliveries,
 * or null: the classic mistakes are the `.convex.cloud` host (the client API,
 * which serves no HTTP actions) and the right host with another path.
 */
export function nearMiss(endpoint: string, other: string): string | null {
  const ours = new URL(endpoint);
  let theirs: URL;
  try {
    theirs = new URL(other.trim());
  } catch {
    return null;
  }
  const cloudTwin = ours.hostname.replace(/\.convex\.site$/, ".convex.cloud");
  if (cloudTwin !== ours.hostname && theirs.hostname === cloudTwin) {
    return "uses the .convex.cloud host, which serves no HTTP actions (the webhook needs .convex.site)";
  }
  if (theirs.hostname === ours.hostname && theirs.pathname !== ours.pathname) {
    return `has the path ${theirs.pathname}, not the route's ${ours.pathname}`;
  }
  return null;
}

/** A webhook as Kinde lists it, reduced to what setup compares. */
export interface ListedWebhook {
  id: string;
  name?: string;
  endpoint: string;
  eventTypes: string[];
}

export interface SetupPlan {
  /** `none`: a webhook already delivers every event type to this endpoint. */
  action: "create" | "update" | "none";
  endpoint: string;
  /** The webhook updated or left alone. */
  webhookId?: string;
  /** The webhook's event types once the plan is carried out. */
  eventTypes: string[];
  /** Event types the plan adds. */
  added: string[];
  /** Things setup does not change but the reader should (near misses, duplicates, types Kinde lacks). */
  warnings: string[];
}

/**
 * What setup does, given the webhooks Kinde lists. An existing webhook for the
 * endpoint is kept with every type it has (other types are harmless: the
 * component acknowledges them) and gets the missing ones; only when none
 * exists is one created. `offered`: the tenant's event type codes, if known;
 * types it lacks are left out rather than refused by Kinde.
 */
export function planSetup({
  endpoint,
  webhooks,
  offered,
  extra = [],
}: {
  endpoint: string;
  webhooks: ListedWebhook[];
  offered?: string[];
  /** Types to register besides the mirror's: those the host's handlers handle. */
  extra?: readonly string[];
}): SetupPlan {
  const warnings: string[] = [];
  const all = [...new Set([...MIRRORED_EVENT_TYPES, ...extra])];
  const wanted = all.filter((type) => !offered || offered.includes(type));
  const lacking = all.filter((type) => !wanted.includes(type));
  if (lacking.length > 0) {
    warnings.push(
      `Kinde does not offer ${lacking.join(", ")} in this environment; the webhook is registered without them.`,
    );
  }
  const matches = webhooks.filter((w) => normalizeEndpoint(w.endpoint) === endpoint);
  for (const webhook of webhooks) {
    const why = matches.includes(webhook) ? null : nearMiss(endpoint, webhook.endpoint);
    if (why) {
      warnings.push(
        `${webhook.id} (${webhook.endpoint}) ${why}: it never reaches this deployment; delete it in Kinde (Settings → Environment → Webhooks).`,
      );
    }
  }
  const missingFrom = (webhook: ListedWebhook) =>
    wanted.filter((type) => !webhook.eventTypes.includes(type));
  const target = [...matches].sort((a, b) => missingFrom(a).length - missingFrom(b).length)[0];
  if (matches.length > 1) {
    warnings.push(
      `${matches.length} webhooks point at ${endpoint} (${matches.map((w) => w.id).join(", ")}): Kinde sends each event ${matches.length} times. The component applies it once, but delete all except ${target!.id}.`,
    );
  }
  if (!target) {
    return { action: "create", endpoint, eventTypes: [...wanted], added: [...wanted], warnings };
  }
  const added = missingFrom(target);
  return {
    action: added.length === 0 ? "none" : "update",
    endpoint,
    webhookId: target.id,
    eventTypes: [...target.eventTypes, ...added],
    added,
    warnings,
  };
}

/** The scopes a plan needs that a token lacking `granted` does not have. */
export function missingScopes(plan: Pick<SetupPlan, "action">, granted: string[]): string[] {
  const needed: string[] = [WEBHOOK_SCOPES.read];
  if (plan.action === "create") needed.push(WEBHOOK_SCOPES.create);
  if (plan.action === "update") needed.push(WEBHOOK_SCOPES.update);
  return needed.filter((scope) => !granted.includes(scope));
}

/** The error that names every scope setup lacks, and where to grant them. */
export function scopesError(missing: string[]): ManagementApiError {
  return new ManagementApiError(
    `Setup needs the scope${missing.length > 1 ? "s" : ""} ${missing.map((s) => `\`${s}\``).join(", ")} on the Kinde Management API, which the machine-to-machine application lacks. In Kinde: Settings → Applications → your M2M application → APIs → Kinde Management API → Scopes; then run setup again.`,
    403,
  );
}

/** Kinde's webhook list, loosely read: entries without an id or endpoint are dropped. */
export function toListedWebhooks(body: Record<string, unknown>): ListedWebhook[] {
  if (!Array.isArray(body.webhooks)) return [];
  return body.webhooks.flatMap((raw: unknown) => {
    if (typeof raw !== "object" || raw === null) return [];
    const { id, name, endpoint, event_types } = raw as Record<string, unknown>;
    if (typeof id !== "string" || typeof endpoint !== "string") return [];
    const eventTypes = Array.isArray(event_types)
      ? event_types.filter((t): t is string => typeof t === "string")
      : [];
    return [{ id, endpoint, eventTypes, ...(typeof name === "string" ? { name } : {}) }];
  });
}

/** The event type codes Kinde offers, or undefined when the answer has none. */
export function toOfferedTypes(body: Record<string, unknown>): string[] | undefined {
  if (!Array.isArray(body.event_types)) return undefined;
  const codes = body.event_types.flatMap((raw: unknown) => {
    const code = (raw as { code?: unknown } | null)?.code;
    return typeof code === "string" ? [code] : [];
  });
  return codes.length > 0 ? codes : undefined;
}

/**
 * The billing event types setup registers with the `billing` option: Kinde's
 * `customer.*` types, and any other `customer.` type the environment offers
 * (one Kinde adds later: each triggers a refresh of its customer too).
 */
export function billingEventTypes(offered: readonly string[] | undefined): string[] {
  const more = (offered ?? []).filter((type) => type.startsWith("customer."));
  return [...new Set<string>([...CUSTOMER_EVENT_TYPES, ...more])];
}

/** Why the billing option gets no webhooks, when the environment offers no `customer.` type at all. */
export function billingNotOffered(offered: readonly string[] | undefined): string | undefined {
  if (!offered || offered.some((type) => type.startsWith("customer."))) return undefined;
  return "the billing option is on, but Kinde offers no customer.* event type in this environment (is Kinde Billing enabled?): plan changes reach the mirror only through refreshes and the backfill; run setup again once billing is enabled in Kinde";
}

/** The webhook's name in Kinde's dashboard: which deployment it feeds. */
export function webhookName(endpoint: string): string {
  return `Convex ${new URL(endpoint).hostname.split(".")[0]} (convex-kinde)`;
}

export const vSetupArgs = {
  /** Print the plan and change nothing in Kinde. */
  dryRun: v.optional(v.boolean()),
};

export const vSetupResult = v.object({
  dryRun: v.boolean(),
  /** What setup did (or, in a dry run, would do). */
  action: v.union(v.literal("create"), v.literal("update"), v.literal("none")),
  /** Whether Kinde was changed by this run. */
  changed: v.boolean(),
  endpoint: v.string(),
  webhookId: v.union(v.string(), v.null()),
  eventTypes: v.array(v.string()),
  added: v.array(v.string()),
  warnings: v.array(v.string()),
  /** Management API requests this run made, the token request and retries included. */
  requests: v.number(),
});
export type SetupResult = Infer<typeof vSetupResult>;

/** How the host's setup action works; every field is optional. */
export interface SetupActionOptions {
  /** The path the webhook route is mounted on: what `registerRoutes(http, { path })` was given (default `/kinde/webhook`). */
  path?: string;
  /** Retries of each Management API request; unset fields keep their defaults. */
  retry?: Partial<RetryPolicy>;
  /**
   * Kinde event types to register besides the mirror's: the types the mirror
   * does not mirror that your `kinde.events` handlers handle, such as
   * `customer.plan_changed`. A type Kinde does not offer (when setup may read
   * Kinde's list, `read:event_types`) is left out with a warning.
   */
  eventTypes?: readonly (UnmirroredEventType | (string & {}))[];
}

/** Builds the host's setup action (see `Kinde.setupAction`). */
export function setupAction(
  options: KindeOptions,
  { path, retry: retryOverrides, eventTypes = [] }: SetupActionOptions & { path: string },
) {
  const retry = retryPolicy(retryOverrides, "setupAction");
  const malformed = eventTypes.filter((type) => !EVENT_TYPE_FORMAT.test(type));
  if (malformed.length > 0) {
    // At module load, like a bad `retry`: a typo fails the deploy, not a run.
    throw new SetupError(
      `setupAction's eventTypes must be Kinde event types like "customer.plan_changed": ${malformed.map((t) => JSON.stringify(t)).join(", ")}`,
    );
  }
  return internalActionGeneric({
    args: vSetupArgs,
    returns: vSetupResult,
    handler: async (_ctx, { dryRun = false }): Promise<SetupResult> => {
      const log = createLogger(logLevelOf(options, "task"));
      try {
        return await setUp(options, retry, { path, eventTypes }, dryRun, log);
      } catch (error) {
        if (!(error instanceof WaitRequired)) throw error;
        // A one-shot command has no continuation: answer now, saying when to run it again.
        const message = `${retryLaterMessage(error)}. Running setup again then is safe: it never creates a second webhook.`;
        log.warn(`setup: ${message}`);
        throw new ManagementApiError(message);
      }
    },
  });
}

/** What setup does, within one action; a wait longer than it may sleep throws `WaitRequired`. */
async function setUp(
  options: KindeOptions,
  retry: RetryPolicy,
  { path, eventTypes }: { path: string; eventTypes: readonly string[] },
  dryRun: boolean,
  log: Logger,
): Promise<SetupResult> {
  const endpoint = webhookEndpoint(process.env[SITE_URL_ENV_VAR], path);
  const api = new ManagementApi(managementConfig(options, "Setup"), retry);
  const granted = await api.grantedScopes({ fresh: true });
  if (granted && !granted.includes(WEBHOOK_SCOPES.read)) {
    throw scopesError([WEBHOOK_SCOPES.read]);
  }
  const listWebhooks = async () =>
    toListedWebhooks(await api.get("/api/v1/webhooks", {}, WEBHOOK_SCOPES.read));
  const webhooks = await listWebhooks();
  const offered = await readOfferedTypes(api, granted);
  const extra = options.billing ? [...eventTypes, ...billingEventTypes(offered.types)] : eventTypes;
  const plan = planSetup({ endpoint, webhooks, offered: offered.types, extra });
  if (offered.warning) plan.warnings.push(offered.warning);
  const noBilling = options.billing ? billingNotOffered(offered.types) : undefined;
  if (noBilling) plan.warnings.push(noBilling);
  const lacking = granted ? missingScopes(plan, granted) : [];

  const result = (changed: boolean, webhookId = plan.webhookId): SetupResult => ({
    dryRun,
    action: plan.action,
    changed,
    endpoint,
    webhookId: webhookId ?? null,
    eventTypes: plan.eventTypes,
    added: plan.added,
    warnings: plan.warnings,
    requests: api.requests,
  });
  for (const warning of plan.warnings) log.warn(`setup: ${warning}`);
  if (dryRun) {
    if (lacking.length > 0) {
      plan.warnings.push(scopesError(lacking).message);
      log.warn(`setup: ${scopesError(lacking).message}`);
    }
    log.info(`setup (dry run, nothing changed): ${describePlan(plan, "would")}`);
    return result(false);
  }
  if (lacking.length > 0) throw scopesError(lacking);

  switch (plan.action) {
    case "none":
      log.info(`setup: ${describePlan(plan, "did")}`);
      return result(false);
    case "update":
      await api.send(
        "PATCH",
        `/api/v1/webhooks/${encodeURIComponent(plan.webhookId!)}`,
        { event_types: plan.eventTypes },
        WEBHOOK_SCOPES.update,
      );
      log.info(`setup: ${describePlan(plan, "did")}`);
      return result(true);
    case "create": {
      const id = await createOnce(api, retry, plan, listWebhooks);
      log.info(`setup: ${describePlan({ ...plan, webhookId: id }, "did")}`);
      return result(true, id);
    }
  }
}

/** The tenant's event types, if the application may read them; without, setup uses its own list. */
async function readOfferedTypes(
  api: ManagementApi,
  granted: string[] | undefined,
): Promise<{ types?: string[]; warning?: string }> {
  const unread = `without \`${WEBHOOK_SCOPES.eventTypes}\` setup cannot check that Kinde offers every event type; it registers all of them`;
  if (granted && !granted.includes(WEBHOOK_SCOPES.eventTypes)) return { warning: unread };
  try {
    return {
      types: toOfferedTypes(await api.get("/api/v1/event_types", {}, WEBHOOK_SCOPES.eventTypes)),
    };
  } catch (error) {
    if (error instanceof ManagementApiError && error.status === 403) return { warning: unread };
    throw error;
  }
}

/**
 * Creates the webhook without ever creating two: a 5xx or a lost connection
 * may come after Kinde created it, so before trying again setup lists the
 * webhooks and takes the one that appeared.
 */
async function createOnce(
  api: ManagementApi,
  retry: RetryPolicy,
  plan: SetupPlan,
  listWebhooks: () => Promise<ListedWebhook[]>,
): Promise<string> {
  const body = {
    endpoint: plan.endpoint,
    event_types: plan.eventTypes,
    name: webhookName(plan.endpoint),
    description: "Keeps this Convex deployment's Kinde mirror in sync. Registered by convex-kinde.",
  };
  for (let attempt = 1; ; attempt++) {
    let failure: unknown = new ManagementApiError(
      "Kinde answered the webhook create without the webhook's id, and does not list it",
    );
    try {
      const created = await api.send("POST", "/api/v1/webhooks", body, WEBHOOK_SCOPES.create, {
        retryServerErrors: false,
      });
      const id = (created.webhook as { id?: unknown } | undefined)?.id;
      if (typeof id === "string") return id;
    } catch (error) {
      const unknownOutcome =
        error instanceof ManagementApiError && (error.status === undefined || error.status >= 500);
      if (!unknownOutcome) throw error;
      failure = error;
    }
    // Kinde may have created it before failing (or answered without an id): look before sending again.
    const appeared = (await listWebhooks()).find(
      (w) => normalizeEndpoint(w.endpoint) === plan.endpoint,
    );
    if (appeared) return appeared.id;
    if (attempt >= retry.attempts) throw failure;
    await waitOrThrow(
      backoffMs(attempt, retry),
      api.deadline,
      (resumesAt) =>
        new WaitRequired(
          resumesAt,
          `Kinde's Management API kept failing (creating the webhook: ${messageOf(failure)}; try ${attempt} of ${retry.attempts})`,
          { request: "POST /api/v1/webhooks", failures: attempt, rateLimited: 0 },
        ),
    );
  }
}

/** One readable line: what setup did or would do. */
export function describePlan(plan: SetupPlan, mood: "did" | "would"): string {
  const types = (list: string[]) => `${list.length} event types (${list.join(", ")})`;
  switch (plan.action) {
    case "create":
      return mood === "did"
        ? `created webhook ${plan.webhookId} for ${plan.endpoint} with ${types(plan.eventTypes)}`
        : `would create a webhook for ${plan.endpoint} with ${types(plan.eventTypes)}`;
    case "update":
      return `${mood === "did" ? "added" : "would add"} ${plan.added.join(", ")} to webhook ${plan.webhookId} (${plan.endpoint}), which then has ${types(plan.eventTypes)}`;
    case "none":
      return `webhook ${plan.webhookId} already sends every event type setup registers to ${plan.endpoint}; nothing to change`;
  }
}
