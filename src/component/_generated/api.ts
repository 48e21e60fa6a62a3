/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type * as authorization from "../authorization.js";
import type * as backfill from "../backfill.js";
import type * as billing from "../billing.js";
import type * as billingTriggers from "../billingTriggers.js";
import type * as budget from "../budget.js";
import type * as cascade from "../cascade.js";
import type * as catalog from "../catalog.js";
import type * as changes from "../changes.js";
import type * as counters from "../counters.js";
import type * as crons from "../crons.js";
import type * as enrichment from "../enrichment.js";
import type * as enrichmentMerge from "../enrichmentMerge.js";
import type * as events from "../events.js";
import type * as hooks from "../hooks.js";
import type * as limits from "../limits.js";
import type * as maintenance from "../maintenance.js";
import type * as ordering from "../ordering.js";
import type * as organizations from "../organizations.js";
import type * as phone from "../phone.js";
import type * as refreshTriggers from "../refreshTriggers.js";
import type * as refreshes from "../refreshes.js";
import type * as status from "../status.js";
import type * as tombstones from "../tombstones.js";
import type * as unmirrored from "../unmirrored.js";
import type * as users from "../users.js";
import type * as webhooks from "../webhooks.js";

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import { anyApi, componentsGeneric } from "convex/server";

const fullApi: ApiFromModules<{
  authorization: typeof authorization;
  backfill: typeof backfill;
  billing: typeof billing;
  billingTriggers: typeof billingTriggers;
  budget: typeof budget;
  cascade: typeof cascade;
  catalog: typeof catalog;
  changes: typeof changes;
  counters: typeof counters;
  crons: typeof crons;
  enrichment: typeof enrichment;
  enrichmentMerge: typeof enrichmentMerge;
  events: typeof events;
  hooks: typeof hooks;
  limits: typeof limits;
  maintenance: typeof maintenance;
  ordering: typeof ordering;
  organizations: typeof organizations;
  phone: typeof phone;
  refreshTriggers: typeof refreshTriggers;
  refreshes: typeof refreshes;
  status: typeof status;
  tombstones: typeof tombstones;
  unmirrored: typeof unmirrored;
  users: typeof users;
  webhooks: typeof webhooks;
}> = anyApi as any;

/**
 * A utility for referencing Convex functions in your app's public API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
export const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
> = anyApi as any;

/**
 * A utility for referencing Convex functions in your app's internal API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = internal.myModule.myFunction;
 * ```
 */
export const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
> = anyApi as any;

export const components = componentsGeneric() as unknown as {};
