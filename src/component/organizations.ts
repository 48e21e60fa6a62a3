/**
 * Organizations: `organization.*` events, and the reads the host app makes of
 * organizations and their members.
 */
import { getDocumentSize, v } from "convex/values";
import {
  paginationOptsValidator,
  paginationResultValidator,
  type PaginationOptions,
  type PaginationResult,
} from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import { internal } from "./_generated/api.js";
import { query, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import { TRANSACTION_LIMITS } from "./budget.js";
import { MAX_DOCUMENT_BYTES } from "./limits.js";
import schema from "./schema.js";
import { addTombstone, isDeleted, isStale } from "./tombstones.js";
import { applied, STALE, toPublicShape, upsertChange, type ApplyResult } from "./changes.js";
import { findUser, profileOf, toKindeUser, userEnrichmentOf } from "./users.js";
import { droppedToFit, withinDocumentLimit } from "./enrichmentMerge.js";
import { cancelRefresh } from "./refreshes.js";
import { adjustCount } from "./counters.js";
import {
  vNamedMembership,
  vOrganization,
  vOrganizationMember,
  type KindeOrganization,
  type NamedMembership,
  type OrganizationMember,
  type OrganizationSnapshot,
  type Version,
} from "../shared/mirror.js";
import { MAX_ORGANIZATIONS_PER_USER } from "../shared/userLimits.js";
import { deleteBillingOf } from "./billing.js";

export async function findOrganization(ctx: QueryCtx, code: string) {
  return await ctx.db
    .query("kindeOrganizations")
    .withIndex("code", (q) => q.eq("code", code))
    .unique();
}

/** The public shape of a mirrored organization: no version, no fetch times. */
export function toKindeOrganization(
  doc: Omit<Doc<"kindeOrganizations">, "_id" | "_creationTime">,
): KindeOrganization {
  const { propertiesFetchedAt: _, ...organization } = toPublicShape(doc);
  return organization;
}

/**
 * Applies `organization.created` / `organization.updated` if newer than the
 * stored row, keeping the properties enrichment fetched.
 */
export async function applyOrganizationSnapshot(
  ctx: MutationCtx,
  version: Version,
  snapshot: OrganizationSnapshot,
): Promise<ApplyResult> {
  const existing = await findOrganization(ctx, snapshot.code);
  if (await isStale(ctx, "organization", snapshot.code, existing, version)) return STALE;
  const { row, dropped } = withinDocumentLimit({
    ...snapshot,
    version,
    properties: existing?.properties,
    propertiesFetchedAt: existing?.propertiesFetchedAt,
  });
  if (dropped.length > 0) {
    console.warn("[convex-kinde]", droppedToFit(`organization ${snapshot.code}`, dropped));
  }
  if (existing) await ctx.db.replace("kindeOrganizations", existing._id, row);
  else {
    await ctx.db.insert("kindeOrganizations", row);
    await adjustCount(ctx, "organizations", snapshot.code, 1);
  }
  const organization = toKindeOrganization(row);
  return applied(
    upsertChange(
      existing && toKindeOrganization(existing),
      organization,
      { type: "organization.created", organization },
      (previous) => ({ type: "organization.updated", organization, previous }),
    ),
  );
}

/**
 * Applies `organization.deleted`: removes the organization, leaves a tombstone
 * and removes its memberships in the background (permission checks refuse the
 * organization at once).
 */
export async function deleteOrganization(
  ctx: MutationCtx,
  version: Version,
  code: string,
  keepUntil: number,
): Promise<ApplyResult> {
  if (!(await addTombstone(ctx, "organization", code, version, keepUntil))) return STALE;
  await cancelRefresh(ctx, { kind: "organization", entityId: code });
  const existing = await findOrganization(ctx, code);
  if (existing) {
    await ctx.db.delete("kindeOrganizations", existing._id);
    await adjustCount(ctx, "organizations", code, -1);
  }
  await deleteBillingOf(ctx, { kind: "organization", orgCode: code });
  await ctx.scheduler.runAfter(0, internal.cascade.removeOrganizationMemberships, {
    orgCode: code,
  });
  return applied(existing ? { type: "organization.deleted", orgCode: code } : null);
}

export const getOrganization = query({
  args: { code: v.string() },
  returns: v.union(vOrganization, v.null()),
  handler: async (ctx, { code }) => {
    const doc = await findOrganization(ctx, code);
    return doc && toKindeOrganization(doc);
  },
});

/**
 * A user's memberships with each organization's name and handle, in one call:
 * one index range for the user and one per membership named. The webhook
 * keeps users within `MAX_ORGANIZATIONS_PER_USER`, but a backfill adds what
 * Kinde lists, so names are looked up for that many memberships at most:
 * `1 + MAX_ORGANIZATIONS_PER_USER` index ranges, within a query's limits for
 * any user; past them an entry has its code, roles and permissions.
 */
export const listUserOrganizations = query({
  args: { kindeId: v.string() },
  returns: v.array(vNamedMembership),
  handler: async (ctx, { kindeId }): Promise<NamedMembership[]> => {
    const user = await findUser(ctx, kindeId);
    if (!user) return [];
    return await Promise.all(
      toKindeUser(user).organizations.map(async (membership, index) => {
        const organization =
          index < MAX_ORGANIZATIONS_PER_USER
            ? await findOrganization(ctx, membership.orgCode)
            : null;
        return {
          ...membership,
          ...(organization?.name !== undefined && { name: organization.name }),
          ...(organization?.handle !== undefined && { handle: organization.handle }),
        };
      }),
    );
  },
});

export const listOrganizations = query({
  args: { paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(vOrganization),
  handler: async (ctx, { paginationOpts }) => {
    const result = await paginator(ctx.db, schema)
      .query("kindeOrganizations")
      .withIndex("code")
      .paginate(paginationOpts);
    return {
      ...result,
      page: result.page.map(toKindeOrganization),
    };
  },
});

/**
 * The most members one page of `listMembers` holds, whatever `numItems` asks
 * for: the page size convex-helpers' `getPage` defaults to. With bytes kept
 * within {@link MEMBER_PAGE_BYTES} a page reads at most 2 documents and 2
 * index ranges per member, far within a query's limits.
 */
export const MAX_MEMBERS_PER_PAGE = 100;

/**
 * The bytes a page of members may read. Each member costs its membership row
 * and its user's row, each up to a document's 1 MiB (a user at
 * `MAX_ORGANIZATIONS_PER_USER` holds every membership inline), so a page is
 * read in chunks that fit what is left of this even if every document were
 * that large: a query's 16 MiB, less 1 MiB for the tombstone and the index.
 */
const MEMBER_PAGE_BYTES = TRANSACTION_LIMITS.bytesRead - MAX_DOCUMENT_BYTES;
const MEMBER_BYTES_AT_MOST = 2 * MAX_DOCUMENT_BYTES;

/**
 * Members of an organization, by Kinde user id, a page at a time through the
 * memberships index: at most {@link MAX_MEMBERS_PER_PAGE}, fewer when their
 * documents are large (`isDone` says whether more follow). Empty once the
 * organization is deleted.
 */
export const listMembers = query({
  args: { orgCode: v.string(), paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(vOrganizationMember),
  handler: async (ctx, { orgCode, paginationOpts }) => {
    if (await isDeleted(ctx, "organization", orgCode)) {
      return { page: [], isDone: true, continueCursor: "" };
    }
    const memberships = (opts: PaginationOptions) =>
      paginator(ctx.db, schema)
        .query("kindeMemberships")
        .withIndex("orgCode", (q) => q.eq("orgCode", orgCode))
        .paginate(opts);
    const page: OrganizationMember[] = [];
    let bytes = 0;
    const add = async (membership: Doc<"kindeMemberships">) => {
      const user = await findUser(ctx, membership.kindeId);
      bytes += getDocumentSize(membership) + (user ? getDocumentSize(user) : 0);
      if (!user) return;
      page.push({
        ...profileOf(user),
        roles: membership.roles.map((r) => r.key),
        permissions: membership.permissions.map((p) => p.key),
        ...userEnrichmentOf(user),
      });
    };
    if (paginationOpts.endCursor) {
      // A page the client already holds, refreshed up to where it ended: it was
      // cut to this function's bounds when first read.
      const result = await memberships(paginationOpts);
      for (const membership of result.page) await add(membership);
      return { ...result, page };
    }
    const wanted = Math.max(1, Math.min(Math.floor(paginationOpts.numItems), MAX_MEMBERS_PER_PAGE));
    let read = 0;
    let result: PaginationResult<Doc<"kindeMemberships">> | undefined;
    let cursor = paginationOpts.cursor;
    while (read < wanted) {
      const chunk = Math.min(
        wanted - read,
        Math.floor((MEMBER_PAGE_BYTES - bytes) / MEMBER_BYTES_AT_MOST),
      );
      if (chunk < 1) break;
      result = await memberships({ cursor, numItems: chunk });
      for (const membership of result.page) await add(membership);
      read += result.page.length;
      cursor = result.continueCursor;
      if (result.isDone) break;
    }
    return { page, isDone: result!.isDone, continueCursor: result!.continueCursor };
  },
});
