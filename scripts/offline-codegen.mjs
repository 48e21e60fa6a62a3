#!/usr/bin/env node
// Offline `convex codegen`: runs the REAL Convex CLI against a tiny local
// stand-in for a deployment, so `_generated/` can be regenerated (and checked
// for drift in CI) on machines that cannot reach a Convex deployment.
//
//   node scripts/offline-codegen.mjs --component-dir ./src/component  # component
//   node scripts/offline-codegen.mjs                                  # app (convex.json "functions")
//   (any further args are passed through to `convex codegen`)
//
// Why this works: `convex codegen` writes dataModel/server/stub api files
// locally, bundles every module with esbuild, then asks the deployment to
// evaluate the bundles (POST /api/deploy2/start_push). The response's
// `analysis` (function kinds, visibility, args/returns validator JSON, and each
// definition's child components) is what `component.ts` and the app's
// `components` typing are generated from. This stand-in answers the only two
// calls codegen makes (checked against convex 1.48.0, dist/esm/cli/lib/
// components.js, config.js pullConfig, deploy2.js pushCode, deployApi/*.js):
//   POST /api/get_config_hashes     -> nothing cached, so every module is sent
//   POST /api/deploy2/start_push    -> evaluate the bundles in Node, return analysis
// Nothing is pushed anywhere. The wire format is the CLI's; re-verify after
// every `convex` upgrade (regenerate and `git diff` the `_generated` folders).
//
// Limits: only the codegen-relevant part of the analysis is produced. Schemas,
// HTTP routes, crons, auth and index diffs are not analyzed, so convex.json
// `codegen.staticDataModel: true` is not supported. Order matters for the app:
// it imports the component through the package name, so build `dist/` first.

import http from "node:http";
import zlib from "node:zlib";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cliArgs = process.argv.slice(2);
const log = (msg) => process.stderr.write(`[offline-codegen] ${msg}\n`);

// ---- Evaluation of the pushed bundles (what the backend would do in its isolate) ----

// The backend stores validator objects in sorted maps (Rust BTreeMap, i.e.
// UTF-8 byte order), so field order in the generated types is alphabetical,
// not declaration order. Reproduce that for every `{type: "object"}` node.
const byUtf8 = (a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
function sortValidator(node) {
  if (Array.isArray(node)) return node.map(sortValidator);
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = sortValidator(v);
  if (out.type === "object" && out.value && typeof out.value === "object") {
    const fields = Object.keys(out.value).sort(byUtf8);
    out.value = Object.fromEntries(fields.map((f) => [f, out.value[f]]));
  }
  return out;
}
// A function without a `returns` validator exports "null"; the backend reports null.
function normalizeValidatorJson(json) {
  const parsed = typeof json === "string" ? JSON.parse(json) : null;
  return parsed === null ? null : JSON.stringify(sortValidator(parsed));
}

function writeFile(file, contents) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, contents);
}

// Import one bundled module; error messages name the module that failed.
async function importModule(file, label) {
  try {
    return await import(pathToFileURL(file).href);
  } catch (err) {
    throw new Error(`evaluating ${label} failed: ${err?.message ?? err}`, { cause: err });
  }
}

// Read the registered Convex functions a module exports. Registered functions
// carry flags set by convex/server (registration_impl.js): isQuery/isMutation/
// isAction, isPublic/isInternal, and exportArgs()/exportReturns() that return
// the validator JSON. httpActions (isHttp), routers, crons and plain values
// are not callable functions and are skipped, like the backend does.
function analyzeModule(mod) {
  const functions = [];
  for (const [name, fn] of Object.entries(mod)) {
    if (fn === null || (typeof fn !== "function" && typeof fn !== "object")) continue;
    const udfType = ["Query", "Mutation", "Action"].find((t) => fn[`is${t}`]);
    if (fn.isHttp || udfType === undefined) continue;
    const kind = ["Public", "Internal"].find((k) => fn[`is${k}`])?.toLowerCase();
    const visibility = kind ? { kind } : null;
    const args =
      typeof fn.exportArgs === "function" ? normalizeValidatorJson(fn.exportArgs()) : null;
    const returns =
      typeof fn.exportReturns === "function" ? normalizeValidatorJson(fn.exportReturns()) : null;
    functions.push({ name, pos: null, udfType, visibility, args, returns });
  }
  return { functions, httpRoutes: null, cronSpecs: null, sourceMapped: null };
}

// A component exposes its public functions, one branch per module path segment:
// users.js:get -> { users: { get: "_reference/function/users:get" } }.
// Internal functions are not exported (and so are absent from component.ts).
function buildExports(functionsByModule) {
  const root = new Map();
  for (const [modulePath, { functions }] of Object.entries(functionsByModule)) {
    const udfModule = modulePath.replace(/\.js$/, "");
    for (const f of functions) {
      if (f.visibility?.kind !== "public") continue;
      let node = root;
      for (const segment of udfModule.split("/")) {
        if (!node.has(segment)) node.set(segment, new Map());
        node = node.get(segment);
      }
      node.set(f.name, `_reference/function/${udfModule}:${f.name}`);
    }
  }
  const toBranch = (map) => ({
    type: "branch",
    branch: [...map.keys()].sort(byUtf8).map((k) => {
      const v = map.get(k);
      return [k, typeof v === "string" ? { type: "leaf", leaf: v } : toBranch(v)];
    }),
  });
  return toBranch(root);
}

// Definition bundles (convex.config.js) import their children as
// `./_componentDeps/<base64url(definitionPath)>`, which the backend supplies.
// Rewrite those imports to stub files that export what `app.use()` reads:
// the child's definition path and its default name (from defineComponent).
const COMPONENT_DEP = /(["'])\.\/_componentDeps\/([A-Za-z0-9_-]+)\1/g;
function writeDefinitionWithStubs(dir, source, childNames) {
  const rewritten = source.replace(COMPONENT_DEP, (_m, q, id) => {
    const childPath = Buffer.from(id, "base64url").toString("utf8");
    const stub = { componentDefinitionPath: childPath, defaultName: childNames.get(childPath) };
    writeFile(
      path.join(dir, "_componentDeps", `${id}.js`),
      `export default ${JSON.stringify(stub)};\n`,
    );
    return `${q}./_componentDeps/${id}.js${q}`;
  });
  writeFile(path.join(dir, "convex.config.js"), rewritten);
  return path.join(dir, "convex.config.js");
}

async function analyzePush(request, workDir) {
  const app = request.appDefinition;
  if (app.unchangedModuleHashes?.length) {
    throw new Error("unexpected unchangedModuleHashes (the stand-in reports nothing cached)");
  }
  // "" is the root (app) definition path; components use paths relative to it.
  const defs = new Map([
    ["", { ...app, modules: app.changedModules, isApp: true }],
    ...request.componentDefinitions.map((c) => [c.definitionPath, { ...c, modules: c.functions }]),
  ]);

  // Children first, so a parent's stubs can carry the child's name.
  const order = [];
  const state = new Map();
  const visit = (p) => {
    if (state.get(p) === "done") return;
    if (state.get(p) === "visiting") throw new Error(`component dependency cycle at ${p}`);
    state.set(p, "visiting");
    for (const dep of defs.get(p)?.dependencies ?? []) if (defs.has(dep)) visit(dep);
    state.set(p, "done");
    order.push(p);
  };
  for (const p of defs.keys()) visit(p);

  const childNames = new Map();
  const analysis = {};
  let index = 0;
  for (const defPath of order) {
    const def = defs.get(defPath);
    const label = defPath === "" ? "app" : defPath;
    const dir = path.join(workDir, `def${index++}`);

    // 1. The definition: default.export() gives definitionType, childComponents,
    //    httpMounts, exports and envVars. An app without convex.config has none.
    let metadata = {
      definitionType: { type: "app" },
      childComponents: [],
      httpMounts: {},
      exports: { type: "branch", branch: [] },
    };
    if (def.definition) {
      const file = writeDefinitionWithStubs(dir, def.definition.source, childNames);
      const mod = await importModule(file, `${label}/convex.config.js`);
      if (typeof mod.default?.export !== "function") {
        throw new Error(
          `${label}/convex.config.js: default export is not a component/app definition`,
        );
      }
      metadata = mod.default.export();
    }
    if (!def.isApp) childNames.set(defPath, metadata.name ?? metadata.definitionType?.name);

    // 2. The function modules. Write them all (they import shared chunks under
    //    _deps/), then evaluate the entry points only.
    const modulesDir = path.join(dir, "modules");
    for (const m of def.modules) writeFile(path.join(modulesDir, m.path), m.source);
    const functions = {};
    for (const m of def.modules) {
      if (m.path.startsWith("_deps/")) continue;
      const canonical = m.path.endsWith(".js") ? m.path : `${m.path}.js`;
      functions[canonical] = analyzeModule(
        await importModule(path.join(modulesDir, m.path), `${label}/${m.path}`),
      );
    }

    analysis[defPath] = {
      definition: {
        ...metadata,
        path: defPath,
        exports: def.isApp ? metadata.exports : buildExports(functions),
      },
      schema: null,
      functions,
      udfConfig: {
        serverVersion: app.udfServerVersion,
        importPhaseRngSeed: null,
        importPhaseUnixTimestamp: null,
      },
    };
  }

  // The instantiated component tree; the CLI validates its shape only.
  const checked = (defPath, componentPath) => ({
    definitionPath: defPath,
    componentPath,
    args: {},
    childComponents: Object.fromEntries(
      (analysis[defPath]?.definition.childComponents ?? []).map((c) => [
        c.name,
        checked(c.path, componentPath ? `${componentPath}/${c.name}` : c.name),
      ]),
    ),
    httpRoutes: { httpModuleRoutes: null, mounts: [] },
    exports: {},
  });

  return {
    environmentVariables: {},
    externalDepsId: null,
    componentDefinitionPackages: {},
    appAuth: [],
    analysis,
    app: checked("", ""),
    schemaChange: { allocatedComponentIds: null, schemaIds: null },
  };
}

// ---- The HTTP stand-in ----

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("error", reject);
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const enc = req.headers["content-encoding"];
      try {
        // start_push bodies are brotli-compressed JSON.
        let body = raw;
        if (enc === "br") body = zlib.brotliDecompressSync(raw);
        else if (enc === "gzip") body = zlib.gunzipSync(raw);
        resolve(body.length ? JSON.parse(body.toString("utf8")) : {});
      } catch (err) {
        reject(err);
      }
    });
  });
}

let evaluationFailed = false;
function createStandIn(workRoot) {
  return http.createServer(async (req, res) => {
    const reply = (status, body) => {
      res.writeHead(status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      const body = req.method === "POST" ? await readBody(req) : {};
      if (req.url === "/api/get_config_hashes") {
        // Nothing deployed: no cached module hashes, so the CLI sends every module.
        return reply(200, {
          config: { functions: "convex/" },
          moduleHashes: [],
          nodeDependencies: [],
          udfServerVersion: null,
        });
      }
      if (req.url === "/api/deploy2/start_push") {
        const workDir = fs.mkdtempSync(path.join(workRoot, "push-"));
        return reply(200, await analyzePush(body, workDir));
      }
      log(`unexpected request ${req.method} ${req.url} (CLI wire format changed?)`);
      return reply(404, {
        code: "OfflineCodegenUnsupported",
        message: `offline stand-in does not implement ${req.url}`,
      });
    } catch (err) {
      evaluationFailed = true;
      log(`${req.url} failed: ${err?.message ?? err}\n${err?.cause?.stack ?? err?.stack ?? ""}`);
      // 400, not 5xx: the CLI retries 5xx responses, a 4xx fails fast with our message.
      return reply(400, { code: "OfflineCodegenError", message: String(err?.message ?? err) });
    }
  });
}

// ---- Main: start the stand-in, run the real CLI against it, clean up ----

async function main() {
  // Schemas are not analyzed, and the CLI would silently write an untyped
  // "no schema" data model for staticDataModel; refuse instead.
  const convexJson = path.join(repoRoot, "convex.json");
  if (
    fs.existsSync(convexJson) &&
    JSON.parse(fs.readFileSync(convexJson, "utf8")).codegen?.staticDataModel
  ) {
    log("convex.json sets codegen.staticDataModel, which this offline stand-in does not support");
    return 1;
  }
  // Evaluated bundles live in a temp dir. Its node_modules link lets bare
  // imports (node.externalPackages in "use node" bundles) resolve from the repo.
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), "convex-offline-codegen-"));
  fs.writeFileSync(path.join(workRoot, "package.json"), '{"type":"module"}\n');
  if (fs.existsSync(path.join(repoRoot, "node_modules"))) {
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(workRoot, "node_modules"), "dir");
  }

  // The CLI may persist deployment settings to .env.local; never leave that behind.
  const envLocal = path.join(repoRoot, ".env.local");
  const envLocalBefore = fs.existsSync(envLocal) ? fs.readFileSync(envLocal) : null;

  const server = createStandIn(workRoot);
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const url = `http://127.0.0.1:${server.address().port}`;

  let status;
  try {
    status = await runCli(url);
  } finally {
    server.close();
    fs.rmSync(workRoot, { recursive: true, force: true });
    const envLocalAfter = fs.existsSync(envLocal) ? fs.readFileSync(envLocal) : null;
    if (envLocalBefore === null && envLocalAfter !== null) fs.rmSync(envLocal);
    else if (envLocalBefore !== null && !envLocalBefore.equals(envLocalAfter ?? Buffer.alloc(0))) {
      fs.writeFileSync(envLocal, envLocalBefore);
    }
  }
  if (status !== 0) {
    const hint = evaluationFailed ? " (see the evaluation error above)" : "";
    log(
      `\`${["convex", "codegen", ...cliArgs].join(" ")}\` failed with exit code ${status}${hint}`,
    );
  }
  return status;
}

// The real CLI, pointed at the stand-in. Resolves with its exit status.
function runCli(url) {
  return new Promise((resolve) => {
    const child = spawn("npx", ["--no", "convex", "codegen", ...cliArgs], {
      cwd: repoRoot,
      stdio: "inherit",
      shell: process.platform === "win32",
      env: {
        ...process.env,
        CONVEX_SELF_HOSTED_URL: url,
        // Self-hosted admin keys look like "<instance>|<hex>"; any value is accepted here.
        CONVEX_SELF_HOSTED_ADMIN_KEY: "offline-codegen|01a2b3c4d5e6f708",
        // Empty (not unset): the CLI treats "" as unset, and dotenv does not
        // override variables that exist, so .env.local cannot select a cloud deployment.
        CONVEX_DEPLOYMENT: "",
        CONVEX_DEPLOY_KEY: "",
        // Without CI=1 the CLI tries to reach Sentry and dies on an unhandled rejection.
        CI: "1",
      },
    });
    const forward = (sig) => child.kill(sig);
    process.on("SIGINT", forward).on("SIGTERM", forward);
    child.on("error", (err) => {
      log(`could not start \`npx convex codegen\`: ${err.message}`);
      resolve(1);
    });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`failed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
