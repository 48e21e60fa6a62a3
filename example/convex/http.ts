import { httpRouter } from "convex/server";
import { kinde } from "./kinde.js";

const http = httpRouter();

kinde.registerRoutes(http);

export default http;
