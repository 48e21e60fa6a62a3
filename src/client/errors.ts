import { ConvexError } from "convex/values";
import type { KindeAuthorizationErrorData } from "./index.js";

/** The refusal for a call nobody is signed in to. */
export function unauthenticated(message = "Sign in to do this.") {
  return new ConvexError<KindeAuthorizationErrorData>({ kind: "unauthenticated", message });
}

/**
 * The refusal for a user who lacks what the call needs in `orgCode`: the role
 * or permission, or, with neither named, membership of the organization.
 */
export function forbidden(
  orgCode: string,
  what:
    | { role: string; permission?: never }
    | { permission: string; role?: never }
    | { role?: never; permission?: never } = {},
) {
  const name =
    what.role !== undefined
      ? `the role "${what.role}" in`
      : what.permission !== undefined
        ? `the permission "${what.permission}" in`
        : "membership of";
  return new ConvexError<KindeAuthorizationErrorData>({
    kind: "forbidden",
    message: `This needs ${name} organization ${orgCode}.`,
    orgCode,
    ...what,
  });
}

/**
 * The refusal for a customer without the entitlement to `feature`: the
 * organization's (`orgCode`), or with no organization the user's own.
 */
export function notEntitled(feature: string, orgCode: string | null) {
  return new ConvexError<KindeAuthorizationErrorData>({
    kind: "notEntitled",
    message:
      orgCode === null
        ? `This needs the feature "${feature}" in your plan.`
        : `This needs the feature "${feature}" in the plan of organization ${orgCode}.`,
    feature,
    ...(orgCode !== null && { orgCode }),
  });
}
