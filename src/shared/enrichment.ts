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

/**
 * The most users one `enrichment.applyUsers` call takes: a page of Kinde's
 * users listing. It may still handle fewer (its `handled`), within the
 * transaction's limits.
 */
export const MAX_USERS_PER_APPLY = 500;

/** The user details as a user's row keeps them: `lastSignedInAt` is the row's own field. */
const { lastSignedInAt: _lastSignedInAt, ...storedDetailFields } = vUserDetails.fields;
export const vStoredDetails = v.object(storedDetailFields);
export type StoredDetails = Infer<typeof vStoredDetails>;

/**
 * What enrichment adds to a user as the host reads it (`KindeUser`,
 * `OrganizationMember`): each field absent until a fetch brought it.
 */
export const userEnrichmentFields = {
  ...storedDetailFields,
  /** The custom user properties the `enrichment` option names. */
  properties: v.optional(vProperties),
};

/** The kinds of entity enrichment refreshes. */
export const vEnrichedKind = v.union(v.literal("user"), v.literal("organization"));
export type EnrichedKind = Infer<typeof vEnrichedKind>;

/**
 * Whether `key` may name a field of a stored object: non-empty, printable
 * ASCII, not starting with `$` (Convex refuses it) or `_` (reserved for
 * Convex's own fields).
 */
export function isFieldName(key: string): boolean {
  return /^[\x20-\x7e]+$/.test(key) && !key.startsWith("$") && !key.startsWith("_");
}

/** A value within the enrichment's bounds, and what was left out to get there (empty if nothing). */
export interface Bounded<T> {
  value: T;
  dropped: string[];
}

const quoted = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

/**
 * `properties` within the bounds every stored row keeps: keys that are not
 * {@link isFieldName}s, and keys or values longer than
 * {@link MAX_ENRICHMENT_TEXT}, are dropped; past {@link MAX_PROPERTIES}
 * (in key order, so every fetch keeps the same ones) the rest are.
 */
export function boundProperties(properties: KindeProperties): Bounded<KindeProperties> {
  const dropped: string[] = [];
  const kept: [string, string][] = [];
  for (const key of Object.keys(properties).sort()) {
    const value = properties[key]!;
    if (!isFieldName(key)) dropped.push(`property ${quoted(key)}: not a valid field name`);
    else if (key.length > MAX_ENRICHMENT_TEXT || value.length > MAX_ENRICHMENT_TEXT) {
      dropped.push(`property ${quoted(key)}: longer than ${MAX_ENRICHMENT_TEXT} characters`);
    } else kept.push([key, value]);
  }
  if (kept.length > MAX_PROPERTIES) {
    dropped.push(`${kept.length - MAX_PROPERTIES} properties past the first ${MAX_PROPERTIES}`);
    kept.length = MAX_PROPERTIES;
  }
  return { value: Object.fromEntries(kept), dropped };
}

/**
 * `details` within the bounds: a picture URL or an identity longer than
 * {@link MAX_ENRICHMENT_TEXT} is dropped, and identities past
 * {@link MAX_IDENTITIES}.
 */
export function boundDetails(details: UserDetails): Bounded<UserDetails> {
  const dropped: string[] = [];
  const { picture, identities, ...rest } = details;
  const fits = (text: string | undefined) =>
    text === undefined || text.length <= MAX_ENRICHMENT_TEXT;
  const value: UserDetails = { ...rest };
  if (picture !== undefined) {
    if (fits(picture)) value.picture = picture;
    else dropped.push(`picture: longer than ${MAX_ENRICHMENT_TEXT} characters`);
  }
  if (identities !== undefined) {
    const short = identities.filter((i) => fits(i.type) && fits(i.identity));
    if (short.length < identities.length) {
      dropped.push(
        `${identities.length - short.length} identities longer than ${MAX_ENRICHMENT_TEXT} characters`,
      );
    }
    if (short.length > MAX_IDENTITIES) {
      dropped.push(`${short.length - MAX_IDENTITIES} identities past the first ${MAX_IDENTITIES}`);
    }
    value.identities = short.slice(0, MAX_IDENTITIES).map(({ type, identity }) => ({
      type,
      ...(identity !== undefined && { identity }),
    }));
  }
  return { value, dropped };
}
