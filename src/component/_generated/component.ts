/* eslint-disable */
/**
 * Generated `ComponentApi` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type { FunctionReference } from "convex/server";

/**
 * A utility for referencing a Convex component's exposed API.
 *
 * Useful when expecting a parameter like `components.myComponent`.
 * Usage:
 * ```ts
 * async function myFunction(ctx: QueryCtx, component: ComponentApi) {
 *   return ctx.runQuery(component.someFile.someQuery, { ...args });
 * }
 * ```
 */
export type ComponentApi<Name extends string | undefined = string | undefined> =
  {
    authorization: {
      hasPermission: FunctionReference<
        "query",
        "internal",
        { key: string; kindeId: string; orgCode: string },
        boolean,
        Name
      >;
      hasRole: FunctionReference<
        "query",
        "internal",
        { key: string; kindeId: string; orgCode: string },
        boolean,
        Name
      >;
      isMember: FunctionReference<
        "query",
        "internal",
        { kindeId: string; orgCode: string },
        boolean,
        Name
      >;
    };
    backfill: {
      advance: FunctionReference<
        "mutation",
        "internal",
        {
          next?: {
            cursor?: string;
            orgCode?: string;
            paging?: {
              checkpoint: string;
              pages: number;
              recent: Array<string>;
            };
            phase:
              | "roles"
              | "rolePermissions"
              | "permissions"
              | "organizations"
              | "users"
              | "memberships"
              | "reconcile"
              | "done";
          };
          onEvent?: string;
          page?:
            | {
                items: Array<{
                  description?: string;
                  isDefaultRole?: boolean;
                  key: string;
                  kindeId: string;
                  name?: string;
                }>;
                kind: "roles";
              }
            | {
                kind: "rolePermissions";
                permissions: Array<{ key: string; kindeId: string }>;
                roleId: string;
              }
            | {
                items: Array<{
                  description?: string;
                  key: string;
                  kindeId: string;
                  name?: string;
                }>;
                kind: "permissions";
              }
            | {
                items: Array<{
                  code: string;
                  externalId?: string;
                  handle?: string;
                  isAllowRegistrations?: boolean;
                  name?: string;
                }>;
                kind: "organizations";
              }
            | {
                items: Array<{
                  email?: string;
                  firstName?: string;
                  isSuspended: boolean;
                  kindeId: string;
                  lastName?: string;
                  orgCodes: Array<string>;
                  phone?: string;
                  username?: string;
                }>;
                kind: "users";
              }
            | {
                items: Array<{
                  kindeId: string;
                  permissions?: Array<{ key: string; kindeId: string }>;
                  roleKeys: Array<string>;
                }>;
                keepUnknownRoleKeys?: true;
                kind: "members";
                orgCode: string;
                roles?: Array<{ key: string; kindeId: string }>;
                vanished?: true;
              };
          runId: string;
        },
        {
          applied: number;
          run: {
            counts: {
              memberships: number;
              organizations: number;
              permissions: number;
              removed: number;
              roles: number;
              skipped: number;
              unchanged: number;
              users: number;
            };
            cursor?: string;
            exactPermissions?: boolean;
            finishedAt?: number;
            heartbeatAt: number;
            lastError?: string;
            orgCode?: string;
            pages: number;
            paging?: {
              checkpoint: string;
              pages: number;
              recent: Array<string>;
            };
            phase:
              | "roles"
              | "rolePermissions"
              | "permissions"
              | "organizations"
              | "users"
              | "memberships"
              | "reconcile"
              | "done";
            reconcile: boolean;
            resumeAfter?: string;
            runId: string;
            skippedMemberships?: {
              count: number;
              users: Array<{ count: number; kindeId: string }>;
            };
            startedAt: number;
            status: "running" | "done" | "failed";
            vanished?: { count: number; orgCodes: Array<string> };
            waiting?: {
              reason: string;
              resumesAt: number;
              tries: { failures: number; rateLimited: number; request: string };
            };
          };
          shares: {
            bytesRead: number;
            bytesWritten: number;
            databaseQueries: number;
            documentsRead: number;
            documentsWritten: number;
            functionsScheduled: number;
          };
          unknownRoleKeys?: Array<string>;
        },
        Name
      >;
      fail: FunctionReference<
        "mutation",
        "internal",
        { error: string; runId: string },
        null,
        Name
      >;
      getStatus: FunctionReference<
        "query",
        "internal",
        {},
        {
          counts: {
            memberships: number;
            organizations: number;
            permissions: number;
            removed: number;
            roles: number;
            skipped: number;
            unchanged: number;
            users: number;
          };
          cursor?: string;
          exactPermissions?: boolean;
          finishedAt?: number;
          heartbeatAt: number;
          lastError?: string;
          orgCode?: string;
          pages: number;
          paging?: { checkpoint: string; pages: number; recent: Array<string> };
          phase:
            | "roles"
            | "rolePermissions"
            | "permissions"
            | "organizations"
            | "users"
            | "memberships"
            | "reconcile"
            | "done";
          reconcile: boolean;
          resumeAfter?: string;
          runId: string;
          skippedMemberships?: {
            count: number;
            users: Array<{ count: number; kindeId: string }>;
          };
          startedAt: number;
          status: "running" | "done" | "failed";
          vanished?: { count: number; orgCodes: Array<string> };
          waiting?: {
            reason: string;
            resumesAt: number;
            tries: { failures: number; rateLimited: number; request: string };
          };
        } | null,
        Name
      >;
      nextOrganization: FunctionReference<
        "query",
        "internal",
        { after?: string },
        string | null,
        Name
      >;
      nextRole: FunctionReference<
        "query",
        "internal",
        { after?: string },
        string | null,
        Name
      >;
      reconcileBatch: FunctionReference<
        "mutation",
        "internal",
        { onEvent?: string; retentionDays?: number; runId: string },
        {
          applied: number;
          run: {
            counts: {
              memberships: number;
              organizations: number;
              permissions: number;
              removed: number;
              roles: number;
              skipped: number;
              unchanged: number;
              users: number;
            };
            cursor?: string;
            exactPermissions?: boolean;
            finishedAt?: number;
            heartbeatAt: number;
            lastError?: string;
            orgCode?: string;
            pages: number;
            paging?: {
              checkpoint: string;
              pages: number;
              recent: Array<string>;
            };
            phase:
              | "roles"
              | "rolePermissions"
              | "permissions"
              | "organizations"
              | "users"
              | "memberships"
              | "reconcile"
              | "done";
            reconcile: boolean;
            resumeAfter?: string;
            runId: string;
            skippedMemberships?: {
              count: number;
              users: Array<{ count: number; kindeId: string }>;
            };
            startedAt: number;
            status: "running" | "done" | "failed";
            vanished?: { count: number; orgCodes: Array<string> };
            waiting?: {
              reason: string;
              resumesAt: number;
              tries: { failures: number; rateLimited: number; request: string };
            };
          };
          shares: {
            bytesRead: number;
            bytesWritten: number;
            databaseQueries: number;
            documentsRead: number;
            documentsWritten: number;
            functionsScheduled: number;
          };
          unknownRoleKeys?: Array<string>;
        },
        Name
      >;
      start: FunctionReference<
        "mutation",
        "internal",
        {
          exactPermissions?: boolean;
          reconcile: boolean;
          restart?: boolean;
          runId?: string;
        },
        {
          outcome: "started" | "resumed" | "continued" | "running";
          run: {
            counts: {
              memberships: number;
              organizations: number;
              permissions: number;
              removed: number;
              roles: number;
              skipped: number;
              unchanged: number;
              users: number;
            };
            cursor?: string;
            exactPermissions?: boolean;
            finishedAt?: number;
            heartbeatAt: number;
            lastError?: string;
            orgCode?: string;
            pages: number;
            paging?: {
              checkpoint: string;
              pages: number;
              recent: Array<string>;
            };
            phase:
              | "roles"
              | "rolePermissions"
              | "permissions"
              | "organizations"
              | "users"
              | "memberships"
              | "reconcile"
              | "done";
            reconcile: boolean;
            resumeAfter?: string;
            runId: string;
            skippedMemberships?: {
              count: number;
              users: Array<{ count: number; kindeId: string }>;
            };
            startedAt: number;
            status: "running" | "done" | "failed";
            vanished?: { count: number; orgCodes: Array<string> };
            waiting?: {
              reason: string;
              resumesAt: number;
              tries: { failures: number; rateLimited: number; request: string };
            };
          };
          waited?: {
            reason: string;
            resumesAt: number;
            tries: { failures: number; rateLimited: number; request: string };
          };
        },
        Name
      >;
      wait: FunctionReference<
        "mutation",
        "internal",
        {
          runId: string;
          waiting: {
            reason: string;
            resumesAt: number;
            tries: { failures: number; rateLimited: number; request: string };
          };
        },
        {
          counts: {
            memberships: number;
            organizations: number;
            permissions: number;
            removed: number;
            roles: number;
            skipped: number;
            unchanged: number;
            users: number;
          };
          cursor?: string;
          exactPermissions?: boolean;
          finishedAt?: number;
          heartbeatAt: number;
          lastError?: string;
          orgCode?: string;
          pages: number;
          paging?: { checkpoint: string; pages: number; recent: Array<string> };
          phase:
            | "roles"
            | "rolePermissions"
            | "permissions"
            | "organizations"
            | "users"
            | "memberships"
            | "reconcile"
            | "done";
          reconcile: boolean;
          resumeAfter?: string;
          runId: string;
          skippedMemberships?: {
            count: number;
            users: Array<{ count: number; kindeId: string }>;
          };
          startedAt: number;
          status: "running" | "done" | "failed";
          vanished?: { count: number; orgCodes: Array<string> };
          waiting?: {
            reason: string;
            resumesAt: number;
            tries: { failures: number; rateLimited: number; request: string };
          };
        },
        Name
      >;
    };
    billing: {
      applyCustomer: FunctionReference<
        "mutation",
        "internal",
        {
          customerId: string;
          entitlements: Array<{
            featureCode: string;
            featureName?: string;
            fixedCharge?: number;
            limitMax?: number;
            limitMin?: number;
            priceName?: string;
            unitAmount?: number;
          }>;
          fetchedAt: number;
          hook?: {
            onEvent: string;
            origin:
              | {
                  eventId: string;
                  kind: "webhook";
                  kindeType: string;
                  occurredAt: number;
                  source?: string;
                }
              | { kind: "backfill"; runId: string }
              | { fetchedAt: number; kind: "refresh" };
          };
          owner:
            | { kind: "user"; kindeId: string }
            | { kind: "organization"; orgCode: string };
          plans: Array<{ planCode: string; subscribedOn?: string }>;
        },
        { outcome: "applied" | "stale" | "missing" },
        Name
      >;
      findCustomer: FunctionReference<
        "query",
        "internal",
        { customerId: string },
        {
          owner:
            | { kind: "user"; kindeId: string }
            | { kind: "organization"; orgCode: string };
        } | null,
        Name
      >;
      getBilling: FunctionReference<
        "query",
        "internal",
        {
          owner:
            | { kind: "user"; kindeId: string }
            | { kind: "organization"; orgCode: string };
        },
        {
          customerId: string;
          entitlements: Array<{
            featureCode: string;
            featureName?: string;
            fixedCharge?: number;
            limitMax?: number;
            limitMin?: number;
            priceName?: string;
            unitAmount?: number;
          }>;
          fetchedAt: number;
          owner:
            | { kind: "user"; kindeId: string }
            | { kind: "organization"; orgCode: string };
          plans: Array<{ planCode: string; subscribedOn?: string }>;
        } | null,
        Name
      >;
      getEntitlement: FunctionReference<
        "query",
        "internal",
        { feature: string; kindeId: string; orgCode?: string },
        {
          featureCode: string;
          featureName?: string;
          fixedCharge?: number;
          limitMax?: number;
          limitMin?: number;
          priceName?: string;
          unitAmount?: number;
        } | null,
        Name
      >;
      hasEntitlement: FunctionReference<
        "query",
        "internal",
        { feature: string; kindeId: string; orgCode?: string },
        boolean,
        Name
      >;
      lastFetch: FunctionReference<
        "query",
        "internal",
        {},
        {
          customerId?: string;
          fetchedAt: number;
          owner:
            | { kind: "user"; kindeId: string }
            | { kind: "organization"; orgCode: string };
        } | null,
        Name
      >;
      setCustomerIds: FunctionReference<
        "mutation",
        "internal",
        {
          customers: Array<{
            customerId: string | null;
            owner:
              | { kind: "user"; kindeId: string }
              | { kind: "organization"; orgCode: string };
          }>;
          fetchedAt: number;
        },
        { applied: number; missing: number; stale: number },
        Name
      >;
    };
    catalog: {
      listPermissions: FunctionReference<
        "query",
        "internal",
        {},
        Array<{
          description?: string;
          key: string;
          kindeId: string;
          name?: string;
        }>,
        Name
      >;
      listRoles: FunctionReference<
        "query",
        "internal",
        {},
        Array<{
          description?: string;
          isDefaultRole?: boolean;
          key: string;
          kindeId: string;
          name?: string;
        }>,
        Name
      >;
    };
    enrichment: {
      applyOrganization: FunctionReference<
        "mutation",
        "internal",
        {
          fetchedAt: number;
          onEvent?: string;
          orgCode: string;
          properties: Record<string, string>;
          runId?: string;
        },
        { outcome: "applied" | "stale" | "missing"; trimmed: boolean },
        Name
      >;
      applyUsers: FunctionReference<
        "mutation",
        "internal",
        {
          fetchedAt: number;
          onEvent?: string;
          runId?: string;
          users: Array<{
            details?: {
              createdAt?: number;
              identities?: Array<{ identity?: string; type: string }>;
              lastSignedInAt?: number;
              picture?: string;
              totalSignIns?: number;
            };
            kindeId: string;
            properties?: Record<string, string>;
          }>;
        },
        {
          applied: number;
          handled: number;
          missing: number;
          stale: number;
          trimmed: number;
        },
        Name
      >;
      begin: FunctionReference<
        "mutation",
        "internal",
        { entityId: string; kind: "user" | "organization" },
        { fetchedAt: number } | null,
        Name
      >;
      request: FunctionReference<
        "mutation",
        "internal",
        {
          delayMs?: number;
          entityId: string;
          kind: "user" | "organization";
          refresh: string;
        },
        { scheduled: boolean },
        Name
      >;
    };
    events: {
      listEntityEvents: FunctionReference<
        "query",
        "internal",
        {
          entityId: string;
          entityKind: "user" | "organization" | "role" | "permission";
          paginationOpts: {
            cursor: string | null;
            endCursor?: string | null;
            id?: number;
            maximumBytesRead?: number;
            maximumRowsRead?: number;
            numItems: number;
          };
        },
        {
          continueCursor: string;
          isDone: boolean;
          page: Array<{
            entityId?: string;
            entityKind?: "user" | "organization" | "role" | "permission";
            error?: string;
            eventId: string;
            occurredAt: number;
            outcome:
              | "applied"
              | "delivered"
              | "stale"
              | "expired"
              | "ignored"
              | "future"
              | "failed";
            receivedAt: number;
            source?: string;
            type: string;
            unmatchedKeys?: Array<string>;
            webhookId?: string;
          }>;
          pageStatus?: "SplitRecommended" | "SplitRequired" | null;
          splitCursor?: string | null;
        },
        Name
      >;
      listEvents: FunctionReference<
        "query",
        "internal",
        {
          paginationOpts: {
            cursor: string | null;
            endCursor?: string | null;
            id?: number;
            maximumBytesRead?: number;
            maximumRowsRead?: number;
            numItems: number;
          };
        },
        {
          continueCursor: string;
          isDone: boolean;
          page: Array<{
            entityId?: string;
            entityKind?: "user" | "organization" | "role" | "permission";
            error?: string;
            eventId: string;
            occurredAt: number;
            outcome:
              | "applied"
              | "delivered"
              | "stale"
              | "expired"
              | "ignored"
              | "future"
              | "failed";
            receivedAt: number;
            source?: string;
            type: string;
            unmatchedKeys?: Array<string>;
            webhookId?: string;
          }>;
          pageStatus?: "SplitRecommended" | "SplitRequired" | null;
          splitCursor?: string | null;
        },
        Name
      >;
    };
    organizations: {
      getOrganization: FunctionReference<
        "query",
        "internal",
        { code: string },
        {
          code: string;
          externalId?: string;
          handle?: string;
          isAllowRegistrations?: boolean;
          name?: string;
          properties?: Record<string, string>;
        } | null,
        Name
      >;
      listMembers: FunctionReference<
        "query",
        "internal",
        {
          orgCode: string;
          paginationOpts: {
            cursor: string | null;
            endCursor?: string | null;
            id?: number;
            maximumBytesRead?: number;
            maximumRowsRead?: number;
            numItems: number;
          };
        },
        {
          continueCursor: string;
          isDone: boolean;
          page: Array<{
            createdAt?: number;
            email?: string;
            firstName?: string;
            identities?: Array<{ identity?: string; type: string }>;
            isSuspended: boolean;
            kindeId: string;
            lastName?: string;
            permissions: Array<string>;
            phone?: string;
            picture?: string;
            properties?: Record<string, string>;
            roles: Array<string>;
            totalSignIns?: number;
            username?: string;
          }>;
          pageStatus?: "SplitRecommended" | "SplitRequired" | null;
          splitCursor?: string | null;
        },
        Name
      >;
      listOrganizations: FunctionReference<
        "query",
        "internal",
        {
          paginationOpts: {
            cursor: string | null;
            endCursor?: string | null;
            id?: number;
            maximumBytesRead?: number;
            maximumRowsRead?: number;
            numItems: number;
          };
        },
        {
          continueCursor: string;
          isDone: boolean;
          page: Array<{
            code: string;
            externalId?: string;
            handle?: string;
            isAllowRegistrations?: boolean;
            name?: string;
            properties?: Record<string, string>;
          }>;
          pageStatus?: "SplitRecommended" | "SplitRequired" | null;
          splitCursor?: string | null;
        },
        Name
      >;
      listUserOrganizations: FunctionReference<
        "query",
        "internal",
        { kindeId: string },
        Array<{
          handle?: string;
          name?: string;
          orgCode: string;
          permissions: Array<string>;
          roles: Array<string>;
        }>,
        Name
      >;
    };
    status: {
      getSyncStatus: FunctionReference<
        "query",
        "internal",
        {},
        {
          lastEvent: {
            entityId?: string;
            entityKind?: "user" | "organization" | "role" | "permission";
            error?: string;
            eventId: string;
            occurredAt: number;
            outcome:
              | "applied"
              | "delivered"
              | "stale"
              | "expired"
              | "ignored"
              | "future"
              | "failed";
            receivedAt: number;
            source?: string;
            type: string;
            unmatchedKeys?: Array<string>;
            webhookId?: string;
          } | null;
          lastUnappliedEvent: {
            entityId?: string;
            entityKind?: "user" | "organization" | "role" | "permission";
            error?: string;
            eventId: string;
            occurredAt: number;
            outcome:
              | "applied"
              | "delivered"
              | "stale"
              | "expired"
              | "ignored"
              | "future"
              | "failed";
            receivedAt: number;
            source?: string;
            type: string;
            unmatchedKeys?: Array<string>;
            webhookId?: string;
          } | null;
          organizations: number;
          unappliedEvents: number;
          users: number;
        },
        Name
      >;
    };
    users: {
      getUser: FunctionReference<
        "query",
        "internal",
        { kindeId: string },
        {
          createdAt?: number;
          email?: string;
          firstName?: string;
          identities?: Array<{ identity?: string; type: string }>;
          isPasswordResetRequested: boolean;
          isSuspended: boolean;
          kindeId: string;
          lastName?: string;
          lastSignedInAt?: number;
          organizations: Array<{
            orgCode: string;
            permissions: Array<string>;
            roles: Array<string>;
          }>;
          phone?: string;
          picture?: string;
          properties?: Record<string, string>;
          totalSignIns?: number;
          username?: string;
        } | null,
        Name
      >;
      getUserByEmail: FunctionReference<
        "query",
        "internal",
        { email: string },
        {
          createdAt?: number;
          email?: string;
          firstName?: string;
          identities?: Array<{ identity?: string; type: string }>;
          isPasswordResetRequested: boolean;
          isSuspended: boolean;
          kindeId: string;
          lastName?: string;
          lastSignedInAt?: number;
          organizations: Array<{
            orgCode: string;
            permissions: Array<string>;
            roles: Array<string>;
          }>;
          phone?: string;
          picture?: string;
          properties?: Record<string, string>;
          totalSignIns?: number;
          username?: string;
        } | null,
        Name
      >;
      getUserByPhone: FunctionReference<
        "query",
        "internal",
        { phone: string },
        {
          createdAt?: number;
          email?: string;
          firstName?: string;
          identities?: Array<{ identity?: string; type: string }>;
          isPasswordResetRequested: boolean;
          isSuspended: boolean;
          kindeId: string;
          lastName?: string;
          lastSignedInAt?: number;
          organizations: Array<{
            orgCode: string;
            permissions: Array<string>;
            roles: Array<string>;
          }>;
          phone?: string;
          picture?: string;
          properties?: Record<string, string>;
          totalSignIns?: number;
          username?: string;
        } | null,
        Name
      >;
      listUsers: FunctionReference<
        "query",
        "internal",
        {
          paginationOpts: {
            cursor: string | null;
            endCursor?: string | null;
            id?: number;
            maximumBytesRead?: number;
            maximumRowsRead?: number;
            numItems: number;
          };
        },
        {
          continueCursor: string;
          isDone: boolean;
          page: Array<{
            createdAt?: number;
            email?: string;
            firstName?: string;
            identities?: Array<{ identity?: string; type: string }>;
            isPasswordResetRequested: boolean;
            isSuspended: boolean;
            kindeId: string;
            lastName?: string;
            lastSignedInAt?: number;
            organizations: Array<{
              orgCode: string;
              permissions: Array<string>;
              roles: Array<string>;
            }>;
            phone?: string;
            picture?: string;
            properties?: Record<string, string>;
            totalSignIns?: number;
            username?: string;
          }>;
          pageStatus?: "SplitRecommended" | "SplitRequired" | null;
          splitCursor?: string | null;
        },
        Name
      >;
    };
    webhooks: {
      applyEvent: FunctionReference<
        "mutation",
        "internal",
        {
          event:
            | {
                eventId: string;
                occurredAt: number;
                source?: string;
                type: "user.created" | "user.updated";
                user: {
                  email?: string;
                  firstName?: string;
                  isPasswordResetRequested: boolean;
                  isSuspended: boolean;
                  kindeId: string;
                  lastName?: string;
                  organizations: Array<{
                    orgCode: string;
                    permissions: Array<{ key: string; kindeId: string }>;
                    roles: Array<{ key: string; kindeId: string }>;
                  }>;
                  phone?: string;
                  username?: string;
                };
              }
            | {
                eventId: string;
                kindeId: string;
                occurredAt: number;
                source?: string;
                type: "user.deleted" | "user.authenticated";
              }
            | {
                eventId: string;
                occurredAt: number;
                organization: {
                  code: string;
                  externalId?: string;
                  handle?: string;
                  isAllowRegistrations?: boolean;
                  name?: string;
                };
                source?: string;
                type: "organization.created" | "organization.updated";
              }
            | {
                eventId: string;
                occurredAt: number;
                orgCode: string;
                source?: string;
                type: "organization.deleted";
              }
            | {
                eventId: string;
                occurredAt: number;
                role: {
                  description?: string;
                  isDefaultRole?: boolean;
                  key: string;
                  kindeId: string;
                  name?: string;
                };
                source?: string;
                type: "role.created" | "role.updated";
              }
            | {
                eventId: string;
                kindeId: string;
                occurredAt: number;
                source?: string;
                type: "role.deleted";
              }
            | {
                eventId: string;
                occurredAt: number;
                permission: {
                  description?: string;
                  key: string;
                  kindeId: string;
                  name?: string;
                };
                source?: string;
                type: "permission.created" | "permission.updated";
              }
            | {
                eventId: string;
                kindeId: string;
                occurredAt: number;
                source?: string;
                type: "permission.deleted";
              }
            | {
                customer?: {
                  customerId?: string;
                  keys: Array<string>;
                  kindeId?: string;
                  orgCode?: string;
                };
                data?: { json: string } | { omitted: string };
                eventId: string;
                ipAddress?: string;
                kindeType: string;
                occurredAt: number;
                source?: string;
                type: "unhandled";
              };
          onEvent?: string;
          refresh?: {
            afterSignInMs?: number;
            billing?: boolean;
            handle: string;
            organizations: boolean;
            users: boolean;
          };
          retentionDays?: number;
          webhookId?: string;
        },
        {
          outcome:
            | "applied"
            | "delivered"
            | "stale"
            | "expired"
            | "ignored"
            | "future"
            | "failed"
            | "duplicate";
        },
        Name
      >;
      recordFailedEvent: FunctionReference<
        "mutation",
        "internal",
        {
          entityId?: string;
          entityKind?: "user" | "organization" | "role" | "permission";
          error: string;
          eventId: string;
          occurredAt: number;
          retentionDays?: number;
          source?: string;
          type: string;
          webhookId?: string;
        },
        { outcome: "failed" | "duplicate" },
        Name
      >;
    };
  };
