// convex-kinde/react: sign Convex in with Kinde, and read the mirror from React.
// Needs `react` and `convex` (optional peer dependencies of convex-kinde); never loads
// Kinde's SDK itself, which the app passes in (`useKindeAuth`).
export {
  ConvexProviderWithKinde,
  type ConvexProviderWithKindeProps,
} from "./ConvexProviderWithKinde.js";
export {
  useAuthFromKinde,
  type ConvexAuthFromKinde,
  type KindeAuthState,
  type KindeTokenType,
  type UseAuthFromKindeOptions,
} from "./useAuthFromKinde.js";
export {
  useKindeUser,
  useKindeOrganizations,
  useHasPermission,
  useHasRole,
  useHasEntitlement,
  type KindeUserQueries,
  type CheckOptions,
} from "./hooks.js";
