/**
 * Tenant shapes seen in the field, for backfill tests and the bench: each is
 * what the Management API stand-in serves (see `startKindeManagementApi`),
 * deterministic, with Kinde's id shapes. Sizes are parameters so CI runs
 * them small and a scale run large.
 */
import type {
  Tenant,
  TenantIdentity,
  TenantOrganization,
  TenantPermission,
  TenantRole,
  TenantUser,
} from "./managementApi.js";

export type TenantShape =
  /** Thousands of users, no organizations (a B2C app). */
  | "flat"
  /** One organization holding every user, each with 2–3 roles (a B2B customer). */
  | "oneBigOrganization"
  /** Users who belong to 40+ organizations each (consultants, support staff). */
  | "powerUsers"
  /** A catalog of 150+ roles granting several permissions each, users holding a few. */
  | "bigCatalog";

export interface TenantShapeOptions {
  /** Users in the tenant. */
  users: number;
  /** Organizations each user belongs to (`powerUsers`; default 45). */
  organizationsPerUser?: number;
  /** Roles in the catalog (`bigCatalog`; default 160). */
  roles?: number;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

function catalog(roleCount: number, permissionsPerRole: number, permissionCount: number) {
  const permissions: TenantPermission[] = Array.from({ length: permissionCount }, (_, i) => ({
    id: `0190a1b2-2222-7000-8000-${hex(i + 1, 12)}`,
    key: `perm:${i + 1}`,
    name: `Permission ${i + 1}`,
    description: i % 3 === 0 ? null : "",
  }));
  const roles: TenantRole[] = Array.from({ length: roleCount }, (_, i) => ({
    id: `0190a1b2-3333-7000-8000-${hex(i + 1, 12)}`,
    key: `role-${i + 1}`,
    name: `Role ${i + 1}`,
    description: i % 2 ? `Grants ${permissionsPerRole} permissions` : null,
    is_default_role: i === 0,
  }));
  // Each role grants a window of the permissions: neighbouring roles overlap.
  const rolePermissions = Object.fromEntries(
    roles.map((role, i) => [
      role.id,
      Array.from(
        { length: Math.min(permissionsPerRole, permissionCount) },
        (_, j) => permissions[(i * 2 + j) % permissionCount]!.id,
      ),
    ]),
  );
  return { roles, permissions, rolePermissions };
}

function organizations(count: number): TenantOrganization[] {
  return Array.from({ length: count }, (_, i) => ({
    code: `org_${hex(0xa0000 + i, 11)}`,
    name: `Customer ${i + 1}`,
    handle: i % 4 === 3 ? null : `customer-${i + 1}`,
    external_id: i % 2 ? `crm-${i + 1}` : null,
  }));
}

/** Users with the profile variety real tenants have: phone-only, no names, suspended. */
function people(count: number, prefix: number): TenantUser[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `kp_${hex(prefix, 4)}${hex(i + 1, 28)}`,
    email: i % 10 === 9 ? "" : `person${i + 1}@example.com`,
    phone: i % 10 === 9 ? `+4420${hex(i, 8)}` : null,
    username: i % 7 === 0 ? `person${i + 1}` : null,
    first_name: i % 11 === 5 ? null : "Person",
    last_name: i % 11 === 5 ? "" : `${i + 1}`,
    is_suspended: i % 97 === 96,
  }));
}

/** A tenant of the given shape. */
export function makeTenantShape(shape: TenantShape, options: TenantShapeOptions): Tenant {
  const users = people(options.users, shape.length);
  switch (shape) {
    case "flat":
      return { ...catalog(3, 2, 4), organizations: [], users, members: {} };
    case "oneBigOrganization": {
      const roles = catalog(6, 3, 12);
      const [org] = organizations(1);
      const keys = roles.roles.map((r) => r.key);
      const members = Object.fromEntries(
        users.map((user, i) => [
          user.id,
          Array.from({ length: 2 + (i % 2) }, (_, j) => keys[(i + j) % keys.length]!),
        ]),
      );
      return { ...roles, organizations: [org!], users, members: { [org!.code]: members } };
    }
    case "powerUsers": {
      const perUser = options.organizationsPerUser ?? 45;
      const roles = catalog(4, 2, 6);
      const orgs = organizations(perUser + 5);
      const members: Tenant["members"] = Object.fromEntries(orgs.map((o) => [o.code, {}]));
      users.forEach((user, i) => {
        for (let j = 0; j < perUser; j++) {
          const org = orgs[(i + j) % orgs.length]!;
          members[org.code]![user.id] = j % 3 === 2 ? [] : [roles.roles[(i + j) % 4]!.key];
        }
      });
      return { ...roles, organizations: orgs, users, members };
    }
    case "bigCatalog": {
      const roleCount = options.roles ?? 160;
      const roles = catalog(roleCount, 6, roleCount * 2);
      const orgs = organizations(3);
      const members: Tenant["members"] = Object.fromEntries(orgs.map((o) => [o.code, {}]));
      users.forEach((user, i) => {
        for (let j = 0; j < 1 + (i % 3); j++) {
          const org = orgs[(i + j) % orgs.length]!;
          members[org.code]![user.id] = Array.from(
            { length: 2 + (i % 2) },
            (_, k) => roles.roles[(i * 7 + j * 13 + k * 29) % roleCount]!.key,
          );
        }
      });
      return { ...roles, organizations: orgs, users, members };
    }
  }
}

/** What the mirror should hold of a tenant's user: its organizations, role keys and granted permission keys, sorted. */
export function expectedMemberships(tenant: Tenant, kindeId: string) {
  const roleByKey = new Map(tenant.roles.map((r) => [r.key, r]));
  const permissionById = new Map(tenant.permissions.map((p) => [p.id, p]));
  return Object.entries(tenant.members)
    .filter(([, members]) => kindeId in members)
    .map(([orgCode, members]) => {
      const roles = [...new Set(members[kindeId])].sort();
      const permissions = new Set(
        roles.flatMap((key) =>
          (tenant.rolePermissions[roleByKey.get(key)?.id ?? ""] ?? []).map(
            (id) => permissionById.get(id)!.key,
          ),
        ),
      );
      return { orgCode, roles, permissions: [...permissions].sort() };
    })
    .sort((a, b) => a.orgCode.localeCompare(b.orgCode));
}

/**
 * Gives `tenant`'s first users the enrichment data real tenants send at its
 * most awkward (and returns the tenant): timestamps with microseconds and
 * offsets, `""` and `null` for values, a picture URL longer than enrichment
 * keeps, identities past the most kept (with `connection_id`s), more than
 * 100 properties, values past the longest kept, and keys a document may not
 * hold. Every user's own value stays where the case does not touch it.
 */
export function withHostileEnrichment(tenant: Tenant): Tenant {
  if (tenant.users.length < 4) {
    throw new Error("withHostileEnrichment: the tenant needs at least 4 users");
  }
  const [offsets, blanks, many, odd] = tenant.users as [
    TenantUser,
    TenantUser,
    TenantUser,
    TenantUser,
  ];
  Object.assign(offsets, {
    picture: "  https://lh3.googleusercontent.com/a/ACg8ocJ=s96-c  ",
    created_on: "2023-11-30T23:59:59.999999-05:30",
    last_signed_in: "2024-02-29T08:00:00.000001+14:00",
    total_sign_ins: 0,
  });
  Object.assign(blanks, {
    picture: "",
    created_on: null,
    last_signed_in: "",
    total_sign_ins: null,
    identities: [
      { type: "", identity: null },
      { type: null, identity: "x" },
    ],
    properties: { kp_plan: "", kp_region: null },
  });
  Object.assign(many, {
    picture: `https://example.com/${"p".repeat(1100)}.png`,
    identities: Array.from({ length: 25 }, (_, i): TenantIdentity => ({
      type: i % 2 ? "email" : "oauth2:github",
      identity: `alias${i}@example.com`,
      connection_id: i % 2 ? null : `conn_${hex(i, 28)}`,
    })),
    properties: Object.fromEntries(
      Array.from({ length: 130 }, (_, i) => [`kp_custom_${hex(129 - i, 3)}`, `value ${i}`]),
    ),
  });
  Object.assign(odd, {
    properties: {
      kp_plan: "pro",
      kp_long: "v".repeat(2000),
      $where: "1",
      _id: "2",
      kp_région: "3",
      "kp.dotted key": "kept",
    },
  });
  return tenant;
}
