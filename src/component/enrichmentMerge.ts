/**
 * How a fetch's enrichment meets what a row keeps, pure: per part, only a
 * fetch that began later replaces it; `lastSignedInAt` only moves forward;
 * and a row that would not fit one document with its enrichment keeps the
 * mirror's own data and drops the enrichment.
 */
import type { Value } from "convex/values";
import type { KindeProperties, StoredDetails, UserDetails } from "../shared/enrichment.js";
import { MAX_DOCUMENT_BYTES, storedDocumentBytes } from "./limits.js";

/** The enrichment a user's row keeps (with the sign-in time a fetch may move forward). */
export interface UserEnrichment {
  details?: StoredDetails;
  detailsFetchedAt?: number;
  properties?: KindeProperties;
  propertiesFetchedAt?: number;
  lastSignedInAt?: number;
}

/** The enrichment an organization's row keeps. */
export type OrganizationEnrichment = Pick<UserEnrichment, "properties" | "propertiesFetchedAt">;

/** One fetch of a user: the time it began, and the parts it read (an absent part was not read). */
export interface UserFetch {
  fetchedAt: number;
  details?: UserDetails;
  properties?: KindeProperties;
}

/** What a fetch does to a row: the fields to write (none if it is stale in every part it read). */
export interface Merge<T> {
  outcome: "applied" | "stale";
  patch: Partial<T>;
}

/** Whether a fetch that began at `fetchedAt` replaces a part fetched at `storedAt`. */
export function isLaterFetch(fetchedAt: number, storedAt: number | undefined): boolean {
  return storedAt === undefined || fetchedAt > storedAt;
}

/**
 * What `fetch` writes to a user's row holding `stored`. `stale` when it read
 * at least one part and replaced none (nor moved the sign-in time).
 */
export function mergeUserFetch(stored: UserEnrichment, fetch: UserFetch): Merge<UserEnrichment> {
  const patch: Partial<UserEnrichment> = {};
  if (fetch.details && isLaterFetch(fetch.fetchedAt, stored.detailsFetchedAt)) {
    const { lastSignedInAt: _, ...details } = fetch.details;
    patch.details = withoutUndefined(details);
    patch.detailsFetchedAt = fetch.fetchedAt;
  }
  // Sign-in times only grow, whichever fetch or event reported them.
  const signedInAt = fetch.details?.lastSignedInAt;
  if (signedInAt !== undefined && (stored.lastSignedInAt ?? -Infinity) < signedInAt) {
    patch.lastSignedInAt = signedInAt;
  }
  Object.assign(patch, mergePropertiesFetch(stored, fetch.fetchedAt, fetch.properties).patch);
  const read = fetch.details !== undefined || fetch.properties !== undefined;
  return { outcome: read && Object.keys(patch).length === 0 ? "stale" : "applied", patch };
}

/** What a fetch of `properties` (absent: not read) that began at `fetchedAt` writes to a row. */
export function mergePropertiesFetch(
  stored: OrganizationEnrichment,
  fetchedAt: number,
  properties: KindeProperties | undefined,
): Merge<OrganizationEnrichment> {
  if (properties === undefined) return { outcome: "applied", patch: {} };
  if (!isLaterFetch(fetchedAt, stored.propertiesFetchedAt)) return { outcome: "stale", patch: {} };
  return { outcome: "applied", patch: { properties, propertiesFetchedAt: fetchedAt } };
}

/** The parts of enrichment a row may have to give up, the largest first. */
const PARTS = ["properties", "details"] as const;
export type EnrichmentPart = (typeof PARTS)[number];

/**
 * `row` within Convex's 1 MiB per document: as it is if it fits, else
 * without its enrichment, a part at a time (properties first). The mirror's
 * own data always stays; what was dropped is listed, for the caller to say so.
 * A dropped part's fetch time stays: an older fetch still may not write it,
 * and a sign-in still waits `refreshAfterSignInMs` before asking again for
 * what would not fit anyway.
 */
export function withinDocumentLimit<T extends Record<string, Value | undefined>>(
  row: T,
): { row: T; dropped: EnrichmentPart[] } {
  let current = row;
  const dropped: EnrichmentPart[] = [];
  for (const part of PARTS) {
    if (storedDocumentBytes(current) <= MAX_DOCUMENT_BYTES) break;
    if (current[part] === undefined) continue;
    current = { ...current, [part]: undefined };
    dropped.push(part);
  }
  return { row: current, dropped };
}

/** The fields that clear `dropped` parts, for a `patch`. */
export function clearedParts(
  dropped: EnrichmentPart[],
): Partial<Record<EnrichmentPart, undefined>> {
  return Object.fromEntries(dropped.map((part) => [part, undefined]));
}

/** The log line when a row gave up enrichment to fit. */
export function droppedToFit(what: string, dropped: EnrichmentPart[]): string {
  return (
    `${what} keeps no ${dropped.join(" or ")}: with them its document would be over Convex's ` +
    `limit of ${MAX_DOCUMENT_BYTES} bytes. The mirror's own data is kept; fewer organizations ` +
    `or properties make room.`
  );
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
