import { Kinde } from "convex-kinde";
import { components } from "./_generated/api.js";

export const kinde = new Kinde(components.kinde);
