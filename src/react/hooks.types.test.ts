// @vitest-environment node
/**
 * The hooks' argument types as a strict app compiles them. The functions below
 * are the fixture: `tsc -p tsconfig.test.json` checks them with the repository's
 * options, and the test compiles this file again with what a strict app adds,
 * `exactOptionalPropertyTypes` above all, under which `orgCode?: string` would
 * refuse the `string | undefined` a component's own optional prop gives it
 * (TS2379), though the generated `can` accepts it.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { expect, test } from "vitest";
import { useHasPermission, useHasRole, type KindeUserQueries } from "./hooks.js";

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

/** What a strict app (scripts/consumer-app's tsconfig) sets beyond the repository's options. */
const STRICT_APP_OPTIONS: ts.CompilerOptions = {
  exactOptionalPropertyTypes: true,
  noPropertyAccessFromIndexSignature: true,
};

test("the hooks accept an orgCode that may be undefined under exactOptionalPropertyTypes", () => {
  const thisFile = fileURLToPath(import.meta.url);
  const root = join(dirname(thisFile), "..", "..");
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, "tsconfig.test.json"),
    STRICT_APP_OPTIONS,
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => expect.fail(String(d.messageText)) },
  );
  expect(config?.options.exactOptionalPropertyTypes).toBe(true);
  const program = ts.createProgram({ rootNames: [thisFile], options: config!.options });
  const file = program.getSourceFile(thisFile)!;
  const errors = [
    ...program.getSyntacticDiagnostics(file),
    ...program.getSemanticDiagnostics(file),
  ].map((d) => {
    const { line } = file.getLineAndCharacterOfPosition(d.start ?? 0);
    return `line ${line + 1}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
  expect(errors).toEqual([]);
}, 60_000);
