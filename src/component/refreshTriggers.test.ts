import { describe, expect, test } from "vitest";
import { isDueAfterSignIn, refreshWanted } from "./refreshTriggers.js";
import type { HandledEvent } from "../shared/eventTypes.js";
import { userSnapshot } from "./setup.test.js";

const envelope = { eventId: "event_1", occurredAt: 1 };
const user = { ...envelope, type: "user.updated", user: userSnapshot("kp_1") } as const;
const created = { ...user, type: "user.created" } as const;
const signIn = { ...envelope, type: "user.authenticated", kindeId: "kp_1" } as const;
const organization = {
  ...envelope,
  type: "organization.updated",
  organization: { code: "org_1" },
} as const;
const others: HandledEvent[] = [
  { ...envelope, type: "user.deleted", kindeId: "kp_1" },
  { ...envelope, type: "organization.deleted", orgCode: "org_1" },
  { ...envelope, type: "role.created", role: { kindeId: "r", key: "admin" } },
  { ...envelope, type: "permission.updated", permission: { kindeId: "p", key: "read" } },
];

const everything = { handle: "h", users: true, organizations: true, afterSignInMs: 60_000 };

describe("refreshWanted", () => {
  test("a user's snapshot asks for the user, an organization's for the organization", () => {
    expect(refreshWanted(created, everything)).toEqual({
      entity: { kind: "user", entityId: "kp_1" },
    });
    expect(refreshWanted(user, everything)).toEqual({ entity: { kind: "user", entityId: "kp_1" } });
    expect(refreshWanted(organization, everything)).toEqual({
      entity: { kind: "organization", entityId: "org_1" },
    });
  });

  test("a sign-in asks only with afterSignInMs, and says so", () => {
    expect(refreshWanted(signIn, everything)).toEqual({
      entity: { kind: "user", entityId: "kp_1" },
      afterSignInMs: 60_000,
    });
    expect(refreshWanted(signIn, { ...everything, afterSignInMs: undefined })).toBeNull();
  });

  test("nothing is asked of a kind that is not enriched, nor by deletions or the catalog", () => {
    const noUsers = { ...everything, users: false };
    expect(refreshWanted(user, noUsers)).toBeNull();
    expect(refreshWanted(signIn, noUsers)).toBeNull();
    expect(refreshWanted(organization, { ...everything, organizations: false })).toBeNull();
    for (const event of others) expect(refreshWanted(event, everything), event.type).toBeNull();
  });
});

describe("isDueAfterSignIn", () => {
  test("never fetched, or fetched at least the interval ago", () => {
    expect(isDueAfterSignIn(undefined, 60_000, 1_000)).toBe(true);
    expect(isDueAfterSignIn(1_000, 60_000, 61_000)).toBe(true);
    expect(isDueAfterSignIn(1_000, 60_000, 60_999)).toBe(false);
    expect(isDueAfterSignIn(1_000, 0, 1_000)).toBe(true);
  });
});
