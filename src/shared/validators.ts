/** Helpers for building the component's tagged-union validators. */
import { v, type PropertyValidators, type Validator, type VUnion } from "convex/values";

/**
 * Objects of any of `types` with `fields`. Types that carry the same data
 * share one union member, which keeps the validators small: Convex checks
 * them on every call (and convex-test re-derives them each time).
 */
export const ofTypes = <T extends string, F extends PropertyValidators>(
  types: [T, ...T[]],
  fields: F,
) =>
  v.object({
    type: types.length === 1 ? v.literal(types[0]) : v.union(...types.map((t) => v.literal(t))),
    ...fields,
  });

/** Splits union members whose `type` is a union into one member per type. */
type OneMemberPerType<E> = E extends { type: infer T }
  ? T extends unknown
    ? { [K in keyof E]: K extends "type" ? T : E[K] }
    : never
  : never;

/**
 * `validator`, typed one member per event type, so that `Extract` and
 * `switch (event.type)` narrow to a single event. The values it accepts do
 * not change: a member whose `type` is a union is exactly the union of one
 * member per type.
 */
export const oneMemberPerType = <
  V extends VUnion<unknown, Validator<unknown, "required", string>[]>,
>(
  validator: V,
) =>
  validator as unknown as VUnion<
    OneMemberPerType<V["type"]>,
    V["members"],
    "required",
    V["fieldPaths"]
  >;
