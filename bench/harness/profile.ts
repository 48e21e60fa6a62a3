/**
 * CPU profiles of stretches of the bench, taken with V8's sampling profiler
 * through `node:inspector`, with self time grouped by what the code does (RSA
 * in jose, table scans in convex-test, the component, …): the evidence for
 * where per-event time goes.
 *
 * The sampler records whatever the main thread runs when it fires, so time the
 * OS takes the process away inflates whatever was running: profile the
 * variants in alternating chunks so both see the same machine.
 */
import { Session } from "node:inspector/promises";
import { mkdir, writeFile } from "node:fs/promises";

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based. */
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const inConvexTest = (f: CallFrame) => f.url.includes("/node_modules/convex-test/");
const inConvex = (f: CallFrame, file: string) =>
  f.url.includes(`/node_modules/convex/dist/esm/${file}`);

/**
 * convex-test's functions that serve an indexed read by visiting every row of
 * the table (Convex reads an index range instead). `get` is DatabaseFake.get,
 * near the top of convex-test 0.0.70's bundle; its other `get` is a global
 * override accessor.
 */
const SCAN_FUNCTIONS = new Set([
  "_iterateDocs",
  "isInTable",
  "_resolveQuerySource",
  "_evaluateQuery",
  "evaluateFieldPath",
  "evaluateRangeFilter",
  "tableNameFromId",
  "_validateId",
]);
const isScan = (f: CallFrame) =>
  (inConvexTest(f) &&
    (SCAN_FUNCTIONS.has(f.functionName) || (f.functionName === "get" && f.lineNumber < 200))) ||
  inConvex(f, "values/compare.js");

/**
 * Work convex-test does on every function call that Convex does once at push
 * time or natively: serialize the function's validators to JSON and parse them
 * back (`exportArgs`, `validator.json`, `resolveFunction`), and check values
 * against them in JS (`validateValidator`).
 */
const isPerCallValidation = (f: CallFrame) =>
  (inConvexTest(f) &&
    ["resolveFunction", "validateValidator", "isSimpleObject", "validateFunctionArgs"].includes(
      f.functionName,
    )) ||
  (inConvex(f, "server/impl/registration_impl.js") && f.functionName === "") ||
  (inConvex(f, "values/validators.js") && f.functionName === "get json");

/** Groups of code, checked in order; the first match names a frame's group. */
const GROUPS: [name: string, test: (frame: CallFrame) => boolean][] = [
  ["garbage collection", (f) => f.functionName === "(garbage collector)"],
  ["idle (awaiting WebCrypto, sockets)", (f) => f.functionName === "(idle)"],
  ["native / VM (program)", (f) => f.functionName === "(program)" || f.url === ""],
  ["jose (JWT, key set)", (f) => f.url.includes("/node_modules/jose/")],
  ["node:crypto", (f) => f.url.startsWith("node:internal/crypto")],
  ["convex-test: indexed reads as table scans", isScan],
  ["convex-test: validators exported + checked per call", isPerCallValidation],
  ["convex-test: other", inConvexTest],
  ["convex-helpers (payload parse)", (f) => f.url.includes("/node_modules/convex-helpers/")],
  ["convex (values, syscalls, runtime)", (f) => f.url.includes("/node_modules/convex/")],
  ["src/component", (f) => f.url.includes("/src/component/")],
  ["src/client", (f) => f.url.includes("/src/client/")],
  ["src/shared", (f) => f.url.includes("/src/shared/")],
  ["bench harness (floors, probes)", (f) => f.url.includes("/bench/")],
  ["Request / Response (edge-runtime, undici)", (f) => /@edge-runtime|undici/.test(f.url)],
  ["vitest / vite runtime", (f) => /\/node_modules\/(vitest|vite|@vitest)\//.test(f.url)],
  ["node internals (streams, async hooks)", (f) => f.url.startsWith("node:")],
  ["other", () => true],
];

/** Self time summed over any number of profiles, in µs. */
export interface ProfileTotals {
  totalUs: number;
  samples: number;
  groups: Record<string, number>;
  functions: Record<string, number>;
}

export const emptyTotals = (): ProfileTotals => ({
  totalUs: 0,
  samples: 0,
  groups: {},
  functions: {},
});

export function addProfile(totals: ProfileTotals, profile: CpuProfile): void {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = frames.get(id);
    if (!frame) return;
    totals.totalUs += us;
    totals.samples += 1;
    const group = GROUPS.find(([, test]) => test(frame))![0];
    totals.groups[group] = (totals.groups[group] ?? 0) + us;
    const name = `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    totals.functions[name] = (totals.functions[name] ?? 0) + us;
  });
}

/** The part of a script URL after `node_modules/` or the repo root. */
function shortUrl(url: string): string {
  const inModules = url.split("/node_modules/");
  if (inModules.length > 1) return inModules[inModules.length - 1]!;
  const match = /\/(src|bench|example)\/.*$/.exec(url);
  return match ? match[0].slice(1) : url;
}

/** One inspector session that records profiles of successive stretches of work. */
export class Profiler {
  private constructor(private readonly session: Session) {}

  /** @param intervalUs the sampling interval */
  static async open(intervalUs: number): Promise<Profiler> {
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: intervalUs });
    return new Profiler(session);
  }

  async record(work: () => Promise<void>): Promise<CpuProfile> {
    await this.session.post("Profiler.start");
    let failure: unknown;
    try {
      await work();
    } catch (error) {
      failure = error;
    }
    // Stop even when the work failed, so the profiler does not run on.
    const { profile } = (await this.session.post("Profiler.stop")) as { profile: CpuProfile };
    if (failure !== undefined) throw failure;
    return profile;
  }

  close(): void {
    this.session.disconnect();
  }
}

/** Writes a profile that Chrome DevTools (Performance tab) opens. */
export async function saveProfile(profile: CpuProfile, file: URL): Promise<void> {
  await mkdir(new URL(".", file), { recursive: true });
  await writeFile(file, JSON.stringify(profile));
}
