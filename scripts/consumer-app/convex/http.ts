import { httpRouter } from "convex/server";
import { kinde } from "./kinde";

const http = httpRouter();
kinde.registerRoutes(http);
export default http;
