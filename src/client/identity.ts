import type { Auth, UserIdentity } from "convex/server";
import { unauthenticated } from "./errors.js";

/**
 * The claim in which Kinde's access tokens name the organization the user
 * signed in to. Convex passes claims it has no field for through as-is, so it
 * is `identity.org_code`. Kinde's ID tokens carry `org_codes` (every
 * organization of the user) instead, which names no current one.
 */
export const ORG_CODE_CLAIM = "org_code";

/** The organization the signed-in token was issued for, or null if it names none. */
export function organizationOf(identity: UserIdentity | null): string | null {
  const claim = identity?.[ORG_CODE_CLAIM];
  return typeof claim === "string" && claim !== "" ? claim : null;
}

/** Whom and where a check is about; null where neither the caller nor the token says. */
export interface CheckTarget {
  kindeId: string | null;
  orgCode: string | null;
}

/**
 * Fills what a check leaves out from the signed-in identity: the user from
 * `sub`, the organization from `org_code`. Values the caller gives win, and
 * when both are given the identity is not read at all.
 */
export async function checkTarget(
  auth: Auth,
  given: { kindeId?: string; orgCode?: string },
): Promise<CheckTarget> {
  if (given.kindeId !== undefined && given.orgCode !== undefined) {
    return { kindeId: given.kindeId, orgCode: given.orgCode };
  }
  const identity = await auth.getUserIdentity();
  return {
    kindeId: given.kindeId ?? identity?.subject ?? null,
    orgCode: given.orgCode ?? organizationOf(identity),
  };
}

/** The developer's mistake of checking without saying where: not the user's fault, so not a refusal. */
export function noOrganizationError(what: string) {
  return new Error(
    `${what} needs an orgCode: none was passed, and the signed-in token has no "${ORG_CODE_CLAIM}" ` +
      "claim (Kinde puts it in access tokens, not in ID tokens). Pass orgCode, or sign in to " +
      "Convex with Kinde's access token.",
  );
}

/**
 * The user and organization a `require…` check is about, or the reason there
 * is none: nobody signed in (and no `kindeId` given) is a refusal, no
 * organization at all a mistake in the code.
 */
export async function requireTarget(
  auth: Auth,
  given: { kindeId?: string; orgCode?: string },
  what: string,
): Promise<{ kindeId: string; orgCode: string }> {
  const { kindeId, orgCode } = await checkTarget(auth, given);
  if (kindeId === null) throw unauthenticated();
  if (orgCode === null) throw noOrganizationError(what);
  return { kindeId, orgCode };
}
