import { describe, expect, test } from "vitest";
import { DETAIL_FIELDS, MAX_PROPERTIES } from "../shared/enrichment.js";
import { enrichmentOf } from "./config.js";
import type { KindeOptions } from "./types.js";

/** Options as a host might pass them from untyped code (JSON, a cast). */
const enrichment = (value: unknown): KindeOptions => ({ enrichment: value as never });

describe("enrichmentOf", () => {
  test("unset: off, nothing to fetch", () => {
    expect(enrichmentOf({})).toBeNull();
  });

  test("{}: every detail, no properties, not on sign-in", () => {
    expect(enrichmentOf({ enrichment: {} })).toEqual({
      details: DETAIL_FIELDS,
      userProperties: null,
      organizationProperties: null,
      refreshAfterSignInMs: undefined,
      users: true,
      organizations: false,
    });
  });

  test("details: in DETAIL_FIELDS order, each once; [] keeps none", () => {
    expect(
      enrichmentOf({ enrichment: { details: ["identities", "picture", "identities"] } })?.details,
    ).toEqual(["picture", "identities"]);
    const none = enrichmentOf({ enrichment: { details: [] } });
    expect(none).toMatchObject({ details: [], users: false, organizations: false });
    expect(enrichmentOf({ enrichment: { details: [], userProperties: ["plan"] } })?.users).toBe(
      true,
    );
  });

  test("properties: all, or a list of keys without repeats", () => {
    expect(
      enrichmentOf({
        enrichment: { userProperties: "all", organizationProperties: ["tier", "tier", "region"] },
      }),
    ).toMatchObject({
      userProperties: "all",
      organizationProperties: ["tier", "region"],
      users: true,
      organizations: true,
    });
  });

  test("refreshAfterSignInMs: a finite number of ms", () => {
    expect(enrichmentOf({ enrichment: { refreshAfterSignInMs: 3_600_000 } })).toMatchObject({
      refreshAfterSignInMs: 3_600_000,
    });
    expect(enrichmentOf({ enrichment: { refreshAfterSignInMs: 0 } })?.refreshAfterSignInMs).toBe(0);
  });

  test.each<[string, unknown, RegExp]>([
    ["not an object", true, /`enrichment` must be an object .*not true/],
    ["null", null, /`enrichment` must be an object .*not null/],
    ["a list", ["picture"], /`enrichment` must be an object/],
    [
      "an unknown option",
      { userProperty: "all" },
      /unknown option `userProperty` \(known: details, userProperties/,
    ],
    [
      "details not a list",
      { details: "picture" },
      /`details` must be a list of "picture", "createdAt", "signIns", "identities", not "picture"/,
    ],
    [
      "an unknown detail",
      { details: ["avatar"] },
      /unknown detail "avatar" \(known: picture, createdAt, signIns, identities\)/,
    ],
    [
      "properties neither all nor a list",
      { userProperties: "*" },
      /`userProperties` must be "all" or a list of property keys, not "\*"/,
    ],
    [
      "an empty list of keys",
      { organizationProperties: [] },
      /`organizationProperties` lists no key/,
    ],
    [
      "an empty key",
      { userProperties: ["plan", ""] },
      /`userProperties` holds "": each key must be text of 1 to 1024/,
    ],
    ["a key not text", { userProperties: [7] }, /holds 7: each key must be text/],
    [
      "a key too long",
      { userProperties: ["k".repeat(1025)] },
      /each key must be text of 1 to 1024 characters/,
    ],
    [
      "more keys than are kept",
      { userProperties: Array.from({ length: MAX_PROPERTIES + 1 }, (_, i) => `k${i}`) },
      /lists 101 keys; at most 100 properties are kept/,
    ],
    [
      "a negative interval",
      { refreshAfterSignInMs: -1 },
      /`refreshAfterSignInMs` must be a finite number of milliseconds of at least 0 .*not -1/,
    ],
    ["an infinite interval", { refreshAfterSignInMs: Infinity }, /not Infinity/],
    ["an interval as text", { refreshAfterSignInMs: "1h" }, /not "1h"/],
  ])("refused with a message naming it: %s", (_, value, message) => {
    expect(() => enrichmentOf(enrichment(value))).toThrow(message);
  });
});
