#!/usr/bin/env node
// Every public method and function of the packed package is listed in the
// README's "Every method" and has its example in docs/api.md: run in the
// consumer app, so what it lists is what the installed tarball exports.
//
// Usage (from the consumer app): node scripts/check-api-listed.mjs <repo>
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as client from "convex-kinde";
import * as react from "convex-kinde/react";

const [repo] = process.argv.slice(2);
if (!repo) throw new Error("usage: check-api-listed.mjs <repo>");

const functionsOf = (module) =>
  Object.entries(module)
    .filter(([, value]) => typeof value === "function")
    .map(([name]) => name);
const publicNames = [
  ...Object.getOwnPropertyNames(client.Kinde.prototype).filter((name) => name !== "constructor"),
  ...functionsOf(client),
  ...functionsOf(react),
];

const readme = readFileSync(join(repo, "README.md"), "utf8");
const start = readme.indexOf("### Every method");
if (start < 0) throw new Error('README.md has no "### Every method" section');
const listing = readme.slice(start, readme.indexOf("\n#", start + 1));
// The code of docs/api.md's examples: a name in a table there is not an example.
const examples = [
  ...readFileSync(join(repo, "docs", "api.md"), "utf8").matchAll(/^```\w+.*\n([\s\S]*?)^```$/gm),
]
  .map((match) => match[1])
  .join("\n");

// Named in code: `name`, `name(…)`, `new Name(…)` or `name.method`.
const names = (text, name) => new RegExp(`\`(new )?${name}[(.\`]`).test(text);
const missing = [
  ...publicNames
    .filter((name) => !names(listing, name))
    .map((n) => `README.md, Every method: ${n}`),
  ...publicNames
    .filter((name) => !new RegExp(`\\b${name}\\b`).test(examples))
    .map((n) => `docs/api.md, no example: ${n}`),
];
if (missing.length > 0) {
  console.error(`public functions not listed:\n  ${missing.join("\n  ")}`);
  process.exit(1);
}
console.log(
  `all ${publicNames.length} public methods and functions are listed in the README and docs/api.md`,
);
