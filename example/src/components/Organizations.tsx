import { useQuery } from "convex/react";
import type { OrganizationMembership } from "convex-kinde";
import { useKindeOrganizations } from "convex-kinde/react";
import { api } from "../../convex/_generated/api";

/**
 * The signed-in user's organizations, with the role and permission keys they hold in
 * each: the same data `hasRole` / `hasPermission` check, live from the mirror.
 */
export function Organizations({
  memberships,
  selected,
  onSelect,
}: {
  memberships: OrganizationMembership[];
  selected: string | undefined;
  onSelect: (orgCode: string) => void;
}) {
  // Kinde's catalogs, for names to show next to the keys.
  const roles = useQuery(api.organizations.roles);
  const permissions = useQuery(api.organizations.permissions);
  const roleNames = new Map(roles?.map((role) => [role.key, role.name]));
  const permissionNames = new Map(permissions?.map((p) => [p.key, p.name]));
  // The signed-in user's organizations with their names: only those, so no check is needed.
  const organizations = useKindeOrganizations(api.kindeUser);
  const organizationNames = new Map(organizations?.map((org) => [org.orgCode, org.name]));

  return (
    <section className="card">
      <h2>Your organizations</h2>
      {memberships.length === 0 ? (
        <p className="muted">
          None in the mirror. Kinde puts every user in at least one organization; memberships arrive
          with <code>user.created</code> and <code>user.updated</code>.
        </p>
      ) : (
        <ul className="orgs">
          {memberships.map((membership) => (
            <OrganizationItem
              key={membership.orgCode}
              membership={membership}
              name={organizationNames.get(membership.orgCode)}
              isSelected={membership.orgCode === selected}
              onSelect={() => onSelect(membership.orgCode)}
              roleNames={roleNames}
              permissionNames={permissionNames}
            />
          ))}
        </ul>
      )}
    </section>
  );
}

function OrganizationItem({
  membership,
  name,
  isSelected,
  onSelect,
  roleNames,
  permissionNames,
}: {
  membership: OrganizationMembership;
  name: string | undefined;
  isSelected: boolean;
  onSelect: () => void;
  roleNames: Map<string, string | undefined>;
  permissionNames: Map<string, string | undefined>;
}) {
  return (
    <li className={isSelected ? "org selected" : "org"}>
      <div className="row spread">
        <div>
          <strong>{name ?? membership.orgCode}</strong>{" "}
          {name && <code className="muted">{membership.orgCode}</code>}
        </div>
        {isSelected ? (
          <span className="badge">selected</span>
        ) : (
          <button type="button" onClick={onSelect}>
            Open documents
          </button>
        )}
      </div>
      <Keys label="Roles" keys={membership.roles} names={roleNames} />
      <Keys label="Permissions" keys={membership.permissions} names={permissionNames} />
    </li>
  );
}

function Keys({
  label,
  keys,
  names,
}: {
  label: string;
  keys: string[];
  names: Map<string, string | undefined>;
}) {
  return (
    <div className="keys">
      <span className="muted">{label}:</span>{" "}
      {keys.length === 0 ? (
        <span className="muted">none</span>
      ) : (
        keys.map((key) => (
          <code key={key} className="chip" title={names.get(key)}>
            {key}
          </code>
        ))
      )}
    </div>
  );
}
