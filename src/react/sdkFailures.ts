/**
 * The text of a failure of Kinde's SDK: `SecurityError: The operation is insecure.` for a
 * DOMException or Error (its name says what kind of failure it was), the value itself otherwise.
 */
export function describeSdkFailure(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** What is logged when Kinde's SDK cannot hand over a token for Convex. */
export function sdkFailureMessage(failure: string, domain: string): string {
  return (
    `[convex-kinde] Kinde's SDK failed to give a token for Convex (${failure}), so Convex treats ` +
    `the user as signed out. A SecurityError means the browser refuses this site storage ` +
    `(blocked site data, a sandboxed iframe); a failed fetch, that ${domain} could not be ` +
    `reached to refresh the token. Logged again only after Kinde's SDK answers once more.`
  );
}

/**
 * Logs Kinde's SDK failing, once per streak of failures. Convex asks for a token at least twice
 * for each sign-in (the stored token, then a forced refresh) and again on every reconnect, and
 * a browser that refuses storage fails every time. A streak ends when the SDK answers; a
 * failure with a different text within one is a new cause, and is logged too.
 */
export function sdkFailureLog(log: (message: string) => void = (m) => console.error(m)) {
  let logged: string | null = null;
  return {
    failed(error: unknown, domain: string): void {
      const failure = describeSdkFailure(error);
      if (failure === logged) return;
      logged = failure;
      log(sdkFailureMessage(failure, domain));
    },
    answered(): void {
      logged = null;
    },
  };
}

export type SdkFailureLog = ReturnType<typeof sdkFailureLog>;
