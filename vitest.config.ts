import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // The example imports the package by name; test the source, not a possibly stale dist/.
    // (scripts/consumer-check.sh tests the packed package itself.)
    alias: [
      {
        find: /^convex-kinde\/react$/,
        replacement: fileURLToPath(new URL("./src/react/index.ts", import.meta.url)),
      },
      {
        find: /^convex-kinde$/,
        replacement: fileURLToPath(new URL("./src/client/index.ts", import.meta.url)),
      },
    ],
  },
  test: {
    // Closest to Convex's V8 isolate: web APIs, no Node globals in the functions under test.
    environment: "edge-runtime",
    server: { deps: { inline: ["convex-test"] } },
    // src/component/setup.test.ts holds the component tests' module glob, not tests; the
    // consumer app is tested by scripts/consumer-check.sh against the packed package.
    exclude: [...configDefaults.exclude, "src/component/setup.test.ts", "scripts/consumer-app/**"],
    // The webhook logs every refusal; tests that care assert on it, the rest stay readable.
    onConsoleLog: (log) => !log.includes("[convex-kinde]"),
    // One test file per core at a time (vitest's default keeps a core for itself: on CI's
    // two, one file at a time). Files share nothing: each starts its own servers on port 0
    // and writes only to fresh temporary folders.
    maxWorkers: "100%",
    // A test's time is no assertion: sharing the cores, a 2-second test can take 5. The
    // timeout only stops a hang.
    testTimeout: 30_000,
  },
});
