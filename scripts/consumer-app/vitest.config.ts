import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    environment: "edge-runtime",
    // convex-kinde/test ships TypeScript that uses import.meta.glob: let Vite transform it.
    server: { deps: { inline: ["convex-kinde", "convex-test"] } },
  },
});
