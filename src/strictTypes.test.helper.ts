/**
 * For type-level tests (`*.types.test.ts`): compiles one fixture file with
 * the repository's test options plus what a strict app adds, and lists the
 * errors. Not a test file itself, and not shipped.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** What a strict app (scripts/consumer-app's tsconfig) sets beyond the repository's options. */
export const STRICT_APP_OPTIONS: ts.CompilerOptions = {
  exactOptionalPropertyTypes: true,
  noPropertyAccessFromIndexSignature: true,
};

/** The errors of the file at `fileUrl` compiled as a strict app compiles it, one line each. */
export function strictAppErrors(fileUrl: string): {
  options: ts.CompilerOptions;
  errors: string[];
} {
  const thisFile = fileURLToPath(fileUrl);
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, "tsconfig.test.json"),
    STRICT_APP_OPTIONS,
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(String(d.messageText));
      },
    },
  );
  const program = ts.createProgram({ rootNames: [thisFile], options: config!.options });
  const file = program.getSourceFile(thisFile)!;
  const errors = [
    ...program.getSyntacticDiagnostics(file),
    ...program.getSemanticDiagnostics(file),
  ].map((d) => {
    const { line } = file.getLineAndCharacterOfPosition(d.start ?? 0);
    return `line ${line + 1}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
  return { options: config!.options, errors };
}
