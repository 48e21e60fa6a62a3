import { describe, expect, test } from "vitest";
import {
  customerRefOf,
  isCustomerEventType,
  MAX_UNMATCHED_KEY_LENGTH,
  MAX_UNMATCHED_KEYS,
} from "./customerEvents.js";

describe("customerRefOf", () => {
  test("each shape seen in the wild", () => {
    expect(customerRefOf({ customer_id: "customer_1" })).toEqual({
      customerId: "customer_1",
      keys: ["customer_id"],
    });
    expect(customerRefOf({ customer: { id: "customer_2" } })).toEqual({
      customerId: "customer_2",
      keys: ["customer"],
    });
    expect(customerRefOf({ org_code: "org_1", user_id: "kp_1", plan: "pro" })).toEqual({
      orgCode: "org_1",
      kindeId: "kp_1",
      keys: ["org_code", "user_id", "plan"],
    });
    // customer_id wins over customer.id.
    expect(customerRefOf({ customer_id: "a", customer: { id: "b" } }).customerId).toBe("a");
  });

  test("anything that is not a usable id is left out; the keys are bounded", () => {
    const hostile = {
      customer_id: 42,
      customer: ["customer_3"],
      org_code: "   ",
      user_id: "x".repeat(257),
      "\ud800lone": 1,
      ["k".repeat(100)]: 1,
      ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, i])),
    };
    const ref = customerRefOf(hostile);
    expect(ref).not.toHaveProperty("customerId");
    expect(ref).not.toHaveProperty("orgCode");
    expect(ref).not.toHaveProperty("kindeId");
    expect(ref.keys).toHaveLength(MAX_UNMATCHED_KEYS);
    expect(ref.keys.every((k) => k.length <= MAX_UNMATCHED_KEY_LENGTH && k.isWellFormed())).toBe(
      true,
    );
    expect(ref.keys).toContain("k".repeat(MAX_UNMATCHED_KEY_LENGTH));
    expect(customerRefOf({ customer_id: "\udc00" })).toEqual({ keys: ["customer_id"] });
    for (const data of [null, undefined, "customer_1", ["customer_id"]]) {
      expect(customerRefOf(data)).toEqual({ keys: [] });
    }
  });

  test("a key is cut by code points, never inside a surrogate pair", () => {
    const key = `${"a".repeat(MAX_UNMATCHED_KEY_LENGTH - 1)}😀tail`;
    expect(customerRefOf({ [key]: 1 }).keys).toEqual([
      `${"a".repeat(MAX_UNMATCHED_KEY_LENGTH - 1)}😀`,
    ]);
  });

  test("customer. types, also ones Kinde adds later", () => {
    expect(isCustomerEventType("customer.plan_changed")).toBe(true);
    expect(isCustomerEventType("customer.something_new")).toBe(true);
    expect(isCustomerEventType("user.updated")).toBe(false);
    expect(isCustomerEventType("customers.x")).toBe(false);
  });
});
