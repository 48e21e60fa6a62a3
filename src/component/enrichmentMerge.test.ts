import { describe, expect, test } from "vitest";
import {
  clearedParts,
  isLaterFetch,
  mergePropertiesFetch,
  mergeUserFetch,
  withinDocumentLimit,
} from "./enrichmentMerge.js";
import { MAX_DOCUMENT_BYTES, storedDocumentBytes } from "./limits.js";

const picture = (name: string) => `https://img.example/${name}.png`;

describe("which fetch wins", () => {
  test("only one that began later than the stored part's; the first fetch always", () => {
    expect(isLaterFetch(2, undefined)).toBe(true);
    expect(isLaterFetch(2, 1)).toBe(true);
    expect(isLaterFetch(2, 2)).toBe(false);
    expect(isLaterFetch(1, 2)).toBe(false);
  });
});

describe("mergeUserFetch", () => {
  const stored = {
    details: { picture: picture("old"), totalSignIns: 4 },
    detailsFetchedAt: 100,
    properties: { plan: "free" },
    propertiesFetchedAt: 100,
    lastSignedInAt: 1_000,
  };

  test("a later fetch replaces each part it read, whole: a field Kinde no longer lists goes", () => {
    expect(
      mergeUserFetch(stored, {
        fetchedAt: 200,
        details: { createdAt: 7, lastSignedInAt: 900 },
        properties: { region: "eu" },
      }),
    ).toEqual({
      outcome: "applied",
      patch: {
        details: { createdAt: 7 },
        detailsFetchedAt: 200,
        properties: { region: "eu" },
        propertiesFetchedAt: 200,
      },
    });
  });

  test("a part the fetch did not read stays, with its time", () => {
    const { patch } = mergeUserFetch(stored, { fetchedAt: 200, properties: {} });
    expect(patch).toEqual({ properties: {}, propertiesFetchedAt: 200 });
  });

  test("each part is versioned on its own", () => {
    const mixed = { ...stored, propertiesFetchedAt: 300 };
    expect(
      mergeUserFetch(mixed, {
        fetchedAt: 200,
        details: { picture: picture("new") },
        properties: { plan: "pro" },
      }),
    ).toEqual({
      outcome: "applied",
      patch: { details: { picture: picture("new") }, detailsFetchedAt: 200 },
    });
  });

  test("an earlier fetch is stale in every part and writes nothing", () => {
    expect(
      mergeUserFetch(stored, {
        fetchedAt: 100,
        details: { picture: picture("late") },
        properties: { plan: "late" },
      }),
    ).toEqual({ outcome: "stale", patch: {} });
  });

  test("lastSignedInAt only moves forward, even from a fetch that is otherwise stale", () => {
    expect(mergeUserFetch(stored, { fetchedAt: 50, details: { lastSignedInAt: 2_000 } })).toEqual({
      outcome: "applied",
      patch: { lastSignedInAt: 2_000 },
    });
    expect(
      mergeUserFetch({}, { fetchedAt: 50, details: { lastSignedInAt: 2_000 } }).patch,
    ).toMatchObject({ lastSignedInAt: 2_000 });
    expect(
      mergeUserFetch(stored, { fetchedAt: 200, details: { lastSignedInAt: 999 } }).patch,
    ).not.toHaveProperty("lastSignedInAt");
  });

  test("a fetch that read nothing changes nothing and is not stale", () => {
    expect(mergeUserFetch(stored, { fetchedAt: 200 })).toEqual({ outcome: "applied", patch: {} });
  });
});

describe("mergePropertiesFetch", () => {
  test("replaces properties whole (added, changed and removed keys) when later, else nothing", () => {
    const stored = { properties: { plan: "free", seats: "3" }, propertiesFetchedAt: 10 };
    expect(mergePropertiesFetch(stored, 11, { plan: "pro", region: "eu" })).toEqual({
      outcome: "applied",
      patch: { properties: { plan: "pro", region: "eu" }, propertiesFetchedAt: 11 },
    });
    expect(mergePropertiesFetch(stored, 10, { plan: "pro" })).toEqual({
      outcome: "stale",
      patch: {},
    });
    expect(mergePropertiesFetch({}, 1, {})).toEqual({
      outcome: "applied",
      patch: { properties: {}, propertiesFetchedAt: 1 },
    });
  });
});

describe("withinDocumentLimit", () => {
  const mirror = (bytes: number) => ({ kindeId: "kp_1", organizations: "o".repeat(bytes) });
  const enrichment = {
    details: { picture: picture("a") },
    detailsFetchedAt: 1,
    properties: { plan: "x".repeat(100_000) },
    propertiesFetchedAt: 1,
  };

  test("a row that fits is kept as it is", () => {
    const row = { ...mirror(1000), ...enrichment };
    expect(withinDocumentLimit(row)).toEqual({ row, dropped: [] });
  });

  test("a row over 1 MiB gives up properties first, then details; the mirror's data stays", () => {
    const room = MAX_DOCUMENT_BYTES - 50_000;
    const withoutProperties = withinDocumentLimit({ ...mirror(room), ...enrichment });
    expect(withoutProperties.dropped).toEqual(["properties"]);
    expect(withoutProperties.row).toMatchObject({ ...mirror(room), details: enrichment.details });
    expect(withoutProperties.row.properties).toBeUndefined();
    expect(withoutProperties.row.propertiesFetchedAt).toBe(1);
    expect(storedDocumentBytes(withoutProperties.row)).toBeLessThanOrEqual(MAX_DOCUMENT_BYTES);

    const full = MAX_DOCUMENT_BYTES - 120;
    const bare = withinDocumentLimit({ ...mirror(full), ...enrichment });
    expect(bare.dropped).toEqual(["properties", "details"]);
    expect(bare.row).toEqual({
      ...mirror(full),
      ...clearedParts(["properties", "details"]),
      detailsFetchedAt: 1,
      propertiesFetchedAt: 1,
    });
  });

  test("a row too large without enrichment is left for the caller to refuse", () => {
    const over = withinDocumentLimit(mirror(MAX_DOCUMENT_BYTES));
    expect(over.dropped).toEqual([]);
  });
});
