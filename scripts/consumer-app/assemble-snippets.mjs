// Builds the consumer check's app from the code snippets of the README and the
// docs, in the order a reader meets them: a snippet for a file the app already
// has continues or replaces it, as its fence says, and the app is checked as it
// stands before a version no check has seen yet is replaced, and at the end.
// Pure: extract-snippets.mjs reads the Markdown and writes what this returns.
//
// Every ts/tsx/js fence says where it goes, in its info string:
//
//   ```ts title="convex/kinde.ts"              a file of the reader's app (new, or the first version)
//   ```ts title="convex/kinde.ts" continued    added to the end of that file; its imports go up with
//                                              the file's own. It may neither import a module the file
//                                              already imports nor declare a name the file declares
//                                              (TS2451 for the reader who appends it as printed)
//   ```ts title="convex/kinde.ts" replaces     the file's next version, whole; the prose before the
//                                              fence must say that it replaces the file
//   ```ts check="shapes/kindeUser.ts"          a shape or fragment with no place in the app, checked
//                                              at that path (the docs may add it to a title: a
//                                              variant of a file, checked beside it)
//   ```tsx skip="why"                          left out, with the reason printed on every run
//
// A titled snippet must name its file where the reader sees it (GitHub does not
// show the title): in the prose before it or in its first line.
import ts from "typescript";

const CODE_LANGUAGES = new Set(["ts", "tsx", "js", "jsx", "typescript"]);

/** The fenced blocks of a Markdown file: language, attributes, line, code, and the prose before it. */
export function fences(markdown) {
  const blocks = [];
  let open = null;
  let prose = [];
  markdown.split("\n").forEach((line, index) => {
    if (open === null) {
      const start = /^(`{3,})(.*)$/.exec(line);
      if (start) {
        open = { marker: start[1], info: start[2].trim(), line: index + 1, body: [], prose };
        prose = [];
      } else {
        prose.push(line);
      }
    } else if (line.startsWith(open.marker) && line.slice(open.marker.length).trim() === "") {
      blocks.push(open);
      open = null;
    } else {
      open.body.push(line);
    }
  });
  return blocks.map(({ info, line, body, prose }) => {
    const [language = "", ...rest] = info.split(/\s+/);
    const attributes = {};
    for (const match of rest.join(" ").matchAll(/(\w+)(?:="([^"]*)")?/g)) {
      attributes[match[1]] = match[2] ?? true;
    }
    return { language, attributes, line, code: body.join("\n") + "\n", prose: prose.join("\n") };
  });
}

/** The module specifiers a snippet imports and the top-level names it declares, with its import statements. */
export function declarationsOf(code, fileName) {
  const kind = /\.[jt]sx$/.test(fileName) ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, kind);
  const modules = [];
  const names = [];
  const imports = [];
  const bindingNames = (name) =>
    ts.isIdentifier(name)
      ? [name.text]
      : name.elements.flatMap((element) =>
          ts.isOmittedExpression(element) ? [] : bindingNames(element.name),
        );
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      modules.push(statement.moduleSpecifier.text.replace(/\.js$/, ""));
      imports.push({ start: statement.getStart(source), end: statement.getEnd() });
      const clause = statement.importClause;
      if (clause?.name) names.push(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.push(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings))
        names.push(...bindings.elements.map((element) => element.name.text));
    } else if (ts.isVariableStatement(statement)) {
      names.push(...statement.declarationList.declarations.flatMap((d) => bindingNames(d.name)));
    } else if (ts.isExportAssignment(statement)) {
      names.push("default");
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      const isDefault = statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
      names.push(isDefault ? "default" : statement.name.text);
    }
  }
  return { modules, names, imports };
}

/** Whether the reader is told which file a snippet is: in the prose before it, or its first line. */
const namesItsFile = (path, { prose, code }) => {
  const mentions = (text) => text.includes(path);
  return mentions(prose) || mentions(code.split("\n")[0]);
};

/** The typecheck projects of the consumer app (scripts/consumer-app/template) a file belongs to. */
export function projectOf(path) {
  if (path === "convex/auth.config.ts" || path.startsWith("shapes/")) return ".";
  if (path.startsWith("convex/")) return "convex";
  if (path.startsWith("src/")) return "src";
  return null;
}

/**
 * Assembles the app from `sources` ([{ name, markdown }], in reading order).
 * Returns the stages to check (each: every snippet-built file as it stands,
 * the projects to typecheck, and why the stage is checked there), the skipped
 * snippets and the problems, which fail the check.
 */
export function assemble(sources) {
  const files = new Map(); // path -> { base, hoisted: [], appended: [], origins: [], modules: Map, names: Map, checked }
  const stages = [];
  const skipped = [];
  const problems = [];

  const snapshot = (why) => {
    const contents = {};
    for (const [path, file] of files) {
      contents[path] = { origins: file.origins, code: render(path, file) };
      file.checked = true;
    }
    const projects = [...new Set(Object.keys(contents).map(projectOf))].filter(Boolean).sort();
    stages.push({ why, files: contents, projects });
  };
  const start = (path, where, code) => {
    const { modules, names } = declarationsOf(code, path);
    files.set(path, {
      base: code,
      hoisted: [],
      appended: [],
      origins: [where],
      modules: new Map(modules.map((m) => [m, where])),
      names: new Map(names.map((n) => [n, where])),
      checked: false,
    });
  };

  for (const { name: source, markdown } of sources) {
    for (const snippet of fences(markdown)) {
      const { language, attributes, line, code } = snippet;
      if (!CODE_LANGUAGES.has(language)) continue;
      const where = `${source}:${line}`;
      const { title, check, skip, continued, replaces } = attributes;
      if (typeof skip === "string") {
        skipped.push(`${where} (${skip})`);
        continue;
      }
      if (typeof title !== "string" && typeof check !== "string") {
        problems.push(`${where}: a \`${language}\` snippet needs title="…", check="…" or skip="…"`);
        continue;
      }
      if (typeof title === "string" && !namesItsFile(title, snippet)) {
        problems.push(
          `${where}: the reader is not told this is ${title} (GitHub does not show the title): name it in the text before the snippet or in its first line`,
        );
      }
      if (typeof check === "string") {
        if (typeof title === "string" && source === "README.md") {
          problems.push(
            `${where}: the README's snippets build one app: a second version of ${title} says \`continued\` or \`replaces\`, not check="…"`,
          );
        } else if (files.has(check)) {
          problems.push(`${where}: ${check} was already written by ${files.get(check).origins[0]}`);
        } else {
          start(check, where, code);
        }
        continue;
      }
      const file = files.get(title);
      if (continued) {
        if (!file) {
          problems.push(`${where}: continues ${title}, which no earlier snippet wrote`);
          continue;
        }
        const { modules, names, imports } = declarationsOf(code, title);
        for (const module of modules) {
          if (file.modules.has(module)) {
            problems.push(
              `${where}: continues ${title} but imports "${module}" again (${file.modules.get(module)} imports it): a reader would have to merge the two imports, so show the file whole with \`replaces\``,
            );
          }
          file.modules.set(module, where);
        }
        for (const name of names) {
          if (file.names.has(name)) {
            problems.push(
              `${where}: continues ${title} but declares \`${name}\` again (${file.names.get(name)} declared it; appended as printed: TS2451 "Cannot redeclare"): show the file whole with \`replaces\``,
            );
          }
          file.names.set(name, where);
        }
        let body = code;
        for (const { start: from, end } of [...imports].reverse()) {
          file.hoisted.unshift(code.slice(from, end));
          body = body.slice(0, from) + body.slice(end);
        }
        file.appended.push(body.replace(/^\s*\n/, ""));
        file.origins.push(where);
        file.checked = false;
      } else if (replaces) {
        if (!file) {
          problems.push(`${where}: replaces ${title}, which no earlier snippet wrote`);
          continue;
        }
        if (!/replac/i.test(snippet.prose) || !snippet.prose.includes(title)) {
          problems.push(
            `${where}: replaces ${title}: say so in the text before the snippet (that it replaces \`${title}\`), or the reader appends it`,
          );
        }
        if (!file.checked) snapshot(`before ${where} replaces ${title}`);
        start(title, where, code);
      } else if (file) {
        problems.push(
          `${where}: ${title} was already written by ${file.origins[0]}: say \`continued\` or \`replaces\` (and tell the reader which)`,
        );
      } else {
        start(title, where, code);
      }
    }
  }
  snapshot("the whole app");
  return { stages, skipped, problems };
}

/** A file's text: its base version with the continuations' imports after its own, then their code. */
function render(path, { base, hoisted, appended }) {
  if (hoisted.length === 0) return [base, ...appended].join("\n");
  const { imports } = declarationsOf(base, path);
  const at = imports.length > 0 ? imports[imports.length - 1].end : 0;
  const head = base.slice(0, at);
  const rest = base.slice(at);
  return [
    `${head}${head ? "\n" : ""}${hoisted.join("\n")}${head ? "" : "\n"}${rest}`,
    ...appended,
  ].join("\n");
}
