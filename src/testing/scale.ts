/**
 * How large the scale cases run. `npm test` and CI run each scale-sensitive case
 * at the smallest size that still crosses the boundary the case is about;
 * `npm run test:scale` (`KINDE_SCALE=1`) runs the same cases at the sizes of
 * the tenants they stand for (minutes each on convex-test, whose indexed reads
 * scan their tables). See CONTRIBUTING.md.
 */
export const AT_SCALE = process.env.KINDE_SCALE === "1";

/** `ci` under `npm test` and CI, `scale` under `npm run test:scale`. */
export function sized<T>(ci: T, scale: T): T {
  return AT_SCALE ? scale : ci;
}
