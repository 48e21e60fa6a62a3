import globals from "globals";
import pluginJs from "@eslint/js";
import tseslint from "typescript-eslint";
import convexPlugin from "@convex-dev/eslint-plugin";

// The plugin's recommended config only matches files under a `convex/` folder;
// the component lives in src/component, so its rules are applied there explicitly.
const convexRules = convexPlugin.configs.recommended[0].rules;

const sharedRules = {
  "@typescript-eslint/no-floating-promises": "error",
  "@typescript-eslint/no-unused-vars": [
    "error",
    { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
  ],
};

export default [
  { ignores: ["**/dist/**", "**/_generated/**", "node_modules/**", "*.config.{js,mjs,cjs,ts}"] },
  pluginJs.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: [
      "src/**/*.{ts,tsx}",
      "example/convex/**/*.{ts,tsx}",
      "test/**/*.{ts,tsx}",
      "bench/**/*.ts",
      "demo/**/*.ts",
    ],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        project: ["./tsconfig.test.json"],
        tsconfigRootDir: import.meta.dirname,
      },
      globals: globals.worker,
    },
    plugins: { "@convex-dev": convexPlugin },
    rules: {
      ...convexRules,
      "@convex-dev/no-filter-in-query": "error",
      ...sharedRules,
    },
  },
  {
    // The example's browser app.
    files: ["example/src/**/*.{ts,tsx}", "example/vite.config.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        project: ["./example/tsconfig.json"],
        tsconfigRootDir: import.meta.dirname,
      },
      globals: globals.browser,
    },
    rules: sharedRules,
  },
  {
    files: [
      "**/*.test.{ts,tsx}",
      "test/**",
      "src/testing/**",
      "src/test.ts",
      "bench/**",
      "demo/**",
    ],
    languageOptions: { globals: { ...globals.worker, ...globals.node } },
  },
  {
    // convex-kinde/react and its tests run in the browser.
    files: ["src/react/**", "**/*.test.tsx"],
    languageOptions: { globals: { ...globals.browser, ...globals.node } },
  },
  {
    files: ["scripts/**/*.{js,mjs}"],
    languageOptions: { globals: globals.node },
  },
];
