/// <reference types="vite/client" />

// The variables the example reads; see example/.env.example.
interface ImportMetaEnv {
  readonly VITE_CONVEX_URL?: string;
  readonly VITE_KINDE_DOMAIN?: string;
  readonly VITE_KINDE_CLIENT_ID?: string;
  readonly VITE_KINDE_REDIRECT_URL?: string;
  readonly VITE_KINDE_LOGOUT_URL?: string;
}
