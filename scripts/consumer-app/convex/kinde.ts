import { Kinde } from "convex-kinde";
import { components } from "./_generated/api";

export const kinde = new Kinde(components.kinde);
