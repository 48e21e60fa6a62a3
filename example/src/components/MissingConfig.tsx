/** Shown instead of the app when required environment variables are not set. */
export function MissingConfig({ names }: { names: string[] }) {
  return (
    <main className="content">
      <section className="card">
        <h1>Almost there</h1>
        <p>The example needs these variables, and they are not set:</p>
        <ul>
          {names.map((name) => (
            <li key={name}>
              <code>{name}</code>
            </li>
          ))}
        </ul>
        <p>
          Put them in <code>.env.local</code> at the repository root (next to{" "}
          <code>convex.json</code>; <code>npx convex dev</code> writes <code>VITE_CONVEX_URL</code>{" "}
          there for you), then restart <code>npm run dev:example</code>. See{" "}
          <code>example/.env.example</code> and <code>example/README.md</code>.
        </p>
      </section>
    </main>
  );
}
