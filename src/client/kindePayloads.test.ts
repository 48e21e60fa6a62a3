import { describe, expect, test } from "vitest";
import { toBackfillUser, toMember } from "./backfill.js";
import { toKindeEvent } from "./events.js";
import {
  identifier,
  InvalidPayloadError,
  parseKindeTimestamp,
  text,
  toKeyRefs,
  toKeys,
  toOrganizationSnapshot,
  toPermissionSnapshot,
  toProfile,
  toRoleSnapshot,
} from "./kindePayloads.js";

/** A Kinde webhook token's claims carrying `data`. */
const webhook = (type: string, data: unknown) => ({
  type,
  event_id: "event_0195",
  timestamp: "2025-03-14T09:26:53.589793+10:00",
  data,
});

describe("identifiers: trimmed, refused when empty", () => {
  test.each([
    ["kp_1", "kp_1"],
    ["  kp_1\t", "kp_1"],
    ["\u00a0org_a ", "org_a"],
  ])("%j is %j", (raw, id) => {
    expect(identifier(raw, "data.user.id")).toBe(id);
  });

  test.each(["", "   ", "\n\t"])("%j is refused, naming the field", (raw) => {
    expect(() => identifier(raw, "data.user.id")).toThrow(InvalidPayloadError);
    expect(() => identifier(raw, "data.user.id")).toThrow("`data.user.id` is empty");
  });

  const longKey = `read:${"x".repeat(2000)}`;
  test("a long key is kept whole: the component's size check decides, not the normaliser", () => {
    expect(toPermissionSnapshot({ id: "p1", key: ` ${longKey} ` }, "data.permission").key).toBe(
      longKey,
    );
  });
});

describe("text: trimmed; empty, whitespace and null are absent", () => {
  test.each([
    ["Ada", "Ada"],
    [" Ada ", "Ada"],
    ["", undefined],
    ["  ", undefined],
    [null, undefined],
    [undefined, undefined],
  ])("%j is %j", (raw, expected) => {
    expect(text(raw)).toBe(expected);
  });
});

describe("references: trimmed, blanks dropped, each once", () => {
  test("codes and keys", () => {
    expect(toKeys([" org_a", "org_b", "org_a ", "", "  "])).toEqual(["org_a", "org_b"]);
    expect(toKeys(null)).toEqual([]);
    expect(toKeys(undefined)).toEqual([]);
  });

  test("mixed arrays: a string naming the key of an object in the same list is that object", () => {
    expect(
      toKeyRefs(["viewer", { id: "r1", key: "admin" }, "admin", { id: "r1", key: "admin" }]),
    ).toEqual([
      { kindeId: "r1", key: "admin" },
      { kindeId: "", key: "viewer" },
    ]);
  });

  test("whitespace ids and keys are trimmed; an object with a blank id is held by its key", () => {
    expect(
      toKeyRefs([
        { id: " r1 ", key: " admin " },
        { id: "r1", key: "admin" },
        { id: "", key: "viewer" },
        { id: " ", key: " viewer" },
        { id: "", key: "" },
        " ",
      ]),
    ).toEqual([
      { kindeId: "r1", key: "admin" },
      { kindeId: "", key: "viewer" },
    ]);
  });

  test("null and missing lists hold nothing", () => {
    expect(toKeyRefs(null)).toEqual([]);
    expect(toKeyRefs(undefined)).toEqual([]);
    expect(toKeyRefs([])).toEqual([]);
  });
});

/** The same untidy user, as each source names its fields. */
const untidyProfile = {
  id: " kp_1 ",
  email: "",
  phone: " +442071838750 ",
  username: null,
  first_name: "  ",
  last_name: " Lovelace",
  is_suspended: null,
};
const cleanProfile = {
  kindeId: "kp_1",
  phone: "+442071838750",
  lastName: "Lovelace",
  isSuspended: false,
};

describe("the webhook and the backfill follow the same rules", () => {
  test("a profile: the same row from either source", () => {
    expect(toProfile(untidyProfile, "user")).toEqual(cleanProfile);
    const event = toKindeEvent(
      webhook("user.updated", {
        user: { ...untidyProfile, is_password_reset_requested: null, organizations: null },
      }),
    );
    expect(event.type === "user.updated" && event.user).toEqual({
      ...cleanProfile,
      isPasswordResetRequested: false,
      organizations: [],
    });
    expect(toBackfillUser({ ...untidyProfile, organizations: null })).toEqual({
      ...cleanProfile,
      orgCodes: [],
    });
  });

  test("an email in either of the Management API's fields; an empty one is no email", () => {
    expect(toBackfillUser({ id: "kp_1", email: " ", preferred_email: " a@b.c " }).email).toBe(
      "a@b.c",
    );
    expect(toBackfillUser({ id: "kp_1", email: "", preferred_email: null })).not.toHaveProperty(
      "email",
    );
  });

  test("a user's organizations and a member's roles: references, cleaned alike", () => {
    expect(toBackfillUser({ id: "kp_1", organizations: [" org_a", "org_a", ""] }).orgCodes).toEqual(
      ["org_a"],
    );
    expect(toMember({ id: " kp_1 ", roles: ["admin ", "admin", " "] })).toEqual({
      kindeId: "kp_1",
      roleKeys: ["admin"],
    });
    expect(toMember({ id: "kp_1", roles: null }).roleKeys).toEqual([]);
  });

  test.each([
    [
      "a user",
      () => toKindeEvent(webhook("user.updated", { user: { id: " " } })),
      () => toBackfillUser({ id: " " }),
    ],
    [
      "an organization",
      () => toKindeEvent(webhook("organization.created", { organization: { code: "" } })),
      () => toOrganizationSnapshot({ code: "" }, "items[0]"),
    ],
    [
      "a role",
      () => toKindeEvent(webhook("role.updated", { role: { id: "r1", key: "  " } })),
      () => toRoleSnapshot({ id: "r1", key: "  " }, "items[0]"),
    ],
    [
      "a deleted permission",
      () => toKindeEvent(webhook("permission.deleted", { permission: { id: " " } })),
      () => toPermissionSnapshot({ id: " ", key: "read" }, "items[0]"),
    ],
    [
      "a member",
      () => toKindeEvent(webhook("user.deleted", { user: { id: "" } })),
      () => toMember({ id: "" }),
    ],
  ])("%s with an empty identifier is refused by both", (_, fromWebhook, fromBackfill) => {
    expect(fromWebhook).toThrow(InvalidPayloadError);
    expect(fromBackfill).toThrow(InvalidPayloadError);
  });

  test("whitespace around identifiers is trimmed by both", () => {
    const webhookOrg = toKindeEvent(
      webhook("organization.updated", { organization: { code: " org_a ", name: null } }),
    );
    expect(webhookOrg.type === "organization.updated" && webhookOrg.organization).toEqual({
      code: "org_a",
    });
    expect(toOrganizationSnapshot({ code: " org_a ", name: null }, "items[0]")).toEqual({
      code: "org_a",
    });
    const webhookRole = toKindeEvent(
      webhook("role.created", { role: { id: " r1", key: "admin ", is_default_role: null } }),
    );
    expect(webhookRole.type === "role.created" && webhookRole.role).toEqual({
      kindeId: "r1",
      key: "admin",
    });
    expect(toRoleSnapshot({ id: " r1", key: "admin ", is_default_role: null }, "r")).toEqual({
      kindeId: "r1",
      key: "admin",
    });
  });
});

describe("parseKindeTimestamp", () => {
  test("keeps the tenant offset and microseconds", () => {
    const at = parseKindeTimestamp("2025-03-14T09:26:53.589793+10:00")!;
    expect(Math.floor(at)).toBe(Date.UTC(2025, 2, 13, 23, 26, 53, 589));
    expect(at - Math.floor(at)).toBeCloseTo(0.793, 3);
  });

  test("orders events microseconds apart", () => {
    const a = parseKindeTimestamp("2024-05-01T17:41:45.592145+10:00")!;
    const b = parseKindeTimestamp("2024-05-01T17:41:45.592146+10:00")!;
    expect(b).toBeGreaterThan(a);
  });

  test.each([
    ["2026-02-03T12:00:00.000Z", Date.UTC(2026, 1, 3, 12)],
    ["2024-07-01T10:00:00.000000+00:00", Date.UTC(2024, 6, 1, 10)],
    ["2026-06-16T12:00:00Z", Date.UTC(2026, 5, 16, 12)],
    ["2024-07-01T10:00:00-05:30", Date.UTC(2024, 6, 1, 15, 30)],
    ["2024-07-01T10:00:00+0200", Date.UTC(2024, 6, 1, 8)],
  ])("%s", (text, expected) => {
    expect(parseKindeTimestamp(text)).toBe(expected);
  });

  test.each([
    "",
    "1714549305",
    "yesterday",
    "2024-02-30T10:00:00Z",
    "2024-07-01T25:00:00Z",
    "2024-07-01T10:00:00",
  ])("refuses %j", (text) => {
    expect(parseKindeTimestamp(text)).toBeUndefined();
  });
});
