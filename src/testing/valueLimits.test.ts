import { describe, expect, test } from "vitest";
import { getDocumentSize } from "convex/values";
import {
  assertWithinConvexLimits,
  checkConvexValueLimits,
  convexDocumentSize,
  jsonDocumentSize,
  MAX_ARRAY_LENGTH,
  MAX_DOCUMENT_BYTES,
  MAX_DOCUMENT_NESTING,
  MAX_OBJECT_FIELDS,
} from "./valueLimits.js";

/** A document as read back from the database: system fields included. */
const stored = <T extends Record<string, unknown>>(fields: T) => ({
  _id: "k57a8c2x5ab3dxq1n9b0v4d1gh7pjx2c",
  _creationTime: 1_750_000_000_000.5,
  ...fields,
});

/** A stored document of exactly `bytes` bytes as Convex measures it, its bulk one string. */
function documentOfSize(bytes: number) {
  const empty = stored({ blob: "" });
  return stored({ blob: "x".repeat(bytes - convexDocumentSize(empty)) });
}

const rules = (doc: Record<string, unknown>) =>
  checkConvexValueLimits("things", doc).map((v) => [v.rule, v.path]);
const ruleNames = (doc: Record<string, unknown>) =>
  checkConvexValueLimits("things", doc).map((v) => v.rule);

/** `depth` levels of objects: the document is level 1. */
function nestedDocument(depth: number) {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let level = depth - 1; level > 1; level--) value = { inner: value };
  return stored({ inner: value });
}

describe("checkConvexValueLimits", () => {
  test("a document of exactly 1 MiB passes; one byte more is refused, with its size", () => {
    expect(convexDocumentSize(documentOfSize(MAX_DOCUMENT_BYTES))).toBe(MAX_DOCUMENT_BYTES);
    expect(checkConvexValueLimits("things", documentOfSize(MAX_DOCUMENT_BYTES))).toEqual([]);

    const [violation, ...rest] = checkConvexValueLimits(
      "things",
      documentOfSize(MAX_DOCUMENT_BYTES + 1),
    );
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({
      table: "things",
      id: "k57a8c2x5ab3dxq1n9b0v4d1gh7pjx2c",
      rule: "documentSize",
      path: "$",
      limit: 1_048_576,
      actual: 1_048_577,
    });
    expect(violation!.message).toMatch(
      /^things k57a8c2x5ab3dxq1n9b0v4d1gh7pjx2c at \$: document of 1048577 bytes .* > limit 1048576 bytes \(1 MiB\)$/,
    );
  });

  test("size is Convex's own measure (system fields included), not the JSON's", () => {
    const doc = stored({ name: "Ada", n: 1, flag: true, tags: ["a", "b"], nothing: null });
    // The backend's rule, by hand: an object is 2 bytes plus, per field, its name, a terminator
    // and its value; a string 2 + its UTF-8 bytes; a number 9; a boolean and null 1; an array
    // 2 plus its elements.
    const field = (name: string, size: number) => name.length + 1 + size;
    const byHand =
      2 +
      field("_id", 2 + 32) +
      field("_creationTime", 9) +
      field("name", 2 + 3) +
      field("n", 9) +
      field("flag", 1) +
      field("tags", 2 + 3 + 3) +
      field("nothing", 1);
    expect(convexDocumentSize(doc)).toBe(byHand);
    expect(getDocumentSize(doc)).toBe(byHand);
  });

  test("a document JSON would pass at a quarter of the limit is over it for Convex", () => {
    // 15 arrays of 8,192 zeros: 2 bytes each in JSON ("0,"), 9 each to Convex.
    const doc = stored({
      grid: Array.from({ length: 15 }, () => Array.from({ length: MAX_ARRAY_LENGTH }, () => 0)),
    });
    expect(jsonDocumentSize(doc)!).toBeLessThan(MAX_DOCUMENT_BYTES / 4);
    expect(rules(doc)).toEqual([["documentSize", "$"]]);
    expect(convexDocumentSize(doc)).toBeGreaterThan(MAX_DOCUMENT_BYTES);
  });

  test("an array of 8,192 values passes; 8,193 is refused, with its path", () => {
    const list = (n: number) => stored({ orgs: [{ roles: Array.from({ length: n }, () => "r") }] });
    expect(rules(list(MAX_ARRAY_LENGTH))).toEqual([]);
    const violations = checkConvexValueLimits("things", list(MAX_ARRAY_LENGTH + 1));
    expect(violations).toMatchObject([
      { rule: "arrayLength", path: "$.orgs[0].roles", limit: 8192, actual: 8193 },
    ]);
    expect(violations[0]!.message).toContain("array of 8193 values > limit 8192");
  });

  test("an object of 1,024 fields passes; 1,025 is refused, nested or top-level", () => {
    const fields = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
    expect(rules(stored({ props: fields(MAX_OBJECT_FIELDS) }))).toEqual([]);
    expect(checkConvexValueLimits("things", stored({ props: fields(1025) }))).toMatchObject([
      { rule: "objectFields", path: "$.props", limit: 1024, actual: 1025 },
    ]);
    // The document's own fields count, system fields included: 2 + 1,022 is the most.
    expect(rules(stored(fields(MAX_OBJECT_FIELDS - 2)))).toEqual([]);
    expect(rules(stored(fields(MAX_OBJECT_FIELDS - 1)))).toEqual([["objectFields", "$"]]);
  });

  test("nesting 16 deep passes; 17 is refused (the document is level 1, arrays count)", () => {
    expect(rules(nestedDocument(MAX_DOCUMENT_NESTING))).toEqual([]);
    expect(checkConvexValueLimits("things", nestedDocument(17))).toMatchObject([
      { rule: "nesting", path: "$", limit: 16, actual: 17 },
    ]);
    // [[[[]]]] is four levels: the document plus 15 levels of arrays is 16, one more is 17.
    let arrays: unknown = [];
    for (let i = 1; i < 15; i++) arrays = [arrays];
    expect(rules(stored({ arrays }))).toEqual([]);
    expect(rules(stored({ arrays: [arrays] }))).toEqual([["nesting", "$"]]);
  });

  test("field names: no $ prefix anywhere, no _ prefix at the top but the system fields", () => {
    expect(rules(stored({ $type: 1 }))).toEqual([["fieldName", "$.$type"]]);
    expect(rules(stored({ nested: { $ref: 1 } }))).toEqual([["fieldName", "$.nested.$ref"]]);
    expect(rules(stored({ _secret: 1 }))).toEqual([["fieldName", "$._secret"]]);
    expect(rules(stored({ nested: { _private: 1 } }))).toEqual([]);
    expect(rules(stored({ nested: { "": 1 } }))).toEqual([["fieldName", '$.nested[""]']]);
    expect(rules(stored({ nested: { é: 1 } }))).toEqual([["fieldName", '$.nested["é"]']]);
    expect(rules(stored({ nested: { "a-b c": 1, ["k".repeat(1024)]: 1 } }))).toEqual([]);
    expect(ruleNames(stored({ nested: { ["k".repeat(1025)]: 1 } }))).toEqual(["fieldName"]);
    expect(rules(stored({ ["t".repeat(64)]: 1 }))).toEqual([]);
    expect(ruleNames(stored({ ["t".repeat(65)]: 1 }))).toEqual(["fieldName"]);
    const [dollar] = checkConvexValueLimits("things", stored({ $type: 1 }));
    expect(dollar!.message).toBe(
      'things k57a8c2x5ab3dxq1n9b0v4d1gh7pjx2c at $.$type: field name "$type" starts with $',
    );
  });

  test("strings must be valid Unicode; values must be Convex values", () => {
    expect(rules(stored({ name: "ok \u{1F600} é" }))).toEqual([]);
    expect(rules(stored({ name: "broken \uD83D" }))).toEqual([["string", "$.name"]]);
    expect(rules(stored({ list: [1, undefined] }))).toEqual([["type", "$.list[1]"]]);
    expect(rules(stored({ when: new Date(0) }))).toEqual([["type", "$.when"]]);
    // An undefined field is dropped, not stored.
    expect(rules(stored({ maybe: undefined }))).toEqual([]);
  });

  test("a document just under every limit at once passes", () => {
    const doc = stored({
      roles: Array.from({ length: MAX_ARRAY_LENGTH }, (_, i) => `role_${i}`),
      props: Object.fromEntries(Array.from({ length: MAX_OBJECT_FIELDS }, (_, i) => [`p${i}`, i])),
      deep: nestedDocument(MAX_DOCUMENT_NESTING).inner,
    });
    expect(convexDocumentSize(doc)).toBeLessThan(MAX_DOCUMENT_BYTES);
    expect(checkConvexValueLimits("things", doc)).toEqual([]);
    expect(() => assertWithinConvexLimits("things", doc)).not.toThrow();
  });

  test("assertWithinConvexLimits lists every violation", () => {
    const doc = stored({ $bad: 1, list: Array.from({ length: 8193 }, () => 0) });
    expect(() => assertWithinConvexLimits("things", doc)).toThrow(
      /A Convex deployment would refuse this document:\n {2}things .* at \$\.\$bad: .*\n {2}things .* at \$\.list: array of 8193 values > limit 8192/,
    );
  });
});
