import { ConvexError } from "convex/values";
import type { KindeAuthorizationErrorData } from "./index.js";

/** The refusal for a call nobody is signed in to. */
export function unauthenticated(message = "Sign in to do this.") {
  return new ConvexError<KindeAuthorizationErrorData>({ kind: "unauthenticated", message });
}

/** The refusal for a user who lacks what the call needs in `orgCode`. */
export function forbidden(orgCode: string, what: { role: string } | { permission: string }) {
  const name = "role" in what ? `the role "${what.role}"` : `the permission "${what.permission}"`;
  return new ConvexError<KindeAuthorizationErrorData>({
    kind: "forbidden",
    message: `This needs ${name} in organization ${orgCode}.`,
    orgCode,
    ...what,
  });
}
