/**
 * The suite's value-limit guard (test/setup.ts): after every test it checks
 * each document the component holds against the limits a Convex deployment
 * enforces on one document and convex-test does not, and fails the test for
 * one a deployment would refuse. These tests write such documents on purpose.
 */
import { expect, onTestFailed, test } from "vitest";
import kindeTest, {
  findKindeValueLimitViolations,
  insertKindeDocument,
  kindeUserId,
  readKindeTables,
  userCreated,
} from "convex-kinde/test";
import { vBackfillCounts } from "../src/shared/backfill.js";
import { checkWrittenValues, initConvexTest, useWebhookTest } from "./setup.js";

const app = useWebhookTest();

const MiB = 1 << 20;
/** A backfill run's first phase. */
const PHASE = "roles";

/** A copy of the user a delivery wrote, whose `kindeId` alone is `bytes` long: schema-valid, too large. */
async function oversizedUserCopy(bytes: number) {
  expect((await app.deliver(userCreated({ id: kindeUserId() }))).text).toMatch(/^applied/);
  const [user] = (await readKindeTables(app.t)).kindeUsers;
  const { _id, _creationTime, ...fields } = user!;
  return { ...fields, kindeId: `kp_${"x".repeat(bytes)}` };
}

let guardFailure: string | undefined;

test.fails("the guard fails a test that wrote a document a deployment would refuse", async () => {
  onTestFailed(({ task }) => {
    guardFailure = task.result?.errors?.map((e) => e.message).join("\n");
  });
  const document = await oversizedUserCopy(MiB);
  await insertKindeDocument(app.t, { table: "kindeUsers", document });
  // Nothing in this test fails: only the guard's afterEach can, and must.
});

test("... naming the table, document, path, size and limit", () => {
  expect(guardFailure).toMatch(
    /^This test wrote 1 document value\(s\) a Convex deployment would refuse \(convex-test does not check these limits\):\n {2}kindeUsers \S+ at \$: document of 10\d{5} bytes \(1\.0\d\d MiB; its JSON 10\d{5} bytes\) > limit 1048576 bytes \(1 MiB\)$/,
  );
});

test("the guard passes what deliveries wrote, and names each document a deployment would refuse", async () => {
  const document = await oversizedUserCopy(MiB);
  await expect(checkWrittenValues("no test")).resolves.toEqual([]);
  // The guard has checked (and forgotten) app.t; register a fresh one as the next test would.
  const t = initConvexTest();
  const id = await insertKindeDocument(t, { table: "kindeUsers", document });
  const roles = Array.from({ length: 8193 }, (_, i) => ({ kindeId: `rol_${i}`, key: `r${i}` }));
  const many = await insertKindeDocument(t, {
    table: "kindeUsers",
    document: {
      ...document,
      kindeId: "kp_many",
      organizations: [{ orgCode: "o", roles, permissions: [] }],
    },
  });
  const error = await checkWrittenValues("no test").then(
    () => undefined,
    (e: Error) => e.message,
  );
  expect(error).toContain(`kindeUsers ${id} at $: document of`);
  expect(error).toContain(
    `kindeUsers ${many} at $.organizations[0].roles: array of 8193 values > limit 8192`,
  );
  // Checked once: the test's own afterEach finds nothing left to check.
  await expect(checkWrittenValues("no test")).resolves.toEqual([]);
});

test("a violation listed as known passes and is returned; a listed one that did not occur fails", async () => {
  const document = await oversizedUserCopy(MiB);
  await checkWrittenValues("no test"); // app.t: nothing yet
  const t = initConvexTest();
  const id = await insertKindeDocument(t, { table: "kindeUsers", document });
  const known = { table: "kindeUsers", rule: "documentSize", path: "$", why: "this test" } as const;
  const found = await checkWrittenValues("no test", [known]);
  expect(found).toMatchObject([{ table: "kindeUsers", id, rule: "documentSize", path: "$" }]);

  const nested = { ...known, path: "$.organizations" };
  await expect(checkWrittenValues("a test", [nested])).rejects.toThrow(
    "a test no longer writes what KNOWN_VALUE_LIMIT_VIOLATIONS lists for it; remove: kindeUsers documentSize at $.organizations",
  );
});

test(
  "the guard reads every table of the component's schema, in pages past a query's read limit",
  { timeout: 60_000 },
  async () => {
    const t = initConvexTest();
    await checkWrittenValues("no test"); // this test checks t itself, below
    // 18 documents of 0.99 MiB: 17.8 MiB, more than one query may read (16 MiB).
    const almost = Math.floor(0.99 * MiB);
    for (let i = 0; i < 18; i++) {
      await insertKindeDocument(t, {
        table: "unsettledRefs",
        document: { kind: "role", kindeId: `${i}`.padEnd(almost, "x") },
      });
    }
    const late = await insertKindeDocument(t, {
      table: "unsettledRefs",
      document: { kind: "permission", kindeId: "y".repeat(MiB) },
    });
    const failed = await insertKindeDocument(t, {
      table: "backfillRuns",
      document: {
        startedAt: 1,
        status: "failed",
        phase: PHASE,
        reconcile: false,
        counts: Object.fromEntries(Object.keys(vBackfillCounts.fields).map((count) => [count, 0])),
        pages: 1,
        heartbeatAt: 1,
        lastError: "e".repeat(MiB),
      },
    });
    const found = await findKindeValueLimitViolations(t);
    expect(found.map((v) => [v.table, v.id, v.rule, v.path])).toEqual([
      ["unsettledRefs", late, "documentSize", "$"],
      ["backfillRuns", failed, "documentSize", "$"],
    ]);
    // Both tables are the schema's (the guard reads the schema's list, not one of its own).
    expect(Object.keys(kindeTest.schema.tables)).toEqual(
      expect.arrayContaining(["unsettledRefs", "backfillRuns"]),
    );
  },
);
