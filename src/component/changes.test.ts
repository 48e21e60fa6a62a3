import { describe, expect, test } from "vitest";
import { samePublicShape, toPublicShape, updateChange, upsertChange } from "./changes.js";
import { version } from "./setup.test.js";

describe("what the host can see changed", () => {
  test("an absent field and an `undefined` one are the same, a cleared value is not", () => {
    expect(samePublicShape({ kindeId: "kp_1", email: undefined }, { kindeId: "kp_1" })).toBe(true);
    expect(samePublicShape({ kindeId: "kp_1" }, { kindeId: "kp_1", email: "" })).toBe(false);
    expect(samePublicShape({ email: null }, {})).toBe(false);
  });

  test("nested memberships compare by value, in order", () => {
    const ada = (roles: string[]) => ({ organizations: [{ orgCode: "org_a", roles }] });
    expect(samePublicShape(ada(["admin", "editor"]), ada(["admin", "editor"]))).toBe(true);
    expect(samePublicShape(ada(["admin", "editor"]), ada(["editor", "admin"]))).toBe(false);
    expect(samePublicShape(ada(["admin"]), ada(["admin", "admin"]))).toBe(false);
    expect(samePublicShape({ roles: [] }, { roles: {} })).toBe(false);
  });

  test("created without a row, updated when the shape changed, nothing when only the version moved", () => {
    const created = { type: "created" };
    const updated = (previous: object) => ({ type: "updated", previous });
    expect(upsertChange(null, { a: 1 }, created, updated)).toBe(created);
    expect(upsertChange(undefined, { a: 1 }, created, updated)).toBe(created);
    expect(upsertChange({ a: 1 }, { a: 2 }, created, updated)).toEqual({
      type: "updated",
      previous: { a: 1 },
    });
    const before = toPublicShape({
      _id: "x",
      _creationTime: 1,
      code: "org_a",
      version: version(1),
    });
    const after = toPublicShape({ _id: "y", _creationTime: 2, code: "org_a", version: version(2) });
    expect(after).toEqual({ code: "org_a" });
    expect(upsertChange(before, after, created, updated)).toBeNull();
  });

  test("an update carries the shape before it, never the new one", () => {
    const updated = (previous: { name: string }) => ({ type: "updated", previous });
    expect(updateChange({ name: "Old" }, { name: "New" }, updated)).toEqual({
      type: "updated",
      previous: { name: "Old" },
    });
    expect(updateChange({ name: "Same" }, { name: "Same" }, updated)).toBeNull();
  });
});
