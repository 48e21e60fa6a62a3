// @vitest-environment node
/**
 * The types of `kinde.events(...)` handlers as a strict app compiles them. The
 * functions below are the fixture: `tsc -p tsconfig.test.json` checks them
 * with the repository's options (each `@ts-expect-error` must meet an error,
 * or it is one itself), and the test compiles this file again with what a
 * strict app adds, `noPropertyAccessFromIndexSignature` above all, under which
 * Kinde's untyped `data` is read with brackets and its published fields with dots.
 */
import { expect, test } from "vitest";
import { strictAppErrors } from "../strictTypes.test.helper.js";
import type { GenericDataModel } from "convex/server";
import type { Kinde } from "./index.js";
import type { JsonValue } from "../shared/unmirroredEvents.js";

declare const kinde: Kinde;

/** Each handler gets its own type's event: mirrored ones the change, the others Kinde's event. */
export function handlersTyped() {
  return kinde.events({
    "user.created": (_ctx, { user, origin }) => {
      const id: string = user.kindeId;
      return void [id, origin.kind];
    },
    "customer.plan_changed": (_ctx, { type, eventId, occurredAt, data }) => {
      const plan: JsonValue | undefined = data["plan_code"];
      const name: "customer.plan_changed" = type;
      return void [plan, name, eventId, occurredAt];
    },
    "user.authentication_failed": (_ctx, { data, ipAddress }) => {
      const id: string = data.user.id;
      const from: string | undefined = ipAddress;
      return void [id, from];
    },
    "subscriber.created": (_ctx, { data }) => {
      const userId: string | null | undefined = data.subscriber.user_id;
      return void userId;
    },
  });
}

/** A typo is not a new type: it does not compile. */
export function refusesATypo() {
  return kinde.events({
    // @ts-expect-error -- no such Kinde event type
    "customer.plan_chnaged": () => {},
  });
}

/** A mirrored type's handler hears the mirror's change, not Kinde's event and its data. */
export function refusesKindeDataOnAMirroredType() {
  return kinde.events({
    // @ts-expect-error -- `user.updated` carries the mirrored user, no `data`
    "user.updated": (_ctx, { data }) => void data,
  });
}

/** Kinde's untyped data is JSON, not `any`. */
export function untypedDataIsJson() {
  return kinde.events({
    "customer.payment_failed": (_ctx, { data }) => {
      // @ts-expect-error -- a JSON value is not a number until checked
      const amount: number = data["amount"];
      return void amount;
    },
  });
}

/** A type Kinde adds later, named in the second type argument. */
export function namesANewType() {
  return kinde.events<GenericDataModel, "customer.subscription_paused">({
    "customer.subscription_paused": (_ctx, { type, data }) => void [type, data["reason"]],
    "user.deleted": (_ctx, { kindeId }) => void kindeId,
  });
}

/** The second type argument takes only new `a.b` types. */
export function refusesOldOrMalformedNewTypes() {
  return [
    // @ts-expect-error -- mirrored: its handler is the mirror's
    kinde.events<GenericDataModel, "user.created">({}),
    // @ts-expect-error -- documented already
    kinde.events<GenericDataModel, "customer.plan_changed">({}),
    // @ts-expect-error -- not a Kinde event type
    kinde.events<GenericDataModel, "plan_changed">({}),
  ];
}

test("the handlers' types hold in a strict app", () => {
  const { options, errors } = strictAppErrors(import.meta.url);
  expect(options.noPropertyAccessFromIndexSignature).toBe(true);
  expect(errors).toEqual([]);
}, 60_000);
