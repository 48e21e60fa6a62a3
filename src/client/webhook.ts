/**
 * The webhook route: read the body (size-limited), verify the token, parse
 * the event, apply it in one component mutation, and answer with the status
 * Kinde needs. Kinde retries every non-200 for 36 hours and disables an
 * endpoint that fails for 72, so only what a retry could fix gets a non-200
 * that invites one; everything else is 200 or a 4xx with a message that says
 * what to change.
 */
import {
  createFunctionHandle,
  httpActionGeneric,
  type FunctionArgs,
  type FunctionReference,
  type GenericActionCtx,
  type GenericDataModel,
} from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";
import { enrichmentOf, ISSUER_ENV_VAR, issuerUrlOf, logLevelOf, SET_ISSUER_URL } from "./config.js";
import { toKindeEvent } from "./events.js";
import { InvalidPayloadError } from "./kindePayloads.js";
import { createLogger } from "./log.js";
import type { KindeOptions } from "./types.js";
import {
  kindeTypeOf,
  MAX_RECORDED_ERROR_LENGTH,
  type KindeEvent,
  type Outcome,
} from "../shared/events.js";
import { entityOf } from "../shared/eventTypes.js";
import { type MirrorEvent } from "../shared/mirrorEvents.js";
import { type UnmirroredDelivery, type UnmirroredReceipt } from "../shared/unmirroredEvents.js";
import { isPermanentFailure } from "./failures.js";
import { verifyWebhookToken, VerificationError, type VerificationReason } from "./verify.js";
import { messageOf } from "../shared/errors.js";

/**
 * The largest body accepted. Real Kinde tokens are a few KB; the biggest
 * legitimate one, a user in the maximum number of organizations with roles,
 * stays far below this.
 */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Why a delivery was refused, as a stable code: a {@link VerificationReason},
 * or `config` (the deployment's configuration), `too_large` (the body),
 * `invalid_payload` (a verified token that is not a usable event) or
 * `apply_failed` (a failure a retry may fix). The webhook's answer and log
 * line carry it in brackets: `convex-kinde: [not_jwt] the request body …`.
 */
export type RefusalReason =
  VerificationReason | "config" | "too_large" | "invalid_payload" | "apply_failed";

class Rejection extends Error {
  override name = "Rejection";
  constructor(
    readonly status: number,
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A host mutation made by `Kinde.events`, run in the transaction that changes
 * the mirror (`event`) or records an event of a type the mirror does not
 * mirror (`unmirrored`, answered with what its handler did).
 */
export type EventHookReference = FunctionReference<
  "mutation",
  "internal",
  { event?: MirrorEvent; unmirrored?: UnmirroredDelivery },
  UnmirroredReceipt | null
>;

/**
 * The host's enrichment refresh action (`kinde.refreshAction()`), which the
 * component schedules with `{ kind, entityId }` after the events that ask for one.
 */
export type RefreshActionReference = FunctionReference<"action", "internal">;

/** Builds the httpAction that `Kinde.registerRoutes` mounts. */
export function webhookHandler(
  component: ComponentApi,
  options: KindeOptions,
  onEvent: EventHookReference | undefined,
  refresh?: RefreshActionReference,
) {
  const log = createLogger(logLevelOf(options));
  // Without either option nothing asks for a refresh, whatever `refresh` is.
  const enrichment = enrichmentOf(options);
  const billing = options.billing === true;
  const refreshes = (enrichment !== null || billing) && refresh ? { refresh } : null;
  let onEventHandle: string | undefined;
  let refreshHandle: string | undefined;
  return httpActionGeneric(async (ctx, request) => {
    // Unsigned and only for diagnostics: keep a sane length of it.
    const webhookId = request.headers.get("webhook-id")?.slice(0, 200) || undefined;
    try {
      const issuerUrl = webhookIssuerUrl(options);
      const token = (await readBody(request)).trim();
      const claims = await verifyWebhookToken(token, issuerUrl);
      const event = toKindeEvent(claims, { forHooks: onEvent !== undefined, billing });
      const type = kindeTypeOf(event);
      let outcome: Outcome;
      let failureLogged = false;
      try {
        onEventHandle ??= onEvent && (await createFunctionHandle(onEvent));
        refreshHandle ??= refreshes ? await createFunctionHandle(refreshes.refresh) : undefined;
        ({ outcome } = await applyEvent(ctx, component, event, {
          webhookId,
          onEvent: onEventHandle,
          retentionDays: options.retentionDays,
          ...(refreshes &&
            refreshHandle !== undefined && {
              refresh: {
                handle: refreshHandle,
                users: enrichment?.users ?? false,
                organizations: enrichment?.organizations ?? false,
                afterSignInMs: enrichment?.refreshAfterSignInMs,
                ...(billing && { billing: true }),
              },
            }),
        }));
      } catch (error) {
        const reason = messageOf(error);
        if (!isPermanentFailure(reason)) {
          throw new Rejection(500, "apply_failed", `failed to apply ${event.eventId}: ${reason}`);
        }
        // The apply mutation rolled back whole; record the event as failed
        // in a second one, so Kinde stops retrying what no retry can fix.
        ({ outcome } = await recordFailure(ctx, component, event, {
          error: reason,
          webhookId,
          retentionDays: options.retentionDays,
        }));
        if (outcome === "failed") {
          log.error(`${type} ${event.eventId}: failed, recorded and not retried: ${reason}`);
          failureLogged = true;
        }
      }
      // A `failed` the component recorded itself: the host's handler could
      // not receive the event (the reason is in the event log).
      (outcome === "applied" || outcome === "delivered"
        ? log.info
        : outcome === "future" || (outcome === "failed" && !failureLogged)
          ? log.warn
          : log.debug)(`${type} ${event.eventId}: ${outcome}`);
      return new Response(`${outcome} ${event.eventId}\n`, {
        status: 200,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    } catch (error) {
      const { status, reason, message } = toRejection(error);
      const detail = webhookId ? ` (webhook-id ${webhookId})` : "";
      (status >= 500 ? log.error : log.warn)(
        `refused a delivery with ${status}${detail}: [${reason}] ${message}`,
      );
      return new Response(`convex-kinde: [${reason}] ${message}\n`, {
        status,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
  });
}

/** What the component's `applyEvent` takes besides the event. */
export type Delivery = Omit<FunctionArgs<ComponentApi["webhooks"]["applyEvent"]>, "event">;

/** Applies `event` in one transaction of the component. */
export async function applyEvent(
  ctx: Pick<GenericActionCtx<GenericDataModel>, "runMutation">,
  component: ComponentApi,
  event: KindeEvent,
  delivery: Delivery,
): Promise<{ outcome: Outcome }> {
  return await ctx.runMutation(component.webhooks.applyEvent, { event, ...delivery });
}

/**
 * Records `event` as failed with a bounded summary of it. A failure to record
 * is answered 500: Kinde's retry then tries the event again.
 */
async function recordFailure(
  ctx: Pick<GenericActionCtx<GenericDataModel>, "runMutation">,
  component: ComponentApi,
  event: KindeEvent,
  delivery: { error: string; webhookId?: string; retentionDays?: number },
): Promise<{ outcome: Outcome }> {
  try {
    return await ctx.runMutation(component.webhooks.recordFailedEvent, {
      eventId: event.eventId,
      type: kindeTypeOf(event),
      source: event.source,
      occurredAt: event.occurredAt,
      ...entityOf(event),
      ...delivery,
      error: delivery.error.slice(0, MAX_RECORDED_ERROR_LENGTH),
    });
  } catch (error) {
    throw new Rejection(
      500,
      "apply_failed",
      `failed to apply ${event.eventId} (${delivery.error}), then to record it: ${messageOf(error)}`,
    );
  }
}

function toRejection(error: unknown): { status: number; reason: RefusalReason; message: string } {
  if (error instanceof Rejection || error instanceof VerificationError) return error;
  if (error instanceof InvalidPayloadError) {
    return { status: 400, reason: "invalid_payload", message: error.message };
  }
  return { status: 500, reason: "apply_failed", message: messageOf(error) };
}

/** The configured issuer URL, or a 500 that says how to set it: a missing value must not break deploys. */
function webhookIssuerUrl(options: KindeOptions): string {
  const issuer = issuerUrlOf(options);
  switch (issuer.problem) {
    case undefined:
      return issuer.issuerUrl;
    case "unset":
      throw new Rejection(500, "config", `${ISSUER_ENV_VAR} is not set: run \`${SET_ISSUER_URL}\``);
    case "not_a_url":
      throw new Rejection(
        500,
        "config",
        `${ISSUER_ENV_VAR} is not a URL: ${JSON.stringify(issuer.raw)}`,
      );
  }
}

/** Reads the body as text, refusing it as soon as it passes {@link MAX_BODY_BYTES}. */
async function readBody(request: Request): Promise<string> {
  const tooLarge = () =>
    new Rejection(
      413,
      "too_large",
      `the body is larger than ${MAX_BODY_BYTES} bytes; Kinde webhooks are far smaller`,
    );
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(body);
}
