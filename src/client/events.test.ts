import { describe, expect, test } from "vitest";
import { toKindeEvent } from "./events.js";
import { InvalidPayloadError, parseKindeTimestamp } from "./kindePayloads.js";
import { MAX_ORGANIZATIONS_PER_USER } from "../shared/userLimits.js";

const envelope = (type: string, data: unknown, extra: object = {}) => ({
  type,
  event_id: "event_019591d50c957a3be1f04c2d9e86b5a1",
  source: "admin",
  timestamp: "2025-03-14T09:26:53.589793+10:00",
  data,
  ...extra,
});

const fullUser = {
  id: "kp_3e9a1c07b5d24f6e8a0b19c2d7f4e815",
  email: "mara.okafor@example.org",
  first_name: "Mara",
  last_name: "Okafor",
  phone: null,
  username: "mara",
  is_suspended: false,
  is_password_reset_requested: false,
  organizations: [{ code: "org_7b2e94c1d05", permissions: null, roles: null }],
};

describe("toKindeEvent", () => {
  test("maps a real-shaped user.updated", () => {
    expect(toKindeEvent(envelope("user.updated", { user: fullUser }))).toEqual({
      type: "user.updated",
      eventId: "event_019591d50c957a3be1f04c2d9e86b5a1",
      source: "admin",
      occurredAt: parseKindeTimestamp("2025-03-14T09:26:53.589793+10:00"),
      user: {
        kindeId: fullUser.id,
        email: "mara.okafor@example.org",
        username: "mara",
        firstName: "Mara",
        lastName: "Okafor",
        isSuspended: false,
        isPasswordResetRequested: false,
        organizations: [{ orgCode: "org_7b2e94c1d05", roles: [], permissions: [] }],
      },
    });
  });

  test('empty and null fields become absent, never "" or null', () => {
    const event = toKindeEvent(
      envelope("user.created", {
        user: {
          ...fullUser,
          email: "",
          first_name: null,
          last_name: "",
          username: null,
          phone: "+442071838750",
        },
      }),
    );
    if (event.type !== "user.created") throw new Error(event.type);
    expect(event.user).toEqual({
      kindeId: fullUser.id,
      phone: "+442071838750",
      isSuspended: false,
      isPasswordResetRequested: false,
      organizations: [{ orgCode: "org_7b2e94c1d05", roles: [], permissions: [] }],
    });
    expect(Object.keys(event.user)).not.toContain("email");
  });

  test("roles and permissions as {id, key} objects; null organizations", () => {
    const event = toKindeEvent(
      envelope("user.updated", {
        user: {
          ...fullUser,
          organizations: [
            {
              code: "org_a",
              roles: [{ id: "r1", key: "admin", name: "ignored extra field" }],
              permissions: [{ id: "p1", key: "read:invoices" }],
            },
            { code: "org_b", roles: null, permissions: null },
          ],
        },
      }),
    );
    if (event.type !== "user.updated") throw new Error(event.type);
    expect(event.user.organizations).toEqual([
      {
        orgCode: "org_a",
        roles: [{ kindeId: "r1", key: "admin" }],
        permissions: [{ kindeId: "p1", key: "read:invoices" }],
      },
      { orgCode: "org_b", roles: [], permissions: [] },
    ]);
    const noOrgs = toKindeEvent(
      envelope("user.updated", { user: { ...fullUser, organizations: null } }),
    );
    expect(noOrgs.type === "user.updated" && noOrgs.user.organizations).toEqual([]);
  });

  test("roles and permissions as key strings (@kinde/webhooks 1.0.0's type) are key-only refs", () => {
    const event = toKindeEvent(
      envelope("user.updated", {
        user: {
          ...fullUser,
          organizations: [
            {
              code: "org_a",
              roles: ["admin", " editor ", "admin", ""],
              permissions: ["read:docs"],
            },
          ],
        },
      }),
    );
    if (event.type !== "user.updated") throw new Error(event.type);
    expect(event.user.organizations).toEqual([
      {
        orgCode: "org_a",
        roles: [
          { kindeId: "", key: "admin" },
          { kindeId: "", key: "editor" },
        ],
        permissions: [{ kindeId: "", key: "read:docs" }],
      },
    ]);
  });

  test("the distinct-roles bound counts key-only refs by key", () => {
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `perm:${i}`);
    const user = (n: number) =>
      envelope("user.updated", {
        user: { ...fullUser, organizations: [{ code: "o", roles: null, permissions: keys(n) }] },
      });
    expect(() => toKindeEvent(user(300))).not.toThrow();
    expect(() => toKindeEvent(user(301))).toThrow(/holds 301 distinct roles and permissions/);
  });

  test("unknown fields anywhere are stripped, not refused", () => {
    const event = toKindeEvent(
      envelope(
        "user.updated",
        { user: { ...fullUser, picture: "x", brand_new: { nested: true } }, extra: 1 },
        { ip_address: "203.0.113.10", future_claim: [1, 2] },
      ),
    );
    expect(event.type).toBe("user.updated");
    expect(JSON.stringify(event)).not.toMatch(/picture|brand_new|ip_address|future_claim/);
  });

  test("event_timestamp wins over timestamp", () => {
    const event = toKindeEvent(
      envelope(
        "user.deleted",
        { user: { id: "kp_1" } },
        { event_timestamp: "2026-02-03T12:00:00.000Z" },
      ),
    );
    expect(event).toMatchObject({
      type: "user.deleted",
      kindeId: "kp_1",
      occurredAt: Date.UTC(2026, 1, 3, 12),
    });
  });

  test("user.authenticated keeps only the user id", () => {
    const event = toKindeEvent({
      ...envelope("user.authenticated", { user: { id: "kp_1" } }),
      ip_address: "203.0.113.10",
    });
    expect(event).toMatchObject({ type: "user.authenticated", kindeId: "kp_1", source: "admin" });
  });

  test("other types are unhandled, with no data, and source may be missing", () => {
    const { source: _, ...noSource } = envelope("passkey.added", {
      user: { id: "kp_…" },
      passkey: { id: "x" },
    });
    expect(toKindeEvent(noSource)).toEqual({
      type: "unhandled",
      kindeType: "passkey.added",
      eventId: "event_019591d50c957a3be1f04c2d9e86b5a1",
      occurredAt: expect.any(Number),
    });
  });

  test("organization events: null external_id and missing flags become absent", () => {
    expect(
      toKindeEvent(
        envelope("organization.created", {
          organization: {
            code: "org_7c2e9b4d1f0",
            external_id: null,
            handle: "acme",
            name: "Acme",
          },
        }),
      ),
    ).toMatchObject({
      type: "organization.created",
      organization: { code: "org_7c2e9b4d1f0", handle: "acme", name: "Acme" },
    });
    const updated = toKindeEvent(
      envelope("organization.updated", {
        organization: { code: "org_1", external_id: "x", is_allow_registrations: false, name: "A" },
      }),
    );
    expect(updated.type === "organization.updated" && updated.organization).toEqual({
      code: "org_1",
      name: "A",
      externalId: "x",
      isAllowRegistrations: false,
    });
    expect(
      toKindeEvent(envelope("organization.deleted", { organization: { code: "org_1" } })),
    ).toMatchObject({ type: "organization.deleted", orgCode: "org_1" });
  });

  test("role and permission events", () => {
    const role = toKindeEvent(
      envelope("role.updated", {
        role: { id: "r1", key: "admin", name: "Admin", description: "", is_default_role: true },
      }),
    );
    expect(role.type === "role.updated" && role.role).toEqual({
      kindeId: "r1",
      key: "admin",
      name: "Admin",
      isDefaultRole: true,
    });
    const permission = toKindeEvent(
      envelope("permission.created", {
        permission: { id: "p1", key: "read:invoices", name: "Read", description: "Read invoices" },
      }),
    );
    expect(permission.type === "permission.created" && permission.permission).toEqual({
      kindeId: "p1",
      key: "read:invoices",
      name: "Read",
      description: "Read invoices",
    });
    expect(toKindeEvent(envelope("role.deleted", { role: { id: "r1" } }))).toMatchObject({
      type: "role.deleted",
      kindeId: "r1",
    });
    expect(
      toKindeEvent(envelope("permission.deleted", { permission: { id: "p1" } })),
    ).toMatchObject({ type: "permission.deleted", kindeId: "p1" });
  });

  test.each([
    [
      "no event_id",
      { ...envelope("user.deleted", { user: { id: "kp_1" } }), event_id: undefined },
      /event_id/,
    ],
    [
      "empty event_id",
      { ...envelope("user.deleted", { user: { id: "kp_1" } }), event_id: " " },
      /event_id/,
    ],
    ["no type", { ...envelope("x", {}), type: undefined }, /type/],
    ["no data", { ...envelope("x", {}), data: undefined }, /data/],
    ["numeric timestamp", envelope("x", {}, { timestamp: 1714549305 }), /timestamp/],
    ["bad timestamp", envelope("x", {}, { timestamp: "soon" }), /timestamp/],
    ["bad event_timestamp", envelope("x", {}, { event_timestamp: "soon" }), /event_timestamp/],
    ["user.created without user", envelope("user.created", {}), /user/],
    [
      "user.created without user id",
      envelope("user.created", { user: { ...fullUser, id: undefined } }),
      /id/,
    ],
    [
      "user.deleted with empty id",
      envelope("user.deleted", { user: { id: "" } }),
      /data\.user\.id/,
    ],
    [
      "a role that is neither a key string nor an { id, key } object",
      envelope("user.updated", {
        user: {
          ...fullUser,
          organizations: [{ code: "o", roles: [true], permissions: null }],
        },
      }),
      /roles\[0\]/,
    ],
    ["email as number", envelope("user.updated", { user: { ...fullUser, email: 7 } }), /email/],
    ["claims not an object", "a string", /envelope/],
    [
      "organization without a code",
      envelope("organization.created", { organization: { name: "A" } }),
      /code/,
    ],
    ["role without a key", envelope("role.created", { role: { id: "r1", name: "A" } }), /key/],
    [
      "permission.deleted with empty id",
      envelope("permission.deleted", { permission: { id: "" } }),
      /data\.permission\.id/,
    ],
  ])("refuses %s with a message naming the field", (_, claims, message) => {
    expect(() => toKindeEvent(claims)).toThrow(InvalidPayloadError);
    expect(() => toKindeEvent(claims)).toThrow(message);
  });

  test(`refuses a user in more than ${MAX_ORGANIZATIONS_PER_USER} organizations`, () => {
    const organizations = Array.from({ length: MAX_ORGANIZATIONS_PER_USER + 1 }, (_, i) => ({
      code: `org_${i}`,
      roles: null,
      permissions: null,
    }));
    expect(() =>
      toKindeEvent(envelope("user.updated", { user: { ...fullUser, organizations } })),
    ).toThrow(/at most 1000/);
  });
});

describe("toKindeEvent for a type the mirror does not mirror", () => {
  const failedSignIn = envelope(
    "user.authentication_failed",
    { user: { id: "kp_1" } },
    { ip_address: "203.0.113.10" },
  );

  test("without hooks it carries no data, as it always did", () => {
    expect(toKindeEvent(failedSignIn)).toEqual({
      type: "unhandled",
      kindeType: "user.authentication_failed",
      eventId: failedSignIn.event_id,
      source: "admin",
      occurredAt: parseKindeTimestamp(failedSignIn.timestamp),
    });
  });

  test("with hooks it carries its data as JSON text and the envelope's ip_address", () => {
    expect(toKindeEvent(failedSignIn, { forHooks: true })).toMatchObject({
      type: "unhandled",
      kindeType: "user.authentication_failed",
      data: { json: '{"user":{"id":"kp_1"}}' },
      ipAddress: "203.0.113.10",
    });
  });

  test("an ip_address that is not a short, well-formed string is left out, not refused", () => {
    for (const ip_address of [42, "1".repeat(65), "\ud800", null]) {
      const event = toKindeEvent(envelope("passkey.added", {}, { ip_address }), { forHooks: true });
      expect(event).not.toHaveProperty("ipAddress");
      expect(event).toHaveProperty("data", { json: "{}" });
    }
  });

  test("a mirrored type carries no data for hooks", () => {
    const event = toKindeEvent(envelope("user.updated", { user: fullUser }), { forHooks: true });
    expect(event).not.toHaveProperty("data");
  });
});
