/**
 * Organizations: `organization.*` events, and the reads the host app makes of
 * organizations and their members.
 */
import { v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { paginator } from "convex-helpers/server/pagination";
import { internal } from "./_generated/api.js";
import { query, type MutationCtx, type QueryCtx } from "./_generated/server.js";
import schema from "./schema.js";
import { addTombstone, isDeleted, isStale } from "./tombstones.js";
import { applied, STALE, toPublicShape, upsertChange, type ApplyResult } from "./changes.js";
import { findUser, profileOf, toKindeUser } from "./users.js";
import { adjustCount } from "./counters.js";
import {
  MAX_ORGANIZATIONS_PER_USER,
  vNamedMembership,
  vOrganization,
  vOrganizationMember,
  type NamedMembership,
  type OrganizationMember,
  type OrganizationSnapshot,
  type Version,
} from "../shared/mirror.js";

export async function findOrganization(ctx: QueryCtx, code: string) {
  return await ctx.db
    .query("kindeOrganizations")
    .withIndex("code", (q) => q.eq("code", code))
    .unique();
}

/** Applies `organization.created` / `organization.updated` if newer than the stored row. */
export async function applyOrganizationSnapshot(
  ctx: MutationCtx,
  version: Version,
  snapshot: OrganizationSnapshot,
): Promise<ApplyResult> {
  const existing = await findOrganization(ctx, snapshot.code);
  if (await isStale(ctx, "organization", snapshot.code, existing, version)) return STALE;
  const row = { ...snapshot, version };
  if (existing) await ctx.db.replace("kindeOrganizations", existing._id, row);
  else {
    await ctx.db.insert("kindeOrganizations", row);
    await adjustCount(ctx, "organizations", snapshot.code, 1);
  }
  const organization = toPublicShape(row);
  return applied(
    upsertChange(
      existing && toPublicShape(existing),
      organization,
      { type: "organization.created", organization },
      { type: "organization.updated", organization },
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
  const existing = await findOrganization(ctx, code);
  if (existing) {
    await ctx.db.delete("kindeOrganizations", existing._id);
    await adjustCount(ctx, "organizations", code, -1);
  }
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
    return doc && toPublicShape(doc);
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
      page: result.page.map(toPublicShape),
    };
  },
});

/**
 * Members of an organization, by Kinde user id, a page at a time through the
 * memberships index. Empty once the organization is deleted.
 */
export const listMembers = query({
  args: { orgCode: v.string(), paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(vOrganizationMember),
  handler: async (ctx, { orgCode, paginationOpts }) => {
    if (await isDeleted(ctx, "organization", orgCode)) {
      return { page: [], isDone: true, continueCursor: "" };
    }
    const result = await paginator(ctx.db, schema)
      .query("kindeMemberships")
      .withIndex("orgCode", (q) => q.eq("orgCode", orgCode))
      .paginate(paginationOpts);
    const page: OrganizationMember[] = [];
    for (const membership of result.page) {
      const user = await findUser(ctx, membership.kindeId);
      if (!user) continue;
      page.push({
        ...profileOf(user),
        roles: membership.roles.map((r) => r.key),
        permissions: membership.permissions.map((p) => p.key),
      });
    }
    return { ...result, page };
  },
});
