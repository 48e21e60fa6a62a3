/**
 * The events the bench delivers: Kinde-shaped payloads built with the test
 * kit, for a tenant of users who each belong to one organization with one
 * role and two permissions (a typical B2B shape).
 */
import {
  kindeOrgCode,
  kindeUserId,
  kindeUuid,
  userCreated,
  userUpdated,
  type KindeTestIssuer,
  type KindeUserPayload,
} from "convex-kinde/test";

export const ORG = kindeOrgCode();
export const EDITOR = { id: kindeUuid(), key: "editor" };
export const PUBLISH = { id: kindeUuid(), key: "publish:docs" };
export const READ = { id: kindeUuid(), key: "read:docs" };
/** A Kinde `{ id, key }` ref as the mirror holds it in a membership. */
export const heldRef = ({ id, key }: { id: string; key: string }) => ({ kindeId: id, key });

/**
 * Event times start an hour ago: recent enough for any retention window the
 * component keeps, and every later event of a user is newer than the last.
 */
export const T0 = Date.now() - 60 * 60_000;

export type Payload = ReturnType<typeof userUpdated>;

/** A member of {@link ORG} with the standard grants, plus `extra` profile fields. */
export function member(id: string, extra: Partial<KindeUserPayload> = {}): KindeUserPayload {
  return {
    id,
    email: `${id}@example.com`,
    first_name: "Ada",
    last_name: "Lovelace",
    organizations: [{ code: ORG, roles: [EDITOR], permissions: [PUBLISH, READ] }],
    ...extra,
  };
}

export interface Workload {
  users: string[];
  /** One `user.created` per user. */
  creates: Payload[];
  /** `user.updated` profile edits, round-robin over the users, each newer than the last. */
  updates: Payload[];
}

export function workload(userCount: number, updateCount: number): Workload {
  const users = Array.from({ length: userCount }, () => kindeUserId());
  const creates = users.map((id, i) => userCreated(member(id), { at: T0 + i }));
  const updates = Array.from({ length: updateCount }, (_, i) =>
    userUpdated(member(users[i % userCount]!, { first_name: `Ada ${i}` }), {
      at: T0 + 60_000 + i,
    }),
  );
  return { users, creates, updates };
}

/** Signs payloads with `issuer`'s key, a few at a time (signing is async WebCrypto). */
export async function signAll(issuer: KindeTestIssuer, payloads: object[]): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < payloads.length; i += 50) {
    tokens.push(...(await Promise.all(payloads.slice(i, i + 50).map((p) => issuer.sign(p)))));
  }
  return tokens;
}

/** Like {@link signAll} with a key the issuer does not publish (an unknown `kid`). */
export async function forgeAll(issuer: KindeTestIssuer, payloads: object[]): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < payloads.length; i += 50) {
    tokens.push(
      ...(await Promise.all(payloads.slice(i, i + 50).map((p) => issuer.signWithUnknownKey(p)))),
    );
  }
  return tokens;
}
