import { Kinde } from "convex-kinde";
import { components } from "./_generated/api";

export const kinde = new Kinde(components.kinde);

export const setup = kinde.setupAction(); // registers this deployment's webhook in Kinde
export const backfill = kinde.backfillAction(); // brings in what existed before the webhook
export const doctor = kinde.doctorAction(); // checks everything, says what to fix
