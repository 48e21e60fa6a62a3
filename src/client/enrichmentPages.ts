/**
 * Enrichment a page at a time, for the backfill and the sweep: the users a
 * listing page carries (details from `GET /api/v1/users`, properties from
 * `GET /api/v1/search/users?expand=properties`), handed to the component's
 * `enrichment.applyUsers` in as many calls as it takes.
 */
import type { GenericActionCtx, GenericDataModel } from "convex/server";
import type { ComponentApi } from "../component/_generated/component.js";
import {
  MAX_USERS_PER_APPLY,
  type KindeProperties,
  type UserDetails,
} from "../shared/enrichment.js";
import type { PagingState } from "../shared/backfill.js";
import type { Enrichment, PropertySelection } from "./config.js";
import { propertyObjectEntries, toProperties, toUserDetails } from "./enrichmentPayloads.js";
import { ENRICHMENT_SCOPES, readOrganizationProperties, warnOfDropped } from "./enrichmentReads.js";
import type { Logger } from "./log.js";
import type { ManagementApi } from "./managementApi.js";
import { followPaging, type PagingStep } from "./paging.js";

/** One user's part of a fetch, as `enrichment.applyUsers` takes it. */
export interface UserFetch {
  kindeId: string;
  details?: UserDetails;
  properties?: KindeProperties;
}

/** Kinde's largest page: the search listing's too. */
export const ENRICHMENT_PAGE_SIZE = 500;

/**
 * What `GET /api/v1/users` needs in `expand` for enrichment's details, beside
 * what the caller asks for: `identities` when they are kept (picture,
 * creation time and sign-ins are in every listed user).
 */
export function usersExpand(
  enrichment: Enrichment | null,
  base: string[] = [],
): string | undefined {
  const expand = enrichment?.details.includes("identities") ? [...base, "identities"] : base;
  return expand.length > 0 ? expand.join(",") : undefined;
}

/** The details of each listed user (`GET /api/v1/users`), as the option names them; none when it names no detail. */
export function detailsOfListed(items: unknown, enrichment: Enrichment, log: Logger): UserFetch[] {
  if (enrichment.details.length === 0 || !Array.isArray(items)) return [];
  return (items as unknown[]).flatMap((item) => {
    const kindeId = idOf(item);
    if (kindeId === undefined) return [];
    const details = toUserDetails(item as Record<string, unknown>, enrichment.details)!;
    warnOfDropped(log, `user ${kindeId}`, details);
    return [{ kindeId, details: details.value }];
  });
}

function idOf(item: unknown): string | undefined {
  if (typeof item !== "object" || item === null) return undefined;
  const id = (item as { id?: unknown }).id;
  return typeof id === "string" && id.trim() !== "" ? id.trim() : undefined;
}

/** One page of the search listing: each user's properties, and where the listing goes on. */
export interface PropertiesPage {
  users: UserFetch[];
  /** The `starting_after` of the next page and its paging state; absent: the listing is over. */
  next?: { cursor: string; paging: PagingState };
}

/**
 * One page of `GET /api/v1/search/users?query=*&expand=properties` after the
 * user `startingAfter` (none: the first page): every listed user's
 * properties as `selection` names them (a user listed without any: `{}`).
 * It pages by the last user's id, and ends on an empty page or an id seen
 * before (a loop), not on a short page: Kinde may cap the page below 500.
 */
export async function readPropertiesPage(
  api: ManagementApi,
  startingAfter: string | undefined,
  paging: PagingState | undefined,
  selection: PropertySelection,
  log: Logger,
): Promise<PropertiesPage> {
  const path = "/api/v1/search/users";
  const body = await api.get(
    path,
    {
      query: "*",
      page_size: String(ENRICHMENT_PAGE_SIZE),
      starting_after: startingAfter,
      expand: "properties",
    },
    ENRICHMENT_SCOPES.users,
  );
  const results: unknown[] = Array.isArray(body.results) ? (body.results as unknown[]) : [];
  const users = results.flatMap((item) => {
    const kindeId = idOf(item);
    if (kindeId === undefined) return [];
    const entries = propertyObjectEntries((item as { properties?: unknown }).properties);
    const properties = toProperties(entries, selection);
    warnOfDropped(log, `user ${kindeId}`, properties);
    return [{ kindeId, properties: properties.value }];
  });
  const last = results.length > 0 ? idOf(results.at(-1)) : undefined;
  const paged: PagingStep = followPaging(paging, startingAfter, last, results.length);
  if ("end" in paged && paged.end === "repeated token") {
    log.warn(`enrichment: GET ${path} listed user ${last} again; ending that listing there`);
  }
  return "next" in paged
    ? { users, next: { cursor: paged.next, paging: paged.paging } }
    : { users };
}

/** What `applyUsers` calls did, added up. */
export interface AppliedUsers {
  applied: number;
  stale: number;
  missing: number;
}

/**
 * Hands `users` (read by a fetch begun at `fetchedAt`) to the component, at
 * most {@link MAX_USERS_PER_APPLY} a call and again from wherever a call
 * stopped at its transaction budget.
 */
export async function applyUserFetches(
  ctx: Pick<GenericActionCtx<GenericDataModel>, "runMutation">,
  component: ComponentApi,
  fetchedAt: number,
  users: UserFetch[],
  hook: { onEvent?: string; runId?: string },
): Promise<AppliedUsers> {
  const total: AppliedUsers = { applied: 0, stale: 0, missing: 0 };
  let rest = users;
  while (rest.length > 0) {
    const batch = rest.slice(0, MAX_USERS_PER_APPLY);
    const result = await ctx.runMutation(component.enrichment.applyUsers, {
      fetchedAt,
      users: batch,
      ...hook,
    });
    if (result.handled === 0) {
      throw new Error(
        `enrichment.applyUsers could not write user ${batch[0]!.kindeId} within one transaction`,
      );
    }
    total.applied += result.applied;
    total.stale += result.stale;
    total.missing += result.missing;
    rest = rest.slice(result.handled);
  }
  return total;
}

/**
 * Reads an organization's properties (a fetch begun at `fetchedAt`, by
 * default now) and hands them to the component: what it made of them, or
 * `gone` when Kinde no longer has the organization (nothing written).
 */
export async function refreshOrganizationProperties(
  ctx: Pick<GenericActionCtx<GenericDataModel>, "runMutation">,
  component: ComponentApi,
  api: ManagementApi,
  orgCode: string,
  selection: PropertySelection,
  log: Logger,
  hook: { onEvent?: string; runId?: string },
  fetchedAt = Date.now(),
): Promise<"applied" | "stale" | "missing" | "gone"> {
  const properties = await readOrganizationProperties(api, orgCode, selection, log);
  if (properties === null) {
    log.info(
      `enrichment: Kinde has no organization ${orgCode}; nothing written (its organization.deleted removes it)`,
    );
    return "gone";
  }
  const { outcome } = await ctx.runMutation(component.enrichment.applyOrganization, {
    orgCode,
    fetchedAt,
    properties,
    ...hook,
  });
  return outcome;
}
