/**
 * The Management API reads of enrichment: one user (`GET /api/v1/user`), one
 * user's or organization's custom properties, through the backfill's
 * `ManagementApi` (its retries, 429 waits and `WaitRequired`). A user or
 * organization Kinde no longer has reads as null: nothing is written, and
 * the webhook of its deletion removes it.
 */
import type { Bounded, KindeProperties, UserDetails } from "../shared/enrichment.js";
import type { Enrichment, PropertySelection } from "./config.js";
import { propertyListEntries, toProperties, toUserDetails } from "./enrichmentPayloads.js";
import type { Logger } from "./log.js";
import { ManagementApiError, type ManagementApi } from "./managementApi.js";
import { followPaging, type PagingStep } from "./paging.js";
import type { PagingState } from "../shared/backfill.js";
import { userCustomerId } from "./billingReads.js";

/** The Management API scopes enrichment reads with, as the spec names them; the doctor checks them. */
export const ENRICHMENT_SCOPES = {
  users: "read:users",
  userProperties: "read:user_properties",
  organizationProperties: "read:organization_properties",
} as const;

/** What one read of a user gave: each part it read (an absent part was not read). */
export interface UserRead {
  details?: UserDetails;
  properties?: KindeProperties;
}

/**
 * Whether `error` says Kinde has no such user or organization: a 404, or the
 * 400 the spec documents for these endpoints (an id Kinde does not know).
 */
export function isGone(error: unknown): error is ManagementApiError {
  return error instanceof ManagementApiError && (error.status === 404 || error.status === 400);
}

/** Logs what a mapping dropped, naming whose it was. */
export function warnOfDropped(log: Logger, whose: string, mapped: Bounded<unknown>) {
  if (mapped.dropped.length > 0) {
    log.warn(`enrichment: ${whose}: left out ${mapped.dropped.join("; ")}`);
  }
}

/**
 * One user's details (`GET /api/v1/user?id=…&expand=identities`) and
 * properties, as the option names them; null when Kinde has no such user.
 * With `billing`, the same user read also expands `billing`, and its
 * customer id comes back beside them (`customerId`; absent when the user
 * was not read, i.e. no details are kept).
 */
export async function readUser(
  api: ManagementApi,
  kindeId: string,
  enrichment: Enrichment,
  log: Logger,
  { billing = false }: { billing?: boolean } = {},
): Promise<(UserRead & { customerId?: string | null }) | null> {
  const read: UserRead & { customerId?: string | null } = {};
  try {
    if (enrichment.details.length > 0) {
      const expand = [
        ...(enrichment.details.includes("identities") ? ["identities"] : []),
        ...(billing ? ["billing"] : []),
      ];
      const user = await api.get(
        "/api/v1/user",
        { id: kindeId, expand: expand.length > 0 ? expand.join(",") : undefined },
        ENRICHMENT_SCOPES.users,
      );
      const details = toUserDetails(user, enrichment.details)!;
      warnOfDropped(log, `user ${kindeId}`, details);
      read.details = details.value;
      if (billing) read.customerId = userCustomerId(user);
    }
    if (enrichment.userProperties !== null) {
      read.properties = await readProperties(
        api,
        `/api/v1/users/${encodeURIComponent(kindeId)}/properties`,
        ENRICHMENT_SCOPES.userProperties,
        enrichment.userProperties,
        log,
        `user ${kindeId}`,
      );
    }
  } catch (error) {
    if (isGone(error)) return null;
    throw error;
  }
  return read;
}

/** An organization's properties, as the option names them; null when Kinde has no such organization. */
export async function readOrganizationProperties(
  api: ManagementApi,
  orgCode: string,
  selection: PropertySelection,
  log: Logger,
): Promise<KindeProperties | null> {
  try {
    return await readProperties(
      api,
      `/api/v1/organizations/${encodeURIComponent(orgCode)}/properties`,
      ENRICHMENT_SCOPES.organizationProperties,
      selection,
      log,
      `organization ${orgCode}`,
    );
  } catch (error) {
    if (isGone(error)) return null;
    throw error;
  }
}

/** Every page of a property listing (`next_token`), mapped once all are read. */
async function readProperties(
  api: ManagementApi,
  path: string,
  scope: string,
  selection: PropertySelection,
  log: Logger,
  whose: string,
): Promise<KindeProperties> {
  const entries: [unknown, unknown][] = [];
  let cursor: string | undefined;
  let paging: PagingState | undefined;
  do {
    const body = await api.get(path, { next_token: cursor }, scope);
    const listed = propertyListEntries(body.properties);
    entries.push(...listed);
    const paged: PagingStep = followPaging(paging, cursor, body.next_token, listed.length);
    if ("end" in paged && paged.end === "repeated token") {
      log.warn(
        `enrichment: GET ${path} returned a next_token it had returned before; ending there`,
      );
    }
    [cursor, paging] = "next" in paged ? [paged.next, paged.paging] : [undefined, undefined];
  } while (cursor);
  const properties = toProperties(entries, selection);
  warnOfDropped(log, whose, properties);
  return properties.value;
}
