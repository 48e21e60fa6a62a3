import { describe, expect, test } from "vitest";
import { checkConvexValueLimits } from "../testing/valueLimits.js";
import {
  boundDetails,
  boundProperties,
  isFieldName,
  MAX_ENRICHMENT_TEXT,
  MAX_IDENTITIES,
  MAX_PROPERTIES,
} from "./enrichment.js";

describe("property keys a stored object may have", () => {
  test("printable ASCII, not empty, not starting with $ or _", () => {
    for (const key of ["plan", "kp_usr_city", "Plan Tier", "a$b", "x_", "~"]) {
      expect(isFieldName(key), key).toBe(true);
    }
    for (const key of [
      "",
      "$plan",
      "_plan",
      "_id",
      "plän",
      "tab\there",
      "line\n",
      "emoji😀",
      "\u007f",
    ]) {
      expect(isFieldName(key), JSON.stringify(key)).toBe(false);
    }
  });
});

describe("boundProperties", () => {
  test("keeps what fits as it is, and says nothing", () => {
    expect(boundProperties({ plan: "pro", region: "" })).toEqual({
      value: { plan: "pro", region: "" },
      dropped: [],
    });
  });

  test("drops keys that are not field names, and keys or values that are too long, naming each", () => {
    const long = "x".repeat(MAX_ENRICHMENT_TEXT + 1);
    const { value, dropped } = boundProperties({
      plan: "pro",
      "": "empty",
      $where: "1",
      _secret: "2",
      plän: "3",
      [long]: "4",
      region: long,
      edge: "y".repeat(MAX_ENRICHMENT_TEXT),
    });
    expect(value).toEqual({ plan: "pro", edge: "y".repeat(MAX_ENRICHMENT_TEXT) });
    expect(dropped).toHaveLength(6);
    expect(dropped).toContain(`property "$where": not a valid field name`);
    expect(dropped).toContain(`property "region": longer than ${MAX_ENRICHMENT_TEXT} characters`);
  });

  test("past MAX_PROPERTIES keeps the first keys in order, the same ones whatever order Kinde lists them in", () => {
    const keys = Array.from(
      { length: MAX_PROPERTIES + 5 },
      (_, i) => `k${String(i).padStart(3, "0")}`,
    );
    const forward = boundProperties(Object.fromEntries(keys.map((k) => [k, k])));
    const backward = boundProperties(Object.fromEntries([...keys].reverse().map((k) => [k, k])));
    expect(Object.keys(forward.value)).toEqual(keys.slice(0, MAX_PROPERTIES));
    expect(forward.value).toEqual(backward.value);
    expect(forward.dropped).toEqual([`5 properties past the first ${MAX_PROPERTIES}`]);
  });

  test("the most it keeps is a value Convex stores", () => {
    const most = Object.fromEntries(
      Array.from({ length: MAX_PROPERTIES }, (_, i) => [
        `${i}`.padEnd(MAX_ENRICHMENT_TEXT, "k"),
        "v".repeat(MAX_ENRICHMENT_TEXT),
      ]),
    );
    const { value, dropped } = boundProperties(most);
    expect(dropped).toEqual([]);
    expect(checkConvexValueLimits("kindeUsers", { properties: value })).toEqual([]);
  });
});

describe("boundDetails", () => {
  const identity = (i: number) => ({ type: "email", identity: `user${i}@example.com` });

  test("keeps what fits as it is", () => {
    const details = {
      picture: "https://img.example/a.png",
      createdAt: 1,
      totalSignIns: 2,
      lastSignedInAt: 3,
      identities: [identity(1), { type: "oauth2:google" }],
    };
    expect(boundDetails(details)).toEqual({ value: details, dropped: [] });
  });

  test("drops a picture or an identity that is too long, and identities past MAX_IDENTITIES", () => {
    const long = "x".repeat(MAX_ENRICHMENT_TEXT + 1);
    const identities = [
      { type: long },
      { type: "email", identity: long },
      ...Array.from({ length: MAX_IDENTITIES + 1 }, (_, i) => identity(i)),
    ];
    const { value, dropped } = boundDetails({ picture: long, createdAt: 5, identities });
    expect(value).toEqual({
      createdAt: 5,
      identities: Array.from({ length: MAX_IDENTITIES }, (_, i) => identity(i)),
    });
    expect(dropped).toEqual([
      `picture: longer than ${MAX_ENRICHMENT_TEXT} characters`,
      `2 identities longer than ${MAX_ENRICHMENT_TEXT} characters`,
      `1 identities past the first ${MAX_IDENTITIES}`,
    ]);
  });
});
