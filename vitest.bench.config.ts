import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

// `npm run bench` (bench/**/*.run.ts, never part of `npm test`): the tests' module
// alias, environment and inlined deps, since the bench drives the example app on
// convex-test exactly as the tests do. Only those settings are taken, so a test
// `include` added to vitest.config.ts can never pull the tests in here.
export default defineConfig({
  resolve: base.resolve,
  test: {
    environment: base.test?.environment,
    server: base.test?.server,
    onConsoleLog: base.test?.onConsoleLog,
    include: ["bench/**/*.run.ts"],
    // One file, one long "test": measurements, not assertions.
    testTimeout: 30 * 60_000,
    // The value-limit check after it (test/setup.ts) reads every document of its largest tenant:
    // 10,000 users and as many billing customers, too many for the default 10 s on a busy machine.
    hookTimeout: 5 * 60_000,
    fileParallelism: false,
  },
});
