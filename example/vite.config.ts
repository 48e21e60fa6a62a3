import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The example's frontend. Run from the repository root, which is the Convex project
// (convex.json points its functions at example/convex):
//   vite example          dev server on http://localhost:5173
//   vite build example    production build into example/dist
export default defineConfig({
  plugins: [react()],
  // `npx convex dev` writes VITE_CONVEX_URL into the repository root's .env.local, next to
  // convex.json; the Kinde settings go in the same file. (Relative to this folder.)
  envDir: "..",
  // Kinde redirects back to an exact URL: keep the port fixed so it always matches the
  // callback URL registered in Kinde.
  server: { port: 5173, strictPort: true },
  preview: { port: 5173, strictPort: true },
});
