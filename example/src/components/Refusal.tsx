import { useKindeAuth } from "@kinde-oss/kinde-auth-react";
import { isKindeAuthorizationError } from "convex-kinde";

/**
 * Explains why a mutation failed. `requirePermission` / `requireRole` throw a ConvexError
 * whose data says which refusal it was: `unauthenticated` (Convex does not know who is
 * calling) or `forbidden` (known, but not allowed here).
 */
export function Refusal({ error, onDismiss }: { error: unknown; onDismiss: () => void }) {
  const { login } = useKindeAuth();

  if (isKindeAuthorizationError(error)) {
    const refusal = error.data;
    if (refusal.kind === "unauthenticated") {
      return (
        <div className="notice warning" role="alert">
          <p>
            <strong>Not signed in.</strong> Convex no longer knows who you are (your session may
            have expired).
          </p>
          <div className="row">
            <button type="button" className="primary" onClick={() => void login()}>
              Sign in again
            </button>
            <button type="button" onClick={onDismiss}>
              Dismiss
            </button>
          </div>
        </div>
      );
    }
    const needs = refusal.permission
      ? `the permission "${refusal.permission}"`
      : `the role "${refusal.role}"`;
    return (
      <div className="notice danger" role="alert">
        <p>
          <strong>Refused.</strong> {refusal.message}
        </p>
        <p className="small">
          In Kinde, give yourself {needs} in <code>{refusal.orgCode}</code> (through a role or
          directly) and try again: the check reads the mirror, so it passes as soon as Kinde's{" "}
          <code>user.updated</code> arrives, with no new sign-in.
        </p>
        <button type="button" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
    );
  }

  return (
    <div className="notice danger" role="alert">
      <p>
        <strong>Something went wrong.</strong>{" "}
        {error instanceof Error ? error.message : String(error)}
      </p>
      <button type="button" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
