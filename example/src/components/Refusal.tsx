import { useKindeAuth } from "@kinde-oss/kinde-auth-react";
import { isKindeAuthorizationError } from "convex-kinde";

/**
 * Explains why a call failed. `requireMember` / `requirePermission` / `requireRole` throw a
 * ConvexError whose data says which refusal it was: `unauthenticated` (Convex does not know who
 * is calling), `forbidden` (known, but not allowed here) or, from `requireEntitlement`,
 * `notEntitled` (the plan lacks the feature). Without `onDismiss`, it stays.
 */
export function Refusal({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
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
            <Dismiss onDismiss={onDismiss} />
          </div>
        </div>
      );
    }
    if (refusal.kind === "notEntitled") {
      return (
        <div className="notice danger" role="alert">
          <p>
            <strong>Not in your plan.</strong> {refusal.message}
          </p>
          <Dismiss onDismiss={onDismiss} />
        </div>
      );
    }
    const needs = refusal.permission
      ? `the permission "${refusal.permission}"`
      : refusal.role
        ? `the role "${refusal.role}"`
        : null;
    return (
      <div className="notice danger" role="alert">
        <p>
          <strong>Refused.</strong> {refusal.message}
        </p>
        <p className="small">
          {needs ? (
            <>
              In Kinde, give yourself {needs} in <code>{refusal.orgCode}</code> (through a role or
              directly) and try again
            </>
          ) : (
            <>
              Only members of <code>{refusal.orgCode}</code> who are not suspended get here: in
              Kinde, add yourself to it (or lift the suspension)
            </>
          )}
          : the check reads the mirror, so it passes as soon as Kinde's <code>user.updated</code>{" "}
          arrives, with no new sign-in.
        </p>
        <Dismiss onDismiss={onDismiss} />
      </div>
    );
  }

  return (
    <div className="notice danger" role="alert">
      <p>
        <strong>Something went wrong.</strong>{" "}
        {error instanceof Error ? error.message : String(error)}
      </p>
      <Dismiss onDismiss={onDismiss} />
    </div>
  );
}

function Dismiss({ onDismiss }: { onDismiss: (() => void) | undefined }) {
  if (!onDismiss) return null;
  return (
    <button type="button" onClick={onDismiss}>
      Dismiss
    </button>
  );
}
