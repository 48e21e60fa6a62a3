import { describe, expect, test } from "vitest";
import {
  BUDGET_SHARE,
  chunkByCost,
  fitsBudget,
  limitsOf,
  NO_COST,
  pageRowCost,
  rowCost,
  sharesOf,
  TRANSACTION_LIMITS,
  usedOf,
  type MeasuredMetrics,
} from "./budget.js";

describe("what one backfill row costs", () => {
  test("a user costs index ranges in proportion to its organizations", () => {
    expect(rowCost({ kind: "user", organizations: 0 }).databaseQueries).toBe(3);
    expect(rowCost({ kind: "user", organizations: 3 })).toMatchObject({
      databaseQueries: 9,
      documentsWritten: 5,
    });
    // The page: 500 users in 2–3 organizations do not fit one mutation's half.
    const page = Array.from({ length: 500 }, (_, i) => ({ orgCodes: Array(2 + (i % 2)) }));
    const chunks = chunkByCost(page, (u) =>
      rowCost({ kind: "user", organizations: u.orgCodes.length }),
    );
    expect(chunks.length).toBeGreaterThan(1);
  });

  test("a member costs its user and membership, plus each role resolved", () => {
    expect(rowCost({ kind: "member", roles: 0, permissions: 0 }).databaseQueries).toBe(2);
    expect(rowCost({ kind: "member", roles: 2, permissions: 0 }).databaseQueries).toBe(10);
    // Permissions read with exactPermissions are brought up to date one by one too.
    expect(rowCost({ kind: "member", roles: 2, permissions: 3 }).databaseQueries).toBe(19);
  });

  test("page rows map to their kind's cost", () => {
    expect(pageRowCost("roles", { kindeId: "r", key: "admin" })).toEqual(
      rowCost({ kind: "catalog" }),
    );
    expect(pageRowCost("organizations", { code: "org_a" })).toEqual(
      rowCost({ kind: "organization" }),
    );
    expect(
      pageRowCost("users", { kindeId: "kp_1", isSuspended: false, orgCodes: ["a", "b"] }),
    ).toEqual(rowCost({ kind: "user", organizations: 2 }));
    expect(pageRowCost("members", { kindeId: "kp_1", roleKeys: ["a"] })).toEqual(
      rowCost({ kind: "member", roles: 1, permissions: 0 }),
    );
  });
});

describe("the budget", () => {
  test("fits while every limit stays within its share, at the edge included", () => {
    const half = TRANSACTION_LIMITS.databaseQueries * BUDGET_SHARE;
    const ranges = (n: number) => ({ ...NO_COST, databaseQueries: n });
    expect(fitsBudget(ranges(half - 10), ranges(10))).toBe(true);
    expect(fitsBudget(ranges(half - 10), ranges(11))).toBe(false);
    // Any one limit refuses: scheduled functions here.
    expect(fitsBudget(NO_COST, { ...NO_COST, functionsScheduled: 501 })).toBe(false);
    // Limits in force (a test's tighter ones) are honoured.
    expect(
      fitsBudget(ranges(40), ranges(20), { ...TRANSACTION_LIMITS, databaseQueries: 100 }),
    ).toBe(false);
  });

  test("limits and shares come from the measured used and remaining", () => {
    const metrics = Object.fromEntries(
      Object.keys(TRANSACTION_LIMITS).map((key) => [key, { used: 25, remaining: 75 }]),
    ) as MeasuredMetrics;
    expect(limitsOf(metrics).databaseQueries).toBe(100);
    expect(sharesOf(usedOf(metrics), limitsOf(metrics)).bytesWritten).toBe(0.25);
  });

  test("chunks hold at least one row each, even one too costly alone", () => {
    const huge = { ...NO_COST, databaseQueries: 10_000 };
    const small = { ...NO_COST, databaseQueries: 1 };
    const chunks = chunkByCost(["a", "big", "b", "c"], (row) => (row === "big" ? huge : small));
    expect(chunks).toEqual([["a"], ["big"], ["b", "c"]]);
    expect(chunkByCost([], () => small)).toEqual([]);
    for (const chunk of chunkByCost(Array(5000).fill("x"), () => small)) {
      expect(chunk.length).toBeLessThanOrEqual(TRANSACTION_LIMITS.databaseQueries * BUDGET_SHARE);
    }
  });
});
