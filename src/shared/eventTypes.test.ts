import { describe, expect, test } from "vitest";
import { validate } from "convex-helpers/validators";
import { vKindeEvent, type KindeEvent } from "./events.js";
import { EVENT_TYPES, entityOf, isHandledType } from "./eventTypes.js";

const envelope = { eventId: "event_0195", source: "admin", occurredAt: 1_741_908_413_589.793 };
const user = {
  kindeId: "kp_3e9a",
  email: "mara@example.org",
  isSuspended: false,
  isPasswordResetRequested: false,
  organizations: [
    { orgCode: "org_7b2e", roles: [{ kindeId: "r1", key: "admin" }], permissions: [] },
  ],
};
const organization = { code: "org_7b2e", name: "Acme" };
const role = { kindeId: "r1", key: "admin", isDefaultRole: false };
const permission = { kindeId: "p1", key: "read:docs" };

/** One event of every type the union describes. */
const everyType: KindeEvent[] = [
  { type: "user.created", ...envelope, user },
  { type: "user.updated", ...envelope, user },
  { type: "user.deleted", ...envelope, kindeId: "kp_3e9a" },
  { type: "user.authenticated", ...envelope, kindeId: "kp_3e9a" },
  { type: "organization.created", ...envelope, organization },
  { type: "organization.updated", ...envelope, organization },
  { type: "organization.deleted", ...envelope, orgCode: "org_7b2e" },
  { type: "role.created", ...envelope, role },
  { type: "role.updated", ...envelope, role },
  { type: "role.deleted", ...envelope, kindeId: "r1" },
  { type: "permission.created", ...envelope, permission },
  { type: "permission.updated", ...envelope, permission },
  { type: "permission.deleted", ...envelope, kindeId: "p1" },
  { type: "unhandled", ...envelope, kindeType: "subscriber.created" },
];

describe("vKindeEvent", () => {
  test.each(everyType.map((event) => [event.type, event]))("accepts %s", (_, event) => {
    expect(validate(vKindeEvent, event)).toBe(true);
  });

  // Types that share a union member must still only take their own data.
  test.each([
    ["a user type with an id only", { type: "user.created", ...envelope, kindeId: "kp_1" }],
    ["a deletion with a snapshot", { type: "user.deleted", ...envelope, user }],
    [
      "an organization deletion with a Kinde id",
      { type: "organization.deleted", ...envelope, kindeId: "x" },
    ],
    ["a role with a permission's data", { type: "role.created", ...envelope, permission }],
    ["a permission with a role's data", { type: "permission.updated", ...envelope, role }],
    ["an organization event with a user", { type: "organization.updated", ...envelope, user }],
    ["an unknown type", { type: "user.frozen", ...envelope, kindeId: "kp_1" }],
    ["a known type as unhandled data", { type: "subscriber.created", ...envelope, kindeType: "x" }],
    ["no event id", { type: "user.deleted", source: "admin", occurredAt: 1, kindeId: "kp_1" }],
    [
      "a field of another member",
      { type: "user.deleted", ...envelope, kindeId: "kp_1", orgCode: "o" },
    ],
  ])("refuses %s", (_, value) => {
    expect(validate(vKindeEvent, value)).toBe(false);
  });
});

describe("EVENT_TYPES, the table every event type is dispatched by", () => {
  test("names exactly the types vKindeEvent describes, unhandled aside", () => {
    const described = everyType.map((event) => event.type).filter((type) => type !== "unhandled");
    expect(Object.keys(EVENT_TYPES).sort()).toEqual([...described].sort());
    expect(isHandledType("unhandled")).toBe(false);
    expect(isHandledType("subscriber.created")).toBe(false);
    expect(isHandledType("toString")).toBe(false);
  });

  const expectedEntity: Record<string, ReturnType<typeof entityOf>> = {
    user: { entityKind: "user", entityId: "kp_3e9a" },
    organization: { entityKind: "organization", entityId: "org_7b2e" },
    role: { entityKind: "role", entityId: "r1" },
    permission: { entityKind: "permission", entityId: "p1" },
    unhandled: {},
  };
  test.each(everyType.map((event) => [event.type, event]))("%s: its entity", (type, event) => {
    expect(entityOf(event)).toEqual(expectedEntity[type.split(".")[0]!]);
  });
});
