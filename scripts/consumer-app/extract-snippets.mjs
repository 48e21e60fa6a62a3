#!/usr/bin/env node
// Writes the app the consumer check builds from the code snippets of README.md
// and docs/*.md (assemble-snippets.mjs says how, and what a fence must say):
// one directory per stage to check, each with every snippet-built file as it
// stands then, and stages.json listing them with the projects to typecheck.
// scripts/consumer-check.sh copies each stage over the app in turn.
//
// snippet-context/<path>.before and .after are prepended and appended to the
// file written at <path>: the imports a fragment takes for granted, or a
// type-level comparison with what the package exports.
//
// Usage: node extract-snippets.mjs <repo> <stages directory>
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { assemble } from "./assemble-snippets.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const [repo, out] = process.argv.slice(2);
if (!repo || !out) throw new Error("usage: extract-snippets.mjs <repo> <stages directory>");

const sources = [
  "README.md",
  ...readdirSync(join(repo, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
].map((name) => ({ name, markdown: readFileSync(join(repo, name), "utf8") }));

const { stages, skipped, problems } = assemble(sources);
const finalFiles = stages.at(-1).files;
for (const path of Object.keys(finalFiles)) {
  if (existsSync(join(here, "template", path)))
    problems.push(
      `${finalFiles[path].origins[0]}: ${path} is also a file of the consumer app's template`,
    );
}
if (problems.length > 0) {
  console.error(`README snippets:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}

const context = (path, suffix) => {
  const file = join(here, "snippet-context", `${path}.${suffix}`);
  return existsSync(file) ? readFileSync(file, "utf8") : "";
};
stages.forEach(({ files }, index) => {
  for (const [path, { origins, code }] of Object.entries(files)) {
    const file = join(out, String(index + 1), path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      `// From ${origins.join(", ")}.\n${context(path, "before")}${code}${context(path, "after")}`,
    );
  }
});
writeFileSync(
  join(out, "stages.json"),
  JSON.stringify(
    stages.map(({ why, projects }, index) => ({ dir: String(index + 1), why, projects })),
    null,
    2,
  ),
);
console.log(
  `${stages.length} stage(s) of ${Object.keys(finalFiles).length} files from the snippets of ${sources.map((s) => s.name).join(", ")}:\n  ${stages.map((s, i) => `${i + 1}. ${s.why} (${s.projects.join(", ")})`).join("\n  ")}\nskipped:\n  ${skipped.join("\n  ") || "none"}`,
);
