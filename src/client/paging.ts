/**
 * Following Kinde's paging tokens through a listing, safely: it ends on the
 * last page, an empty page, or a token seen before (a loop), with a bounded
 * state that can be stored between actions. The backfill's listings and
 * enrichment's share it.
 */
import type { PagingState } from "../shared/backfill.js";

/** Where paging goes after one page: on to `next`, or the listing is over (and why). */
export type PagingStep =
  { next: string; paging: PagingState } | { end: "last page" | "empty page" | "repeated token" };

/** How many of a listing's latest tokens the run remembers exactly. */
export const RECENT_TOKENS = 8;

/**
 * Follows Kinde's `next_token` through one listing. It ends on a missing or
 * empty token, on an empty page (org-user paging returns a token with one),
 * and on any token seen before in the listing, not just the one just sent.
 *
 * Remembering every token would grow the run's document with the listing and
 * rewrite it with every page, so `paging` keeps two bounded things:
 * - the last {@link RECENT_TOKENS} tokens: a loop that short (A→B→A) ends at
 *   its first repeated token, before any page is read twice;
 * - the token received at the last power-of-two page (1, 2, 4, …), Brent's
 *   cycle detection: if tokens repeat from page `μ` with period `λ`, the
 *   checkpoint taken at the first power of two `≥ max(μ, λ)` comes round
 *   again within `λ` pages, before the next checkpoint. So any longer loop
 *   ends within about `2·max(μ, λ) + λ` pages. Re-reading a page of a loop
 *   changes nothing: its rows already carry the run's version.
 * The state travels in the run's stored position, so it survives the
 * mutations and actions a listing spans.
 */
export function followPaging(
  paging: PagingState | undefined,
  sent: string | undefined,
  received: unknown,
  itemCount: number,
): PagingStep {
  if (typeof received !== "string" || received === "") return { end: "last page" };
  if (itemCount === 0) return { end: "empty page" };
  if (received === sent || received === paging?.checkpoint || paging?.recent.includes(received)) {
    return { end: "repeated token" };
  }
  const pages = (paging?.pages ?? 0) + 1;
  const isPowerOfTwo = (pages & (pages - 1)) === 0;
  return {
    next: received,
    paging: {
      pages,
      checkpoint: paging && !isPowerOfTwo ? paging.checkpoint : received,
      recent: [...(paging?.recent ?? []), received].slice(-RECENT_TOKENS),
    },
  };
}
