/**
 * Convex's limits, checked inside the transaction that could pass them.
 *
 * One document: a deployment refuses a document over 1 MiB with "Value is
 * too large", but convex-test does not, so without this check the tests would
 * accept writes production refuses. Throwing the deployment's own words makes
 * both behave alike: the webhook records the event as `failed` (a retry cannot
 * shrink it) instead of answering 500 for 36 hours of Kinde retries.
 *
 * One transaction: work whose rows vary in cost (backfill pages, cascades
 * over users of any size) is applied row by row while the transaction's own
 * metrics stay within half of every limit (`BUDGET_SHARE` in budget.ts).
 */
import { getDocumentSize, type Value } from "convex/values";
import type { MutationCtx } from "./_generated/server.js";
import {
  difference,
  fitsBudget,
  largerOf,
  limitsOf,
  NO_COST,
  usedOf,
  type MeasuredMetrics,
  type TransactionCost,
} from "./budget.js";

/** Convex's limit on one document, system fields included. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

/**
 * Bytes Convex's system fields (`_id`, `_creationTime`) add to a document
 * measured without them, rounded up: a margin for rows about to be written.
 */
const SYSTEM_FIELDS_BYTES = 100;

/** What `document` will weigh as stored, its system fields counted whether or not it has them yet. */
export function storedDocumentBytes(document: Record<string, Value | undefined>): number {
  const size = getDocumentSize(withoutUndefined(document));
  return "_id" in document ? size : size + SYSTEM_FIELDS_BYTES;
}

/** Throws, before any write, if `document` would be over Convex's 1 MiB document limit. */
export function assertFitsOneDocument(table: string, document: Record<string, Value | undefined>) {
  const size = getDocumentSize(withoutUndefined(document));
  if (size > MAX_DOCUMENT_BYTES) {
    throw new Error(
      `Value is too large: a ${table} document of ${size} bytes is over Convex's limit of ${MAX_DOCUMENT_BYTES} bytes`,
    );
  }
}

/** Convex drops `undefined` fields when it stores a document; the size does not count them. */
function withoutUndefined(document: Record<string, Value | undefined>): Record<string, Value> {
  return Object.fromEntries(
    Object.entries(document).filter((entry): entry is [string, Value] => entry[1] !== undefined),
  );
}

/**
 * Applies `rows` in order for as long as the transaction stays within
 * `BUDGET_SHARE` of every limit, and returns how many it applied. Before
 * each row it expects the larger of the row's own estimate and the costliest
 * row so far (which includes the host's hook), so a page of alike rows stops
 * one row short of the budget. The first row always runs: one too costly even
 * alone fails the mutation, and the action reports it.
 */
export async function applyWithinBudget<T>(
  ctx: MutationCtx,
  rows: T[],
  estimate: (row: T) => TransactionCost,
  apply: (row: T) => Promise<void>,
): Promise<number> {
  let before = (await ctx.meta.getTransactionMetrics()) as MeasuredMetrics;
  let costliest = NO_COST;
  let applied = 0;
  for (const row of rows) {
    const expected = largerOf(estimate(row), costliest);
    if (applied > 0 && !fitsBudget(usedOf(before), expected, limitsOf(before))) break;
    await apply(row);
    const after = (await ctx.meta.getTransactionMetrics()) as MeasuredMetrics;
    costliest = largerOf(costliest, difference(usedOf(after), usedOf(before)));
    before = after;
    applied++;
  }
  return applied;
}
