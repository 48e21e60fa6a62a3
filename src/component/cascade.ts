/**
 * Background clean-up after a deletion or rename that touches many
 * memberships: an organization's members, or every holder of a role or
 * permission. Each batch is one bounded mutation that schedules the next, so
 * no transaction grows with the tenant. Until a cascade finishes, permission
 * checks stay exact by consulting tombstones and the catalog directly.
 */
import { v, type ObjectType, type Value } from "convex/values";
import { internal } from "./_generated/api.js";
import { internalMutation, type MutationCtx } from "./_generated/server.js";
import type { Doc } from "./_generated/dataModel.js";
import { findUser } from "./users.js";
import { clearedParts, droppedToFit, withinDocumentLimit } from "./enrichmentMerge.js";
import { findById, noteUnsettled, type CatalogKind } from "./catalog.js";
import { vVersion, type KeyRef, type MembershipSnapshot } from "../shared/mirror.js";
import { isNewer } from "./ordering.js";
import { NO_COST } from "./budget.js";
import { applyWithinBudget, MAX_DOCUMENT_BYTES, storedDocumentBytes } from "./limits.js";

/**
 * Memberships one cascade mutation pages through: each costs a read and a
 * write, and each of their users one read and one write more.
 */
export const CASCADE_BATCH_SIZE = 200;

const refreshArgs = {
  kind: v.union(v.literal("role"), v.literal("permission")),
  kindeId: v.string(),
  key: v.union(v.string(), v.null()),
  /** The catalog event's version: a user snapshot newer than it knows the key better. */
  version: vVersion,
  cursor: v.union(v.string(), v.null()),
  /** The last membership handled of the page at `cursor`, when the page took more than one batch. */
  resumeAfter: v.optional(v.id("kindeMemberships")),
};
export type RefreshArgs = ObjectType<typeof refreshArgs>;

/**
 * Rewrites one role's (or permission's) key in every membership holding it,
 * or removes it (`key: null`, after a delete). Pages through all memberships,
 * since Convex cannot index the elements of an array.
 */
export const refreshMembershipRefs = internalMutation({
  args: refreshArgs,
  returns: v.null(),
  handler: async (ctx, args) => await refreshBatch(ctx, args),
});

/**
 * One batch of {@link refreshMembershipRefs}, which schedules the next; apart
 * so the bench can measure each batch's transaction (`npm run bench`, section 8).
 */
export async function refreshBatch(ctx: MutationCtx, args: RefreshArgs): Promise<null> {
  // Users are compared with the catalog's current word for this id.
  let version = args.version;
  if (args.key !== null) {
    const entry = await findById(ctx, args.kind, args.kindeId);
    // A delete, an eviction of its key, or a newer rename since scheduled
    // its own cascade: this one is outdated.
    if (!entry || entry.key !== args.key) return null;
    // A newer event that kept the key scheduled nothing (it had nothing new
    // to rewrite): this cascade still owes the rewrite, now with its version.
    if (isNewer(entry.version, version)) version = entry.version;
  }
  const field = args.kind === "role" ? "roles" : "permissions";
  const refresh = (refs: KeyRef[]) =>
    args.key === null
      ? refs.filter((r) => r.kindeId !== args.kindeId)
      : refs.map((r) => (r.kindeId === args.kindeId ? { kindeId: r.kindeId, key: args.key! } : r));

  const batch = await ctx.db
    .query("kindeMemberships")
    .paginate({ cursor: args.cursor, numItems: CASCADE_BATCH_SIZE });
  // A batch that stopped early runs again from the same cursor, after the
  // last membership it handled (the whole page if that one is gone since:
  // what was refreshed is skipped below, the rest is safe to do again).
  const anchor = batch.page.findIndex((m) => m._id === args.resumeAfter);
  const pending = batch.page
    .slice(anchor + 1)
    .filter((membership) =>
      membership[field].some(
        (r) => r.kindeId === args.kindeId && (args.key === null || r.key !== args.key),
      ),
    );
  // A user in many organizations has many memberships on a page: each user
  // is read and its inline copy written once per batch, not once per
  // membership. Users of any size: the batch stops at half of the
  // transaction's limits and goes on after.
  const holders = new Map<string, Doc<"kindeMemberships">[]>();
  for (const membership of pending) {
    const held = holders.get(membership.kindeId);
    if (held) held.push(membership);
    else holders.set(membership.kindeId, [membership]);
  }
  const done = await applyWithinBudget(
    ctx,
    [...holders.values()],
    () => NO_COST,
    async (memberships) => {
      const kindeId = memberships[0]!.kindeId;
      const user = await findUser(ctx, kindeId);
      // A rename older than the user's snapshot is already reflected (or
      // superseded) in it; a deletion is final whatever the order. If the
      // snapshot's key differs, a later catalog event must look again.
      if (args.key !== null && user && isNewer(user.version, version)) {
        await noteUnsettled(ctx, args.kind, args.kindeId);
        return;
      }
      const rows = memberships.map((m) => ({ ...m, [field]: refresh(m[field]) }));
      const onPage = new Set(memberships.map((m) => m.orgCode));
      const everywhere = (user?.organizations ?? []).map((m) => ({
        ...m,
        [field]: refresh(m[field]),
      }));
      const organizations = (user?.organizations ?? []).map((m, i) =>
        onPage.has(m.orgCode) ? everywhere[i]! : m,
      );
      // A longer key can take a user near 1 MiB over it, a write Convex
      // refuses, and a throw here would end the cascade for every later
      // holder. The user is measured as the whole cascade leaves it (its
      // memberships may span pages), so every batch decides alike. The
      // mirror's data comes first: enrichment makes room if it can; else
      // both copies keep the old key (checks honour the rename from the
      // catalog meanwhile), and the catalog's next event for this id tries again.
      const fitted = user && withinDocumentLimit({ ...user, organizations: everywhere });
      const oversized = [
        ...(fitted ? [{ table: "kindeUsers", doc: fitted.row }] : []),
        ...rows.map((doc) => ({ table: "kindeMemberships", doc })),
      ].find(({ doc }) => storedDocumentBytes(doc) > MAX_DOCUMENT_BYTES);
      if (oversized) {
        await noteUnsettled(ctx, args.kind, args.kindeId);
        console.error("[convex-kinde]", keptOldKey(args.kind, args.kindeId, kindeId, oversized));
        return;
      }
      for (const row of rows) {
        await ctx.db.patch("kindeMemberships", row._id, { [field]: row[field] });
      }
      if (user) {
        const dropped = fitted?.dropped ?? [];
        if (dropped.length > 0)
          console.warn("[convex-kinde]", droppedToFit(`user ${kindeId}`, dropped));
        await ctx.db.patch("kindeUsers", user._id, { organizations, ...clearedParts(dropped) });
      }
    },
  );
  const { resumeAfter: _, ...rest } = args;
  if (done < holders.size) {
    // Users are taken in the order of their first membership on the page,
    // so the page is handled up to the first membership of the first user
    // left: the next batch starts there. Memberships after it that were
    // handled are refreshed (and filtered out) or skipped again.
    const left = new Set([...holders.keys()].slice(done));
    const next = pending.findIndex((m) => left.has(m.kindeId));
    await ctx.scheduler.runAfter(0, internal.cascade.refreshMembershipRefs, {
      ...rest,
      resumeAfter: pending[next - 1]!._id,
    });
  } else if (!batch.isDone) {
    await ctx.scheduler.runAfter(0, internal.cascade.refreshMembershipRefs, {
      ...rest,
      cursor: batch.continueCursor,
    });
  }
  return null;
}

/** Removes a deleted organization's memberships, a batch at a time. */
export const removeOrganizationMemberships = internalMutation({
  args: { orgCode: v.string() },
  returns: v.null(),
  handler: async (ctx, { orgCode }) => {
    const batch = await ctx.db
      .query("kindeMemberships")
      .withIndex("orgCode", (q) => q.eq("orgCode", orgCode))
      .take(CASCADE_BATCH_SIZE);
    // Each membership rewrites its user's inline copy (a user has one
    // membership per organization, so grouping by user, as a rename does,
    // saves nothing here): stop at half of the transaction's limits, and let
    // the next batch take the rest.
    const done = await applyWithinBudget(
      ctx,
      batch,
      () => NO_COST,
      async (membership) => {
        await ctx.db.delete("kindeMemberships", membership._id);
        const user = await findUser(ctx, membership.kindeId);
        await patchUserMembership(ctx, user, membership.orgCode, () => null);
      },
    );
    if (done < batch.length || batch.length === CASCADE_BATCH_SIZE) {
      await ctx.scheduler.runAfter(0, internal.cascade.removeOrganizationMemberships, {
        orgCode,
      });
    }
    return null;
  },
});

/** What an operator reads when a rename would take one of a user's documents over 1 MiB. */
function keptOldKey(
  kind: CatalogKind,
  kindeId: string,
  userId: string,
  oversized: { table: string; doc: Record<string, Value | undefined> },
) {
  return (
    `user ${userId} keeps ${kind} ${kindeId}'s old key: the new one would make their ` +
    `${oversized.table} document ${storedDocumentBytes(oversized.doc)} bytes, over Convex's limit of ` +
    `${MAX_DOCUMENT_BYTES}. Permission checks already use the new key; getUser and member lists ` +
    `show the old one. Shorten the ${kind}'s key in Kinde, or remove the user from organizations ` +
    `they no longer need: Kinde's next event for either brings the mirror up to date.`
  );
}

/** Applies `change` to the user's inline copy of the membership in `orgCode` (null removes it). */
async function patchUserMembership(
  ctx: MutationCtx,
  user: Doc<"kindeUsers"> | null,
  orgCode: string,
  change: (m: MembershipSnapshot) => MembershipSnapshot | null,
) {
  if (!user) return;
  const organizations = user.organizations.flatMap((m) =>
    m.orgCode === orgCode ? (change(m) ?? []) : [m],
  );
  await ctx.db.patch("kindeUsers", user._id, { organizations });
}
