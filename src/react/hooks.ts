import { useConvexAuth, useQuery } from "convex/react";
import type { FunctionReference } from "convex/server";
import type { KindeUser } from "../shared/mirror.js";
import type { CanArgs, SignedInOrganization } from "../client/hostQueries.js";

/**
 * The module an app exports `kinde.userQueries()` from, as `api.<module>`:
 *
 * ```ts
 * // convex/kindeUser.ts
 * export const { user, organizations, can } = kinde.userQueries();
 * ```
 *
 * Each hook takes only the reference it needs, so any object with it will do.
 */
export interface KindeUserQueries {
  user: FunctionReference<"query", "public", Record<string, never>, KindeUser | null>;
  organizations: FunctionReference<
    "query",
    "public",
    Record<string, never>,
    SignedInOrganization[]
  >;
  can: FunctionReference<"query", "public", CanQueryArgs, boolean>;
}

/**
 * `can`'s arguments as an app's generated `api` types them: an app compiled
 * with `exactOptionalPropertyTypes` sees `orgCode?: string | undefined`.
 */
type CanQueryArgs = { [K in keyof CanArgs]?: CanArgs[K] | undefined };

/**
 * Whether Convex has settled who is signed in. Until then a query would run
 * as nobody and answer "no" for a moment, so the hooks wait (`undefined`).
 */
function useAuthSettled(): boolean {
  return !useConvexAuth().isLoading;
}

/** The signed-in user's mirrored profile; null if signed out or not mirrored yet, undefined while loading. */
export function useKindeUser(
  queries: Pick<KindeUserQueries, "user">,
): KindeUser | null | undefined {
  return useQuery(queries.user, useAuthSettled() ? {} : "skip");
}

/** The signed-in user's organizations, with the roles and permissions held in each; undefined while loading. */
export function useKindeOrganizations(
  queries: Pick<KindeUserQueries, "organizations">,
): SignedInOrganization[] | undefined {
  return useQuery(queries.organizations, useAuthSettled() ? {} : "skip");
}

/**
 * Where a check applies: `orgCode`, or (without it) the organization the
 * signed-in token names. `undefined` is accepted as "not given", as `can`'s
 * generated arguments accept it, so a component can pass on its own optional
 * prop (`{ orgCode }`) under `exactOptionalPropertyTypes`.
 */
export interface CheckOptions {
  orgCode?: string | undefined;
}

/**
 * Whether the signed-in user holds `permission` (a key) in the organization;
 * undefined while loading. Live: it changes when a webhook changes the
 * mirror, without waiting for a new token.
 *
 * ```tsx
 * const canPublish = useHasPermission(api.kindeUser, "publish:docs", { orgCode });
 * return <button disabled={!canPublish}>Publish</button>;
 * ```
 */
export function useHasPermission(
  queries: Pick<KindeUserQueries, "can">,
  permission: string,
  { orgCode }: CheckOptions = {},
): boolean | undefined {
  return useQuery(queries.can, useAuthSettled() ? { permission, orgCode } : "skip");
}

/** Whether the signed-in user holds `role` (a key) in the organization; see {@link useHasPermission}. */
export function useHasRole(
  queries: Pick<KindeUserQueries, "can">,
  role: string,
  { orgCode }: CheckOptions = {},
): boolean | undefined {
  return useQuery(queries.can, useAuthSettled() ? { role, orgCode } : "skip");
}

/**
 * Whether the customer the check is about holds the entitlement to
 * `feature` (a Kinde Billing feature code): the organization's (`orgCode`, or
 * the token's), for a member of it, or with no organization the signed-in
 * user's own; undefined while loading. Live: it changes when a refresh of
 * the customer lands in the mirror.
 *
 * ```tsx
 * const canExport = useHasEntitlement(api.kindeUser, "csv-export", { orgCode });
 * return <button disabled={!canExport}>Export</button>;
 * ```
 */
export function useHasEntitlement(
  queries: Pick<KindeUserQueries, "can">,
  feature: string,
  { orgCode }: CheckOptions = {},
): boolean | undefined {
  return useQuery(queries.can, useAuthSettled() ? { entitlement: feature, orgCode } : "skip");
}
