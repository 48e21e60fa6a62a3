// @vitest-environment node
// The built example app in a real headless browser: Debian's chromium, driven by
// playwright-core with the system binary (no downloaded browser builds). Screenshots go
// to .ci/artifacts/ (gitignored), which CI keeps.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import vitestConfig from "../vitest.config.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const EXAMPLE = fileURLToPath(new URL("../example/", import.meta.url));
const ARTIFACTS = fileURLToPath(new URL("../.ci/artifacts/", import.meta.url));
const VITE_VARIABLES = ["VITE_CONVEX_URL", "VITE_KINDE_DOMAIN", "VITE_KINDE_CLIENT_ID"];

// CI installs chromium (.ci/run) and must run this; elsewhere it runs where chromium is.
const haveChromium = existsSync(CHROMIUM);
const inCI = !!process.env.CI && process.env.CI !== "false" && process.env.CI !== "0";
if (inCI && !haveChromium) throw new Error(`CI needs chromium at ${CHROMIUM}`);

/** A port on 127.0.0.1 that nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Builds the example with exactly these VITE_ variables (none from any .env file), from the
 * package's source as the other tests use it (vitest.config.ts's aliases): no dist/ needed,
 * none stale.
 */
async function buildExample(variables: Record<string, string>) {
  const outDir = await mkdtemp(join(tmpdir(), "convex-kinde-example-"));
  const saved = VITE_VARIABLES.map((name) => [name, process.env[name]] as const);
  for (const name of VITE_VARIABLES) delete process.env[name];
  Object.assign(process.env, variables);
  try {
    await build({
      configFile: join(EXAMPLE, "vite.config.ts"),
      root: EXAMPLE,
      envDir: outDir, // empty: a developer's .env.local must not leak into the test
      logLevel: "warn",
      resolve: { alias: vitestConfig.resolve?.alias },
      build: { outDir, emptyOutDir: true },
    });
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  return outDir;
}

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
};

/** Serves a built app on 127.0.0.1, index.html for every path that is not a file. */
async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
    const file = join(dir, path.endsWith("/") ? "index.html" : path);
    readFile(file.startsWith(dir) ? file : join(dir, "index.html"))
      .catch(() => readFile(join(dir, "index.html")))
      .then(
        (body) => {
          response.writeHead(200, {
            "content-type": TYPES[extname(file)] ?? "text/html",
          });
          response.end(body);
        },
        () => response.writeHead(500).end(),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, server };
}

describe.skipIf(!haveChromium)("the built example in chromium", () => {
  let browser: BrowserContext;
  let profile: string;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    profile = await mkdtemp(join(tmpdir(), "convex-kinde-chromium-"));
    // A fresh profile directory each run (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 900 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const cleanup of cleanups) await cleanup();
    await rm(profile, { recursive: true, force: true });
  });

  async function open(variables: Record<string, string>) {
    const dir = await buildExample(variables);
    const { url, server } = await serve(dir);
    cleanups.push(
      () => new Promise((resolve) => server.close(resolve)),
      () => rm(dir, { recursive: true, force: true }),
    );
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    await page.goto(url);
    return { page, errors };
  }

  test("without configuration, it names the missing variables", async () => {
    const { page, errors } = await open({});
    await page.getByRole("heading", { name: "Almost there" }).waitFor({ timeout: 15_000 });
    const text = await page.locator("main").innerText();
    for (const name of VITE_VARIABLES) expect(text).toContain(name);
    await page.screenshot({ path: join(ARTIFACTS, "example-missing-config.png"), fullPage: true });
    expect(errors).toEqual([]);
  }, 60_000);

  test("with Convex unreachable, it says so within seconds instead of 'connecting…' forever", async () => {
    const convexPort = await closedPort();
    const convexUrl = `http://127.0.0.1:${convexPort}`;
    const { page, errors } = await open({
      VITE_CONVEX_URL: convexUrl,
      // Kinde is not reachable either: the page still renders, signed out.
      VITE_KINDE_DOMAIN: `http://127.0.0.1:${await closedPort()}`,
      VITE_KINDE_CLIENT_ID: "3f1e9c0b7d2a4e6f8a1b2c3d4e5f6a7b",
    });
    const started = Date.now();
    const alert = page.getByRole("alert");
    await alert.getByRole("heading", { name: "Convex can't be reached" }).waitFor({
      timeout: 20_000,
    });
    const waited = Date.now() - started;
    expect(await alert.innerText()).toContain(convexUrl);
    expect(await page.getByText("unreachable", { exact: true }).count()).toBe(1);
    await page.screenshot({
      path: join(ARTIFACTS, "example-convex-unreachable.png"),
      fullPage: true,
    });
    expect(waited).toBeLessThan(20_000);
    expect(errors).toEqual([]);
  }, 60_000);
});
