/**
 * The bench app's router: the component's webhook mounted exactly as the
 * example app mounts it, and the baselines beside it.
 */
import { httpRouter } from "convex/server";
import { kinde } from "../../example/convex/kinde.js";
import {
  fetchAndMutation,
  fetchOnly,
  safeComponentWebhook,
  safeWebhook,
  unsafeWebhook,
} from "./floors.js";

export const ROUTES = {
  ours: "/kinde/webhook",
  safe: "/bench/safe",
  safeComponent: "/bench/safe-component",
  unsafe: "/bench/unsafe",
  fetchOnly: "/bench/fetch-only",
  fetchAndMutation: "/bench/fetch-and-mutation",
} as const;

const http = httpRouter();
kinde.registerRoutes(http);
http.route({ path: ROUTES.safe, method: "POST", handler: safeWebhook });
http.route({ path: ROUTES.safeComponent, method: "POST", handler: safeComponentWebhook });
http.route({ path: ROUTES.unsafe, method: "POST", handler: unsafeWebhook });
http.route({ path: ROUTES.fetchOnly, method: "POST", handler: fetchOnly });
http.route({ path: ROUTES.fetchAndMutation, method: "POST", handler: fetchAndMutation });

export default http;
