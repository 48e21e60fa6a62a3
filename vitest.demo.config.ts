/**
 * `npm run demo`: the offline tour in demo/tour.demo.ts. It runs under vitest
 * only because the example app and the test kit need Vite's transforms
 * (TypeScript, import.meta.glob); its output is the tour's own narration, not a
 * test report. vitest still sets the exit code: non-zero if any step failed.
 */
import type { SerializedError } from "vitest";
import { defineConfig } from "vitest/config";
import type { Reporter, TestModule } from "vitest/node";
import base from "./vitest.config.js";

// The tour runs in a worker whose stdout is a pipe; colours and width are decided here, on the
// real terminal.
const color =
  process.env.NO_COLOR === undefined &&
  (process.env.FORCE_COLOR !== undefined
    ? process.env.FORCE_COLOR !== "0"
    : !!process.stdout.isTTY);

/** The component's own refusal logs (as in vitest.config.ts): the tour shows each answer itself. */
const keepLog = (log: string) => !log.includes("[convex-kinde]");

/**
 * Prints what the tour writes, as it is, and on failure the errors; no
 * banner, no per-file headers, no summary (the tour prints its own).
 */
const tourReporter: Reporter = {
  onUserConsoleLog(log) {
    // vitest's own reporters apply `onConsoleLog`; a custom one must do it itself.
    if (!keepLog(log.content)) return;
    (log.type === "stderr" ? process.stderr : process.stdout).write(log.content);
  },
  onTestRunEnd(testModules, unhandledErrors, reason) {
    if (reason === "passed") return;
    const errors: SerializedError[] = [...unhandledErrors];
    for (const module of testModules) {
      errors.push(...module.errors());
      for (const test of module.children.allTests()) errors.push(...(test.result().errors ?? []));
    }
    for (const error of errors) printError(error);
    if (errors.length === 0 && !testModules.some(ran)) {
      process.stderr.write("\nThe tour did not run (no demo/*.demo.ts collected).\n");
    }
    process.stderr.write("\nThe tour failed: see above.\n");
  },
};

const ran = (module: TestModule) => [...module.children.allTests()].length > 0;

function printError(error: SerializedError & { diff?: string }) {
  const frames = (error.stacks ?? [])
    .filter((frame) => !frame.file.includes("node_modules"))
    .map((frame) => `    at ${frame.file}:${frame.line}:${frame.column}`);
  const text = [`\n${error.name ?? "Error"}: ${error.message}`, error.diff, ...frames.slice(0, 5)]
    .filter(Boolean)
    .join("\n");
  // eslint-disable-next-line no-control-regex -- vitest colors its diffs whatever the terminal
  process.stderr.write((color ? text : text.replace(/\x1b\[[0-9;]*m/g, "")) + "\n");
}

// The tests' module alias, environment and inlined deps (as vitest.bench.config.ts
// takes them): the tour drives the example app on convex-test exactly as the tests do.
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ["demo/**/*.demo.ts"],
    environment: base.test?.environment,
    server: base.test?.server,
    reporters: [tourReporter],
    onConsoleLog: keepLog,
    env: {
      CONVEX_KINDE_DEMO_COLOR: color ? "1" : "0",
      CONVEX_KINDE_DEMO_COLUMNS: String(process.stdout.columns ?? ""),
    },
    testTimeout: 60_000,
  },
});
