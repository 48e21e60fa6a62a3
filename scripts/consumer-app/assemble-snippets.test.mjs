// What the consumer check refuses in a README, and how it assembles one that
// holds: `node --test scripts/consumer-app/` (scripts/consumer-check.sh runs it
// first). Each README here is a few lines of Markdown, as a reader meets them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assemble } from "./assemble-snippets.mjs";

const fence = (info, code) => `\`\`\`${info}\n${code}\n\`\`\``;
const readme = (...parts) => [{ name: "README.md", markdown: parts.join("\n\n") }];

const kindeTs = fence(
  'ts title="convex/kinde.ts"',
  [
    'import { Kinde } from "convex-kinde";',
    'import { components } from "./_generated/api";',
    "",
    "export const kinde = new Kinde(components.kinde);",
    "export const backfill = kinde.backfillAction();",
  ].join("\n"),
);

/** The README's `convex/kinde.ts`, then a snippet that continues it with `code`. */
const continuingKindeTs = (code) =>
  assemble(
    readme(
      "In `convex/kinde.ts`:",
      kindeTs,
      "Add to `convex/kinde.ts`:",
      fence('ts title="convex/kinde.ts" continued', code),
    ),
  );

test("a continuation that declares a name again is refused (TS2451 for the reader)", () => {
  const { problems } = continuingKindeTs(
    "export const backfill = kinde.backfillAction({ onEvent });",
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0], /README\.md:\d+: continues convex\/kinde\.ts but declares `backfill`/);
  assert.match(problems[0], /TS2451/);
});

test("a continuation that imports a module the file imports is refused", () => {
  const { problems } = continuingKindeTs(
    'import { internal } from "./_generated/api.js";\nexport const hook = internal;',
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0], /imports "\.\/_generated\/api" again/);
});

test("a continuation's imports go up with the file's own, its code at the end", () => {
  const { problems, stages } = continuingKindeTs(
    'import { v } from "convex/values";\n\nexport const args = { kindeId: v.string() };',
  );
  assert.deepEqual(problems, []);
  const lines = stages.at(-1).files["convex/kinde.ts"].code.split("\n");
  assert.deepEqual(lines.slice(0, 3), [
    'import { Kinde } from "convex-kinde";',
    'import { components } from "./_generated/api";',
    'import { v } from "convex/values";',
  ]);
  assert.equal(lines.filter((line) => line.startsWith("import")).length, 3);
  assert.equal(lines.at(-2), "export const args = { kindeId: v.string() };");
});

test("a second version must say continued or replaces, and the text must say it replaces", () => {
  const second = fence('ts title="convex/kinde.ts"', "export const x = 1;");
  assert.match(
    assemble(readme("In `convex/kinde.ts`:", kindeTs, "Then `convex/kinde.ts`:", second))
      .problems[0],
    /already written by README\.md:\d+: say `continued` or `replaces`/,
  );
  const silent = fence('ts title="convex/kinde.ts" replaces', "export const x = 1;");
  assert.match(
    assemble(readme("In `convex/kinde.ts`:", kindeTs, "Now `convex/kinde.ts` reads:", silent))
      .problems[0],
    /replaces convex\/kinde\.ts: say so in the text before the snippet/,
  );
  assert.deepEqual(
    assemble(readme("In `convex/kinde.ts`:", kindeTs, "This replaces `convex/kinde.ts`:", silent))
      .problems,
    [],
  );
});

test("the README's snippets build one app: no second version at a side path, no untold file", () => {
  const { problems } = assemble(
    readme(
      kindeTs,
      "Or `convex/kinde.ts` could be:",
      fence('ts title="convex/kinde.ts" check="convex/kinde2.ts"', "export const x = 1;"),
      fence("ts", "export const y = 1;"),
    ),
  );
  assert.equal(problems.length, 3);
  assert.match(problems[0], /the reader is not told this is convex\/kinde\.ts/);
  assert.match(problems[1], /build one app: a second version of convex\/kinde\.ts/);
  assert.match(problems[2], /needs title="…", check="…" or skip="…"/);
});

test("the app is checked before a version no stage has seen is replaced, and at the end", () => {
  const http = (version) =>
    fence(
      `ts title="convex/http.ts"${version > 1 ? " replaces" : ""}`,
      `export default ${version};`,
    );
  const { problems, stages } = assemble(
    readme(
      "In `convex/kinde.ts`:",
      kindeTs,
      "In `convex/http.ts`:",
      http(1),
      "This replaces `convex/kinde.ts`:",
      fence('ts title="convex/kinde.ts" replaces', "export const kinde = 2;"),
      // http.ts v1 was checked in stage 1: replacing it needs no stage of its own.
      "This replaces `convex/http.ts`:",
      http(2),
      "This replaces `convex/http.ts` again:",
      http(3),
      "In `src/App.tsx`:",
      fence('tsx title="src/App.tsx"', "export const App = () => <main />;"),
    ),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(
    stages.map(({ why, projects }) => [why.replace(/:\d+/, ":n"), projects]),
    [
      ["before README.md:n replaces convex/kinde.ts", ["convex"]],
      ["before README.md:n replaces convex/http.ts", ["convex"]],
      ["the whole app", ["convex", "src"]],
    ],
  );
  assert.equal(stages[0].files["convex/http.ts"].code, "export default 1;\n");
  assert.equal(stages[1].files["convex/http.ts"].code, "export default 2;\n");
  assert.equal(stages[2].files["convex/http.ts"].code, "export default 3;\n");
});
