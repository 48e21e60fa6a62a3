// Settings from the environment (Vite inlines VITE_* variables at build time).
// See example/.env.example for what each one is.

const env = import.meta.env;

function read(value: string | undefined): string {
  return value?.trim() ?? "";
}

export const convexUrl = read(env.VITE_CONVEX_URL);

export const kindeConfig = {
  /** Your Kinde domain, e.g. https://acme.kinde.com. No trailing slash: the SDK appends paths. */
  domain: read(env.VITE_KINDE_DOMAIN).replace(/\/+$/, ""),
  clientId: read(env.VITE_KINDE_CLIENT_ID),
  /** Must be listed in Kinde under "Allowed callback URLs", character for character. */
  redirectUri: read(env.VITE_KINDE_REDIRECT_URL) || window.location.origin,
  /** Must be listed in Kinde under "Allowed logout redirect URLs". */
  logoutUri: read(env.VITE_KINDE_LOGOUT_URL) || window.location.origin,
};

/** The required variables that are not set, so the app can say so instead of failing blank. */
export const missingConfig: string[] = Object.entries({
  VITE_CONVEX_URL: convexUrl,
  VITE_KINDE_DOMAIN: kindeConfig.domain,
  VITE_KINDE_CLIENT_ID: kindeConfig.clientId,
})
  .filter(([, value]) => !value)
  .map(([name]) => name);
