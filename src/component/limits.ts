/**
 * The limit a deployment puts on one document, checked before writing. A
 * deployment refuses a document over 1 MiB with "Value is too large", but
 * convex-test does not, so without this check the tests would accept writes
 * production refuses. Throwing the deployment's own words makes both behave
 * alike: the webhook records the event as `failed` (a retry cannot shrink it)
 * instead of answering 500 for 36 hours of Kinde retries.
 */
import { getDocumentSize, type Value } from "convex/values";

/** Convex's limit on one document, system fields included. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

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
