import { httpRouter } from "convex/server";
import { internal } from "./_generated/api.js";
import { kinde } from "./kinde.js";

const http = httpRouter();

kinde.registerRoutes(http, { onEvent: internal.kinde.onKindeEvent });

export default http;
