import { KindeProvider } from "@kinde-oss/kinde-auth-react";
import { ConvexProviderWithAuth, ConvexReactClient } from "convex/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { MissingConfig } from "./components/MissingConfig";
import { convexUrl, kindeConfig, missingConfig } from "./config";
import { useAuthFromKinde } from "./useAuthFromKinde";
import "./styles.css";

const root = createRoot(document.getElementById("root")!);

if (missingConfig.length > 0) {
  root.render(<MissingConfig names={missingConfig} />);
} else {
  const convex = new ConvexReactClient(convexUrl, {
    // Ask Kinde for a fresh token a minute before the current one expires, ahead of the
    // Kinde SDK's own refresh (10 s before), so the two rarely refresh at the same moment.
    authRefreshTokenLeewaySeconds: 60,
  });

  root.render(
    <StrictMode>
      <KindeProvider
        domain={kindeConfig.domain}
        clientId={kindeConfig.clientId}
        redirectUri={kindeConfig.redirectUri}
        logoutUri={kindeConfig.logoutUri}
        // Option B (access token with an API audience, see useAuthFromKinde.ts):
        // audience="convex"
      >
        <ConvexProviderWithAuth client={convex} useAuth={useAuthFromKinde}>
          <App />
        </ConvexProviderWithAuth>
      </KindeProvider>
    </StrictMode>,
  );
}
