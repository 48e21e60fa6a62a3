import { describe, expect, test } from "vitest";
import {
  decodeUnmirroredEvent,
  encodeUnmirroredData,
  MAX_UNMIRRORED_DATA_BYTES,
  MAX_UNMIRRORED_DATA_DEPTH,
  UNMIRRORED_EVENT_TYPES,
  type UnmirroredDelivery,
} from "./unmirroredEvents.js";
import { isHandledType } from "./eventTypes.js";

const envelope = {
  eventId: "event_019591d50c957a3be1f04c2d9e86b5a1",
  occurredAt: 1_741_908_413_589,
};
/** What the component hands the hook for `data` of `type`. */
const delivery = (type: string, data: unknown): UnmirroredDelivery => ({
  type,
  ...envelope,
  data: encodeUnmirroredData(data),
});

describe("encodeUnmirroredData", () => {
  const tooLarge = (bytes: number) => ({
    omitted: `its data is ${bytes} bytes of JSON, more than the ${MAX_UNMIRRORED_DATA_BYTES} a handler receives (MAX_UNMIRRORED_DATA_BYTES)`,
  });

  test("counts UTF-8 bytes, not characters, against the maximum", () => {
    const ascii = "x".repeat(MAX_UNMIRRORED_DATA_BYTES - 2); // plus the two quotes
    expect(encodeUnmirroredData(ascii)).toEqual({ json: JSON.stringify(ascii) });
    expect(encodeUnmirroredData(`${ascii}x`)).toEqual(tooLarge(MAX_UNMIRRORED_DATA_BYTES + 1));
    // 3 bytes each in UTF-8: a third as many characters already pass it.
    const wide = "€".repeat(Math.ceil(MAX_UNMIRRORED_DATA_BYTES / 3));
    expect(wide.length).toBeLessThan(MAX_UNMIRRORED_DATA_BYTES);
    expect(encodeUnmirroredData(wide)).toEqual(tooLarge(3 * wide.length + 2));
  });

  test("data nested past the maximum depth is left out without recursing, however deep", () => {
    const nested = (depth: number) => {
      let value: object = {};
      for (let i = 1; i < depth; i++) value = i % 2 ? [value] : { a: value };
      return value;
    };
    expect(encodeUnmirroredData(nested(MAX_UNMIRRORED_DATA_DEPTH))).toHaveProperty("json");
    const deeper = {
      omitted: `its data nests deeper than ${MAX_UNMIRRORED_DATA_DEPTH} levels (MAX_UNMIRRORED_DATA_DEPTH)`,
    };
    expect(encodeUnmirroredData(nested(MAX_UNMIRRORED_DATA_DEPTH + 1))).toEqual(deeper);
    // Deeper than JSON.stringify itself can go.
    expect(() => JSON.stringify(nested(100_000))).toThrow(RangeError);
    expect(encodeUnmirroredData(nested(100_000))).toEqual(deeper);
  });

  test("escapes lone surrogates, so the text is a string Convex stores", () => {
    const encoded = encodeUnmirroredData({ name: "a\ud800b" });
    expect(encoded).toEqual({ json: '{"name":"a\\ud800b"}' });
    expect((encoded as { json: string }).json.isWellFormed()).toBe(true);
  });

  test("no data is sent as null", () => {
    expect(encodeUnmirroredData(undefined)).toEqual({ json: "null" });
  });
});

describe("decodeUnmirroredEvent", () => {
  test("gives back Kinde's data untouched, keys Convex refuses included", () => {
    const data = JSON.parse(
      '{"$type":"x","_id":1,"__proto__":{"a":[1,null,true]},"":""}',
    ) as object;
    const decoded = decodeUnmirroredEvent(delivery("customer.plan_changed", data));
    expect(decoded).toEqual({ event: { type: "customer.plan_changed", ...envelope, data } });
    expect(Object.getPrototypeOf((decoded as { event: { data: object } }).event.data)).toBe(
      Object.prototype,
    );
  });

  test("too large, not an object: the reason, and no event", () => {
    const big = delivery("customer.plan_changed", { blob: "x".repeat(MAX_UNMIRRORED_DATA_BYTES) });
    expect(decodeUnmirroredEvent(big)).toEqual({
      error: `its data is ${MAX_UNMIRRORED_DATA_BYTES + 11} bytes of JSON, more than the ${MAX_UNMIRRORED_DATA_BYTES} a handler receives (MAX_UNMIRRORED_DATA_BYTES); the handler did not run`,
    });
    for (const [data, what] of [
      [null, "null"],
      [[1], "an array"],
      ["text", "a string"],
      [7, "a number"],
    ] as const) {
      expect(decodeUnmirroredEvent(delivery("customer.plan_changed", data))).toEqual({
        error: `its data is ${what}, not a JSON object; the handler did not run`,
      });
    }
  });

  test("a documented type must carry what Kinde publishes; the reason names the field, not its value", () => {
    const ok = { user: { id: "kp_1" }, passkey: { id: "pk_1", name: null }, extra: 1 };
    expect(decodeUnmirroredEvent(delivery("passkey.added", ok))).toMatchObject({
      event: { data: ok },
    });
    const bad = decodeUnmirroredEvent(
      delivery("subscriber.created", { subscriber: { id: 42, email: "jane@example.com" } }),
    );
    expect(bad).toEqual({
      error:
        "its data does not have the shape Kinde publishes for subscriber.created (Validator error for subscriber.id: Expected `string`, got `number`); the handler did not run",
    });
    // Any object for a type whose shape Kinde does not publish.
    expect(decodeUnmirroredEvent(delivery("customer.new_type", {}))).toMatchObject({
      event: { data: {} },
    });
  });
});

test("the documented unmirrored types are exactly those the mirror does not handle", () => {
  expect(UNMIRRORED_EVENT_TYPES.filter((type) => isHandledType(type))).toEqual([]);
  expect(new Set(UNMIRRORED_EVENT_TYPES).size).toBe(UNMIRRORED_EVENT_TYPES.length);
});
