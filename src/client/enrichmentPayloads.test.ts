import { describe, expect, test } from "vitest";
import { DETAIL_FIELDS, MAX_IDENTITIES, MAX_PROPERTIES } from "../shared/enrichment.js";
import {
  propertyListEntries,
  propertyObjectEntries,
  toProperties,
  toUserDetails,
} from "./enrichmentPayloads.js";

/** A user as `GET /api/v1/user?id=…&expand=identities` answers it (spec v0.19.0 field names). */
const kindeUser = {
  id: "kp_0ba7c433e5d648cf992621ce99d42817",
  preferred_email: "ada@example.com",
  picture: " https://gravatar.com/avatar/ada.png ",
  total_sign_ins: 12,
  failed_sign_ins: 0,
  last_signed_in: "2025-02-12T18:02:23.614638+10:00",
  created_on: "2024-05-01T17:41:45.592145+00:00",
  identities: [
    { type: "email", identity: "ada@example.com", connection_id: null },
    {
      type: "oauth2:google",
      identity: "ada@gmail.com",
      connection_id: "conn_0192",
      token: "secret",
    },
  ],
};

describe("toUserDetails", () => {
  test("every detail, dates with microseconds and offsets, identities as type and identity only", () => {
    expect(toUserDetails(kindeUser, DETAIL_FIELDS)).toEqual({
      value: {
        picture: "https://gravatar.com/avatar/ada.png",
        createdAt: Date.UTC(2024, 4, 1, 17, 41, 45) + 592.145,
        totalSignIns: 12,
        lastSignedInAt: Date.UTC(2025, 1, 12, 8, 2, 23) + 614.638,
        identities: [
          { type: "email", identity: "ada@example.com" },
          { type: "oauth2:google", identity: "ada@gmail.com" },
        ],
      },
      dropped: [],
    });
  });

  test("only the fields named; none named: nothing to send", () => {
    expect(toUserDetails(kindeUser, ["signIns"])?.value).toEqual({
      totalSignIns: 12,
      lastSignedInAt: Date.UTC(2025, 1, 12, 8, 2, 23) + 614.638,
    });
    expect(toUserDetails(kindeUser, [])).toBeNull();
  });

  test('"", null, missing and mistyped values are absent, never "" or null', () => {
    const hostile = {
      id: "kp_1",
      picture: "   ",
      created_on: "",
      last_signed_in: null,
      total_sign_ins: "12",
      identities: [
        null,
        "email",
        { type: "" },
        { type: "phone", identity: null },
        { identity: "x" },
      ],
    };
    expect(toUserDetails(hostile, DETAIL_FIELDS)?.value).toEqual({
      identities: [{ type: "phone" }],
    });
    expect(
      toUserDetails(
        { id: "kp_1", picture: null, total_sign_ins: -1, identities: null },
        DETAIL_FIELDS,
      )?.value,
    ).toEqual({});
    expect(
      toUserDetails({ id: "kp_1", created_on: "yesterday", total_sign_ins: 1.5 }, DETAIL_FIELDS)
        ?.value,
    ).toEqual({});
  });

  test("no identities listed is known-empty: []", () => {
    expect(toUserDetails({ id: "kp_1", identities: [] }, ["identities"])?.value).toEqual({
      identities: [],
    });
  });

  test("caps: a long picture or identity dropped and named, identities past the most kept, repeats once", () => {
    const long = "x".repeat(1025);
    const identities = [
      { type: "email", identity: "a@example.com" },
      { type: "email", identity: "a@example.com" },
      { type: "email", identity: long },
      ...Array.from({ length: MAX_IDENTITIES + 3 }, (_, i) => ({
        type: "phone",
        identity: `+6140000${i}`,
      })),
    ];
    const mapped = toUserDetails(
      { id: "kp_1", picture: `https://x/${long}`, identities },
      DETAIL_FIELDS,
    )!;
    expect(mapped.value.picture).toBeUndefined();
    expect(mapped.value.identities).toHaveLength(MAX_IDENTITIES);
    expect(mapped.value.identities![0]).toEqual({ type: "email", identity: "a@example.com" });
    expect(mapped.value.identities![1]).toEqual({ type: "phone", identity: "+61400000" });
    expect(mapped.dropped).toEqual([
      "picture: longer than 1024 characters",
      "1 identities longer than 1024 characters",
      `4 identities past the first ${MAX_IDENTITIES}`,
    ]);
  });
});

describe("toProperties", () => {
  const list = [
    { id: "prop_1", key: "kp_plan", name: "Plan", value: "pro" },
    { id: "prop_2", key: "kp_region", name: "Region", description: null, value: " eu " },
    { id: "prop_3", key: "kp_empty", value: "" },
    { id: "prop_4", key: "kp_null", value: null },
    { id: "prop_5", key: "kp_seats", value: 12 },
  ];

  test("all: every set property, values trimmed, numbers as text, empty and null absent", () => {
    expect(toProperties(propertyListEntries(list), "all")).toEqual({
      value: { kp_plan: "pro", kp_region: "eu", kp_seats: "12" },
      dropped: [],
    });
  });

  test("a list of keys: only those", () => {
    expect(toProperties(propertyListEntries(list), ["kp_region", "kp_unknown"]).value).toEqual({
      kp_region: "eu",
    });
  });

  test("the search listing's object gives the same", () => {
    const object = { kp_plan: "pro", kp_region: " eu ", kp_empty: "", kp_null: null, kp_seats: 12 };
    expect(toProperties(propertyObjectEntries(object), "all").value).toEqual({
      kp_plan: "pro",
      kp_region: "eu",
      kp_seats: "12",
    });
    expect(propertyObjectEntries(null)).toEqual([]);
    expect(propertyObjectEntries(["kp_plan"])).toEqual([]);
    expect(propertyListEntries({ kp_plan: "pro" })).toEqual([]);
  });

  test("odd keys a document may not hold, and long keys or values, dropped and named", () => {
    const odd = [
      { key: "$where", value: "1" },
      { key: "_id", value: "2" },
      { key: "région", value: "3" },
      { key: "line\nbreak", value: "4" },
      { key: "k".repeat(1025), value: "5" },
      { key: "kp_long", value: "v".repeat(1025) },
      { key: "kp.dotted key", value: "ok" },
      { key: 7, value: "not a key" },
    ];
    const mapped = toProperties(propertyListEntries(odd), "all");
    expect(mapped.value).toEqual({ "kp.dotted key": "ok" });
    expect(mapped.dropped).toHaveLength(6);
    expect(mapped.dropped).toContain('property "$where": not a valid field name');
    expect(mapped.dropped).toContain('property "_id": not a valid field name');
    expect(mapped.dropped).toContain('property "kp_long": longer than 1024 characters');
  });

  test(`past ${MAX_PROPERTIES}: the first by key kept, whatever Kinde's order`, () => {
    const many = Array.from({ length: 130 }, (_, i) => ({
      key: `kp_${String(129 - i).padStart(3, "0")}`,
      value: `v${i}`,
    }));
    const mapped = toProperties(propertyListEntries(many), "all");
    expect(Object.keys(mapped.value)).toHaveLength(MAX_PROPERTIES);
    expect(Object.keys(mapped.value)[0]).toBe("kp_000");
    expect(mapped.value.kp_099).toBe("v30");
    expect(mapped.value.kp_100).toBeUndefined();
    expect(mapped.dropped).toEqual([`30 properties past the first ${MAX_PROPERTIES}`]);
  });
});
