/**
 * Phone numbers as `getUserByPhone` looks them up. Kinde stores a user's phone
 * in E.164 (`+442071838750`), and the mirror keeps it as Kinde sends it, so a
 * number typed the way people write it is brought to that form: the
 * separators people put in a number (spaces, dashes, dots, parentheses) are
 * dropped and a leading `+` is kept. Anything else stays, so a number that is
 * not E.164 after that finds nobody rather than someone else.
 */

/** Whitespace, ASCII and Unicode dashes and minus, dots and parentheses. */
const SEPARATORS = /[\s\-\u2010-\u2015\u2212.()]/g;

/** `phone` in the form Kinde stores, or "" when nothing but separators (or nothing) was given. */
export function normalizePhone(phone: string): string {
  const digits = phone.replace(SEPARATORS, "");
  return digits === "+" ? "" : digits;
}
