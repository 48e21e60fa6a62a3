/**
 * The limits a Convex deployment enforces on one document, which convex-test
 * (0.0.70, even with `transactionLimits: true`) does not: a test can write a
 * document that a deployment would refuse with `ValueTooLargeError`,
 * `TooNested`, `ArrayTooLong` or `TooManyFieldsError`. This module measures a
 * document against them, so a suite can check every document it wrote.
 *
 * The numbers are Convex's current ones: docs.convex.dev/production/state/limits
 * ("Documents") and docs.convex.dev/database/types, which agree with the
 * backend's own checks (convex-backend `crates/common/src/document.rs`:
 * `MAX_USER_SIZE = 1 << 20`, `MAX_DOCUMENT_NESTING = 16`;
 * `crates/value/src/array.rs`: `MAX_ARRAY_LEN = 8192`;
 * `crates/value/src/object.rs`: `MAX_OBJECT_FIELDS = 1024`;
 * `crates/convex/sync_types/src/identifier.rs`: field names).
 */
import { convexToJson, getDocumentSize, type Value } from "convex/values";

/** A document at most 1 MiB, as Convex measures it (see {@link convexDocumentSize}). */
export const MAX_DOCUMENT_BYTES = 1 << 20;
/** Objects and arrays nested at most 16 deep; the document itself is level 1. */
export const MAX_DOCUMENT_NESTING = 16;
/** At most 8,192 values in any array. */
export const MAX_ARRAY_LENGTH = 8192;
/** At most 1,024 fields in the document and in any nested object. */
export const MAX_OBJECT_FIELDS = 1024;
/** A top-level field name at most 64 characters (an identifier, as the schema declares it). */
export const MAX_TOP_LEVEL_FIELD_NAME_LENGTH = 64;
/** A nested object's key at most 1,024 characters. */
export const MAX_FIELD_NAME_LENGTH = 1024;

/** Top-level fields starting with `_` that Convex itself writes. */
const SYSTEM_FIELDS = new Set(["_id", "_creationTime"]);

/** Which limit a value breaks. */
export type ValueLimitRule =
  "documentSize" | "nesting" | "arrayLength" | "objectFields" | "fieldName" | "string" | "type";

/** One way a document breaks a limit a deployment enforces. */
export interface ValueLimitViolation {
  table: string;
  /** The document's `_id`, when it has one. */
  id?: string;
  rule: ValueLimitRule;
  /** Where in the document: `$` is the document, then `.field` and `[index]`. */
  path: string;
  /** The limit, in the unit of `actual` (for field names and strings, what is required). */
  limit: number | string;
  /** What was measured. */
  actual: number | string;
  /** One line naming the table, document, path, limit and measurement. */
  message: string;
}

/**
 * The size Convex charges a document against its 1 MiB limit: `getDocumentSize`
 * from `convex/values`, which the Convex client documents as "the same size
 * calculation used for bandwidth tracking and document size limits" and
 * which mirrors the backend's `Size` trait (a type byte per value, 8 bytes
 * per number, a terminator per string, array and object, and each field's
 * name plus a terminator), including the `_id` and `_creationTime` fields.
 *
 * Why not the byte length of `JSON.stringify(convexToJson(doc))`: JSON is not
 * a safe over-estimate of Convex's size. It spends 1–2 bytes on a small
 * number, 4 on `null` or `true`, where Convex spends 9, 1 and 1, so a
 * document of many small numbers is several times larger to Convex than its
 * JSON (`valueLimits.test.ts` shows one that passes as JSON and is refused
 * by a deployment). For the strings this component mostly stores, JSON's
 * quotes, commas and escapes make it a slight over-estimate instead. The
 * JSON size is still reported beside the exact one, as a familiar reference.
 */
export function convexDocumentSize(doc: Record<string, unknown>): number {
  return getDocumentSize(doc as Record<string, Value>);
}

/**
 * The byte length of the document's UTF-8 JSON encoding (`convexToJson`), for
 * reference only; `undefined` if `convexToJson` refuses the document (for
 * example a field name starting with `$`).
 */
export function jsonDocumentSize(doc: Record<string, unknown>): number | undefined {
  try {
    return new TextEncoder().encode(JSON.stringify(convexToJson(doc as Record<string, Value>)))
      .length;
  } catch {
    return undefined;
  }
}

const MiB = (bytes: number) => `${(bytes / MAX_DOCUMENT_BYTES).toFixed(3)} MiB`;

/** A string with an unpaired UTF-16 surrogate, which is not valid Unicode. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Every way `doc`, a document of `table` as read back from the database
 * (system fields included), breaks a limit a Convex deployment enforces on
 * one document; empty if a deployment would store it.
 */
export function checkConvexValueLimits(
  table: string,
  doc: Record<string, unknown>,
): ValueLimitViolation[] {
  const id = typeof doc._id === "string" ? doc._id : undefined;
  const violations: ValueLimitViolation[] = [];
  const report = (
    rule: ValueLimitRule,
    path: string,
    limit: number | string,
    actual: number | string,
    what: string,
  ) => {
    const where = `${table}${id === undefined ? "" : ` ${id}`} at ${path}`;
    violations.push({ table, id, rule, path, limit, actual, message: `${where}: ${what}` });
  };
  const atMost = (
    rule: ValueLimitRule,
    path: string,
    limit: number,
    actual: number,
    what: string,
  ) => {
    if (actual > limit) report(rule, path, limit, actual, `${what} > limit ${limit}`);
  };

  /** Checks `value` at `path`; returns its nesting (0 for a scalar, 1 + the deepest child otherwise). */
  const walk = (value: unknown, path: string, topLevel: boolean): number => {
    if (value === null || typeof value === "boolean" || typeof value === "number") return 0;
    if (typeof value === "bigint" || value instanceof ArrayBuffer) return 0;
    if (typeof value === "string") {
      if (LONE_SURROGATE.test(value)) {
        report(
          "string",
          path,
          "valid Unicode",
          "unpaired surrogate",
          "string has an unpaired surrogate",
        );
      }
      return 0;
    }
    if (Array.isArray(value)) {
      atMost(
        "arrayLength",
        path,
        MAX_ARRAY_LENGTH,
        value.length,
        `array of ${value.length} values`,
      );
      let deepest = 0;
      value.forEach((element, i) => {
        deepest = Math.max(deepest, walk(element, `${path}[${i}]`, false));
      });
      return 1 + deepest;
    }
    if (isPlainObject(value)) {
      // `undefined` fields are not stored: Convex drops them.
      const fields = Object.entries(value).filter(([, v]) => v !== undefined);
      const count = fields.length;
      atMost("objectFields", path, MAX_OBJECT_FIELDS, count, `object with ${count} fields`);
      let deepest = 0;
      for (const [name, field] of fields) {
        const fieldPath = `${path}${/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`}`;
        const problem = fieldNameProblem(name, topLevel);
        if (problem !== undefined) {
          report(
            "fieldName",
            fieldPath,
            problem.required,
            problem.actual,
            `field name ${problem.actual}`,
          );
        }
        deepest = Math.max(deepest, walk(field, fieldPath, false));
      }
      return 1 + deepest;
    }
    report(
      "type",
      path,
      "a Convex value",
      describeType(value),
      `${describeType(value)} is not a Convex value`,
    );
    return 0;
  };

  const nesting = walk(doc, "$", true);
  atMost("nesting", "$", MAX_DOCUMENT_NESTING, nesting, `nested ${nesting} levels deep`);
  if (violations.every((v) => v.rule !== "type")) {
    const size = convexDocumentSize(doc);
    if (size > MAX_DOCUMENT_BYTES) {
      report(
        "documentSize",
        "$",
        MAX_DOCUMENT_BYTES,
        size,
        `document of ${size} bytes (${MiB(size)}; its JSON ${jsonDocumentSize(doc) ?? "?"} bytes) > limit ${MAX_DOCUMENT_BYTES} bytes (1 MiB)`,
      );
    }
  }
  return violations;
}

/**
 * Why `name` may not name a field, if it may not: empty, starting with `$`,
 * other than non-control ASCII, too long, or (at the top level) starting
 * with `_` other than the system fields.
 */
function fieldNameProblem(
  name: string,
  topLevel: boolean,
): { required: string; actual: string } | undefined {
  const quoted = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  // The docs require a non-empty name; the backend's own check lets "" through. The stricter wins.
  if (name.length === 0) return { required: "non-empty", actual: `"" is empty` };
  if (name.startsWith("$"))
    return { required: "not starting with $", actual: `${quoted} starts with $` };
  if (topLevel && name.startsWith("_") && !SYSTEM_FIELDS.has(name)) {
    return {
      required: "not starting with _ (other than _id, _creationTime)",
      actual: `${quoted} starts with _`,
    };
  }
  if (!/^[\x20-\x7e]*$/.test(name)) {
    return {
      required: "non-control ASCII",
      actual: `${quoted} has a character other than non-control ASCII`,
    };
  }
  const max = topLevel ? MAX_TOP_LEVEL_FIELD_NAME_LENGTH : MAX_FIELD_NAME_LENGTH;
  if (name.length > max) {
    return {
      required: `at most ${max} characters`,
      actual: `${quoted} has ${name.length} characters > limit ${max}`,
    };
  }
  return undefined;
}

/** A "plain old JavaScript object", the only objects Convex stores (its client's `isSimpleObject`). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return (
    prototype === null ||
    prototype === Object.prototype ||
    (prototype as { constructor?: { name?: string } }).constructor?.name === "Object"
  );
}

function describeType(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value !== "object") return typeof value;
  return `object of class ${Object.getPrototypeOf(value)?.constructor?.name ?? "null-prototype"}`;
}

/**
 * Throws if `doc` breaks any limit a Convex deployment enforces on one
 * document, listing every violation.
 */
export function assertWithinConvexLimits(table: string, doc: Record<string, unknown>): void {
  const violations = checkConvexValueLimits(table, doc);
  if (violations.length > 0) {
    throw new Error(
      `A Convex deployment would refuse this document:\n${violations.map((v) => `  ${v.message}`).join("\n")}`,
    );
  }
}
