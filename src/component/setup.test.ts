/// <reference types="vite/client" />
/**
 * The setup of the component's own unit tests: the component alone on
 * convex-test (its schema, its modules, Convex's transaction limits), and the
 * normalised shapes its appliers take. Kept apart from the tests because
 * Vite's glob leaves out the file that holds it. Not a test file itself.
 */
import { convexTest } from "convex-test";
import schema from "./schema.js";

/** The component's modules; `./_generated/` is how convex-test finds their root. */
export const modules = import.meta.glob(["./**/*.ts", "!./**/*.test.ts"]);

export function initComponentTest() {
  return convexTest({ schema, modules, transactionLimits: true });
}

export type ComponentTest = ReturnType<typeof initComponentTest>;

/** The version of an event that happened `at` ms since epoch (the id breaks ties). */
export const version = (at: number, eventId = `event_${at}`) => ({ at, eventId });

/** A role or permission as a membership holds it. */
export const ref = (kindeId: string, key: string) => ({ kindeId, key });

type Ref = ReturnType<typeof ref>;

/** The role and permission most tests hold. */
export const admin = ref("role_admin", "admin");
export const publish = ref("perm_publish", "publish:docs");

/** When the tests' tombstones expire: after any time a test runs at, so retention never interferes. */
export const KEEP_UNTIL = Date.UTC(2027, 0, 1);

/** A membership: the organization's code and what the user holds there. */
export const membership = (orgCode: string, roles: Ref[] = [], permissions: Ref[] = []) => ({
  orgCode,
  roles,
  permissions,
});

/**
 * A user snapshot as the normaliser hands it to the component. Kinde's empty
 * values (`email: ""`, `first_name: null`, `roles: null`) arrive here absent
 * or as empty arrays, so the minimal user has only its id and flags.
 */
export function userSnapshot(
  kindeId: string,
  fields: {
    email?: string;
    firstName?: string;
    lastName?: string;
    isSuspended?: boolean;
    organizations?: ReturnType<typeof membership>[];
  } = {},
) {
  return {
    kindeId,
    isSuspended: false,
    isPasswordResetRequested: false,
    organizations: [],
    ...fields,
  };
}
