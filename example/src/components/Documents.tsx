import { useMutation, useQueries } from "convex/react";
import type { FunctionReturnType } from "convex/server";
import { useHasPermission, useHasRole } from "convex-kinde/react";
import { useMemo, useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { Refusal } from "./Refusal";
import { TimeAgo } from "./TimeAgo";

const PUBLISH_PERMISSION = "publish:docs";

/**
 * An organization's documents (`documents.list`, for its members), and the permission-guarded
 * `documents.publish` mutation. The form stays enabled without the permission on purpose: try it
 * and see the refusal.
 */
export function Documents({ orgCode, myKindeId }: { orgCode: string; myKindeId: string }) {
  const documents = useDocuments(orgCode);
  // Only a hint for the UI; the mutation checks again, in its own transaction.
  // Live: a webhook that revokes the permission in Kinde updates this, with no new token.
  const canPublish = useHasPermission(api.kindeUser, PUBLISH_PERMISSION, { orgCode });
  const isAdmin = useHasRole(api.kindeUser, "admin", { orgCode });
  const publish = useMutation(api.documents.publish);
  const remove = useMutation(api.documents.remove);

  const [title, setTitle] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function onPublish(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const trimmed = title.trim();
    if (!trimmed) return;
    if (await run(() => publish({ orgCode, title: trimmed }))) setTitle("");
  }

  async function onRemove(id: Id<"documents">) {
    await run(() => remove({ orgCode, id }));
  }

  return (
    <section className="card">
      <h2>
        Documents in <code>{orgCode}</code>
      </h2>

      <p className="small">
        {canPublish === undefined ? (
          <span className="muted">Checking your permissions…</span>
        ) : canPublish ? (
          <span className="badge ok">you hold {PUBLISH_PERMISSION} here</span>
        ) : (
          <span className="badge danger">you do not hold {PUBLISH_PERMISSION} here</span>
        )}{" "}
        {isAdmin === true && <span className="badge ok">admin</span>}
      </p>

      <form className="row" onSubmit={(event) => void onPublish(event)}>
        <input
          value={title}
          onChange={(event) => setTitle(event.target.value)}
          placeholder="Title of a new document"
          aria-label="Document title"
          maxLength={200}
        />
        <button type="submit" className="primary" disabled={busy || !title.trim()}>
          Publish
        </button>
      </form>

      {error !== null && <Refusal error={error} onDismiss={() => setError(null)} />}

      {documents === undefined ? (
        <p className="muted">Loading…</p>
      ) : documents instanceof Error ? (
        <Refusal error={documents} />
      ) : documents.length === 0 ? (
        <p className="muted">No documents in this organization yet.</p>
      ) : (
        <ul className="documents">
          {documents.map((doc) => (
            <li key={doc._id} className="row spread">
              <div>
                <strong>{doc.title}</strong>
                <div className="muted small">
                  by {doc.publishedBy === myKindeId ? "you" : <code>{doc.publishedBy}</code>},{" "}
                  <TimeAgo ms={doc._creationTime} />
                </div>
              </div>
              <button
                type="button"
                disabled={busy}
                title="Needs the admin role in this organization"
                onClick={() => void onRemove(doc._id)}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/**
 * `documents.list` for `orgCode`, or the error it was refused with: a member who is suspended,
 * or whose organization was just deleted, is refused, and `useQuery` would throw it at the page.
 */
function useDocuments(orgCode: string) {
  const queries = useMemo(
    () => ({ documents: { query: api.documents.list, args: { orgCode } } }),
    [orgCode],
  );
  const { documents } = useQueries(queries);
  return documents as FunctionReturnType<typeof api.documents.list> | Error | undefined;
}
