#!/usr/bin/env node
// Writes the TypeScript snippets of README.md and docs/*.md into the consumer
// check's scratch app, so that what the README shows is what gets typechecked
// and run. Every ts/tsx/js fence must say where it goes, in its info string:
//
//   ```ts title="convex/kinde.ts"                 the file of the reader's app; written there
//   ```ts title="convex/kinde.ts" continued       appended to the file an earlier snippet wrote
//   ```ts title="convex/http.ts" check="convex/httpQuickStart.ts"
//                                                 a second version of a file (or a fragment of
//                                                 one): written to the `check` path instead
//   ```ts check="src/docs/kindeUser.ts"           a shape with no file of its own
//   ```tsx skip="why it cannot be checked here"   left out, with the reason printed
//
// A fence with none of these fails the check, so a new snippet cannot go unchecked.
// snippet-context/<path>.before and .after are prepended and appended to the
// snippet written at <path>: the imports a fragment takes for granted, or a
// type-level comparison with what the package exports.
//
// Usage: node extract-snippets.mjs <repo> <app>
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const CODE_LANGUAGES = new Set(["ts", "tsx", "js", "jsx", "typescript"]);
const here = dirname(fileURLToPath(import.meta.url));
const [repo, app] = process.argv.slice(2);
if (!repo || !app) throw new Error("usage: extract-snippets.mjs <repo> <app>");

const sources = [
  "README.md",
  ...readdirSync(join(repo, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
];

/** The fenced blocks of a Markdown file, with their info string's language and attributes. */
function fences(markdown) {
  const blocks = [];
  let open = null;
  markdown.split("\n").forEach((line, index) => {
    if (open === null) {
      const start = /^(`{3,})(.*)$/.exec(line);
      if (start) open = { marker: start[1], info: start[2].trim(), line: index + 1, body: [] };
    } else if (line.startsWith(open.marker) && line.slice(open.marker.length).trim() === "") {
      blocks.push(open);
      open = null;
    } else {
      open.body.push(line);
    }
  });
  return blocks.map(({ info, line, body }) => {
    const [language = "", ...rest] = info.split(/\s+/);
    const attributes = {};
    for (const match of rest.join(" ").matchAll(/(\w+)(?:="([^"]*)")?/g)) {
      attributes[match[1]] = match[2] ?? true;
    }
    return { language, attributes, line, code: body.join("\n") + "\n" };
  });
}

const written = new Map();
const skipped = [];
const problems = [];
for (const source of sources) {
  for (const { language, attributes, line, code } of fences(
    readFileSync(join(repo, source), "utf8"),
  )) {
    if (!CODE_LANGUAGES.has(language)) continue;
    const where = `${source}:${line}`;
    if (typeof attributes.skip === "string") {
      skipped.push(`${where} (${attributes.skip})`);
      continue;
    }
    const target = attributes.check ?? attributes.title;
    if (typeof target !== "string") {
      problems.push(`${where}: a \`${language}\` snippet needs title="…", check="…" or skip="…"`);
    } else if (attributes.continued) {
      if (!written.has(target))
        problems.push(`${where}: continues ${target}, which no earlier snippet wrote`);
      else written.get(target).push({ where, code });
    } else if (written.has(target)) {
      problems.push(
        `${where}: ${target} was already written by ${written.get(target)[0].where}; use check="…" for a second version`,
      );
    } else {
      written.set(target, [{ where, code }]);
    }
  }
}

const context = (path, suffix) => {
  const file = join(here, "snippet-context", `${path}.${suffix}`);
  return existsSync(file) ? readFileSync(file, "utf8") : "";
};
for (const [path, parts] of written) {
  const file = join(app, path);
  if (existsSync(file))
    problems.push(`${parts[0].where}: ${path} is also a file of the consumer app's template`);
  const origin = parts.map((part) => part.where).join(", ");
  const body = parts.map((part) => part.code).join("\n");
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `// From ${origin}.\n${context(path, "before")}${body}${context(path, "after")}`,
  );
}
if (problems.length > 0) {
  console.error(`README snippets:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(
  `wrote ${written.size} files of ${relative(process.cwd(), app) || "."} from the snippets of ${sources.join(", ")}; skipped:\n  ${skipped.join("\n  ") || "none"}`,
);
