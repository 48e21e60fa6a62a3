/**
 * What a role rename costs in the background: the cascade that rewrites the
 * role's key in every membership holding it (`refreshMembershipRefs`), run on
 * the component alone, batch by batch, each measured with
 * `ctx.meta.getTransactionMetrics()` inside its own transaction.
 */
import { getDocumentSize } from "convex/values";
import type { MutationCtx } from "../../src/component/_generated/server.js";
import { applyCatalogSnapshot } from "../../src/component/catalog.js";
import { refreshBatch, type RefreshArgs } from "../../src/component/cascade.js";
import { applyUserSnapshot } from "../../src/component/users.js";
import {
  initComponentTest,
  membership,
  ref,
  userSnapshot,
  version,
} from "../../src/component/setup.test.js";

export interface CascadeCost {
  users: number;
  organizationsEach: number;
  /** One user document before the rename, system fields included. */
  userBytes: number;
  batches: number;
  documentsWritten: number;
  bytesWritten: number;
  bytesRead: number;
  /** The largest share of Convex's per-transaction byte limits any one batch used. */
  largestBytesWrittenShare: number;
  largestBytesReadShare: number;
}

/**
 * Renames a role held by `users` users in `organizationsEach` organizations
 * each (beside a second role whose key is `padKey` characters, to grow the
 * documents), and runs the cascade to its end, one batch per transaction.
 */
export async function measureRename(
  users: number,
  organizationsEach: number,
  padKey = 0,
): Promise<CascadeCost> {
  const t = initComponentTest();
  const renamed = ref("role_renamed", "editor");
  const other = ref("role_other", `viewer${"-".repeat(padKey)}`);
  const organizations = Array.from({ length: organizationsEach }, (_, o) =>
    membership(`org_${o}`, [renamed, other]),
  );
  await t.run(async (ctx) => {
    await applyCatalogSnapshot(ctx, "role", version(500), renamed);
    await applyCatalogSnapshot(ctx, "role", version(500), other);
  });
  for (let u = 0; u < users; u++) {
    await t.run(async (ctx) => {
      await applyUserSnapshot(ctx, version(1_000), userSnapshot(`kp_${u}`, { organizations }));
    });
  }
  const userBytes = await t.run(async (ctx) =>
    getDocumentSize((await ctx.db.query("kindeUsers").first())!),
  );
  // The rename as the webhook applies it, minus the scheduling: each batch is run here instead.
  await t.run(async (ctx) => {
    await applyCatalogSnapshot(ctx, "role", version(2_000), { ...renamed, key: "author" });
    await cancelPending(ctx);
  });

  const cost: CascadeCost = {
    users,
    organizationsEach,
    userBytes,
    batches: 0,
    documentsWritten: 0,
    bytesWritten: 0,
    bytesRead: 0,
    largestBytesWrittenShare: 0,
    largestBytesReadShare: 0,
  };
  let next: RefreshArgs | null = {
    kind: "role",
    kindeId: renamed.kindeId,
    key: "author",
    version: version(2_000),
    cursor: null,
  };
  while (next) {
    const args: RefreshArgs = next;
    next = await t.run(async (ctx) => {
      await refreshBatch(ctx, args);
      const m = await ctx.meta.getTransactionMetrics();
      cost.batches++;
      cost.documentsWritten += m.documentsWritten.used;
      cost.bytesWritten += m.bytesWritten.used;
      cost.bytesRead += m.bytesRead.used;
      const share = (x: { used: number; remaining: number }) => x.used / (x.used + x.remaining);
      cost.largestBytesWrittenShare = Math.max(
        cost.largestBytesWrittenShare,
        share(m.bytesWritten),
      );
      cost.largestBytesReadShare = Math.max(cost.largestBytesReadShare, share(m.bytesRead));
      const scheduled = await cancelPending(ctx);
      return (scheduled[0] as RefreshArgs | undefined) ?? null;
    });
  }
  return cost;
}

/** Cancels what the transaction scheduled and returns its arguments: the bench runs it itself. */
async function cancelPending(ctx: MutationCtx) {
  const pending = (await ctx.db.system.query("_scheduled_functions").collect()).filter(
    (job) => job.state.kind === "pending",
  );
  for (const job of pending) await ctx.scheduler.cancel(job._id);
  return pending.map((job) => job.args[0] as unknown);
}
