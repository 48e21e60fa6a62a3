/// <reference types="vite/client" />
import { convexTest } from "convex-test";
import kindeTest from "convex-kinde/test";
import schema from "./schema.js";

export const modules = import.meta.glob("./**/*.*s");

/** A fresh example app with the component registered, Convex's transaction limits enforced. */
export function initConvexTest() {
  const t = convexTest({ schema, modules, transactionLimits: true });
  kindeTest.register(t, "kinde", { inspect: true });
  return t;
}
