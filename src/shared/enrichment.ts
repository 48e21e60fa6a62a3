/**
 * Enrichment: what Kinde's Management API knows of a user or an organization
 * that no webhook carries (a picture, when the user was created, sign-ins,
 * identities, custom properties). Opt-in (`KindeOptions.enrichment`), fetched
 * by the host's refresh action and the backfill, and stored on the
 * user's or organization's own row, so reading a user stays one document.
 *
 * Each part is written with the time its fetch began (`fetchedAt`): a fetch
 * that began before the stored one never overwrites it, and none brings back
 * a deleted user or organization (a refresh only patches a row that exists).
 */
import { v, type Infer } from "convex/values";

/** One way a user signs in, as Kinde lists it: never a secret or a token. */
export const vIdentity = v.object({
  /** Kinde's identity type, e.g. `email`, `phone`, `username`, `oauth2:google`. */
  type: v.string(),
  /** What the user signs in with (an address, a number, a name), when Kinde says. */
  identity: v.optional(v.string()),
});
export type KindeIdentity = Infer<typeof vIdentity>;

/** Custom property values by key (`plan_tier: "pro"`). Kinde's values are text. */
export const vProperties = v.record(v.string(), v.string());
export type KindeProperties = Infer<typeof vProperties>;

/** The user details enrichment can keep, as `KindeOptions.enrichment.details` names them. */
export const DETAIL_FIELDS = ["picture", "createdAt", "signIns", "identities"] as const;
export type DetailField = (typeof DETAIL_FIELDS)[number];

/**
 * A user's details as one Management API read of the user gave them
 * (`GET /api/v1/users` or `GET /api/v1/user`): every field the read
 * carried, so a field Kinde no longer lists is removed.
 */
export const vUserDetails = v.object({
  /** Profile picture URL. */
  picture: v.optional(v.string()),
  /** When the user was created in Kinde, ms since epoch. */
  createdAt: v.optional(v.number()),
  /** How many times the user has signed in (Kinde's `total_sign_ins`). */
  totalSignIns: v.optional(v.number()),
  /** Kinde's `last_signed_in`, ms since epoch: merged into the user's `lastSignedInAt`, never moving it back. */
  lastSignedInAt: v.optional(v.number()),
  identities: v.optional(v.array(vIdentity)),
});
export type UserDetails = Infer<typeof vUserDetails>;

/** The most custom properties kept per user or organization; more are dropped with a warning. */
export const MAX_PROPERTIES = 100;
/** The longest property key, value, picture URL or identity kept, in characters; longer ones are dropped. */
export const MAX_ENRICHMENT_TEXT = 1024;
/** The most identities kept per user. */
export const MAX_IDENTITIES = 20;
