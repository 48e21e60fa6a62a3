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
    users: {
      getUser: FunctionReference<
        "query",
        "internal",
        { kindeId: string },
        {
          email?: string;
          firstName?: string;
          isPasswordResetRequested: boolean;
          isSuspended: boolean;
          kindeId: string;
          lastName?: string;
          lastSignedInAt?: number;
          organizations: Array<{
            code: string;
            permissions: Array<string>;
            roles: Array<string>;
          }>;
          phone?: string;
          username?: string;
        } | null,
        Name
      >;
      getUserByEmail: FunctionReference<
        "query",
        "internal",
        { email: string },
        {
          email?: string;
          firstName?: string;
          isPasswordResetRequested: boolean;
          isSuspended: boolean;
          kindeId: string;
          lastName?: string;
          lastSignedInAt?: number;
          organizations: Array<{
            code: string;
            permissions: Array<string>;
            roles: Array<string>;
          }>;
          phone?: string;
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
            email?: string;
            firstName?: string;
            isPasswordResetRequested: boolean;
            isSuspended: boolean;
            kindeId: string;
            lastName?: string;
            lastSignedInAt?: number;
            organizations: Array<{
              code: string;
              permissions: Array<string>;
              roles: Array<string>;
            }>;
            phone?: string;
            username?: string;
          }>;
          pageStatus?: "SplitRecommended" | "SplitRequired" | null;
          splitCursor?: string | null;
        },
        Name
      >;
    };
    webhooks: {
      apply: FunctionReference<
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
                    permissions: Array<{ id: string; key: string }>;
                    roles: Array<{ id: string; key: string }>;
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
                type: "user.deleted";
              }
            | {
                eventId: string;
                kindeId: string;
                occurredAt: number;
                source?: string;
                type: "user.authenticated";
              }
            | {
                eventId: string;
                kindeType: string;
                occurredAt: number;
                source?: string;
                type: "unhandled";
              };
          webhookId?: string;
        },
        { outcome: "applied" | "duplicate" | "stale" | "ignored" },
        Name
      >;
    };
  };
