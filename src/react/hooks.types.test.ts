// @vitest-environment node
/**
 * The hooks' argument types as a strict app compiles them. The functions below
 * are the fixture: `tsc -p tsconfig.test.json` checks them with the repository's
 * options, and the test compiles this file again with what a strict app adds,
 * `exactOptionalPropertyTypes` above all, under which `orgCode?: string` would
 * refuse the `string | undefined` a component's own optional prop gives it
 * (TS2379), though the generated `can` accepts it.
 */
import { expect, test } from "vitest";
import { strictAppErrors } from "../strictTypes.test.helper.js";
import { useHasEntitlement, useHasPermission, useHasRole, type KindeUserQueries } from "./hooks.js";

/**
 * `api.kindeUser` of an app that exports `kinde.userQueries()`, typed as its generated `api` types
 * it (the consumer check passes the real one, from the README's PublishButton).
 */
declare const api: { kindeUser: KindeUserQueries };

/** A component passes on its own optional `orgCode` prop, as the README's PublishButton may. */
export function checksForAnOptionalOrgCode({ orgCode }: { orgCode?: string }) {
  return [
    useHasPermission(api.kindeUser, "publish:docs", { orgCode }),
    useHasRole(api.kindeUser, "admin", { orgCode }),
    useHasPermission(api.kindeUser, "publish:docs"),
    useHasEntitlement(api.kindeUser, "csv-export", { orgCode }),
    useHasEntitlement(api.kindeUser, "csv-export"),
  ];
}

/** `can` takes the same `undefined`, as the generated query does; the hooks must not be stricter. */
export function canTakes(orgCode: string | undefined) {
  const args: (typeof api.kindeUser.can)["_args"] = { permission: "publish:docs", orgCode };
  return args;
}

/** Still typed: were the hooks' types lost (`any`), this directive would be unused, an error. */
export function refusesANumber() {
  // @ts-expect-error -- an organization is named by its code, a string
  return useHasPermission(api.kindeUser, "publish:docs", { orgCode: 42 });
}

/** The entitlement hook is typed too: a feature is named by its code, a string. */
export function refusesAFeatureNumber() {
  // @ts-expect-error -- a feature is named by its code, a string
  return useHasEntitlement(api.kindeUser, 7);
}

test("the hooks accept an orgCode that may be undefined under exactOptionalPropertyTypes", () => {
  const { options, errors } = strictAppErrors(import.meta.url);
  expect(options.exactOptionalPropertyTypes).toBe(true);
  expect(errors).toEqual([]);
}, 60_000);
