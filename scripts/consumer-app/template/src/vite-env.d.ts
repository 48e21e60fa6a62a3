/// <reference types="vite/client" />

// What a Vite app declares for its own variables, so that strict options
// (noPropertyAccessFromIndexSignature) accept import.meta.env.VITE_CONVEX_URL.
interface ImportMetaEnv {
  readonly VITE_CONVEX_URL: string;
}
