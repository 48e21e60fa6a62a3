import { kinde } from "./kinde.js";

// What the browser asks about the signed-in user: `api.kindeUser`, the module the hooks of
// `convex-kinde/react` take (useKindeUser, useKindeOrganizations, useHasPermission, useHasRole).
export const { user, organizations, can } = kinde.userQueries();
