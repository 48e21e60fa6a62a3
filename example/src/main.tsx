import { KindeProvider, useKindeAuth } from "@kinde-oss/kinde-auth-react";
import { ConvexReactClient } from "convex/react";
import { ConvexProviderWithKinde } from "convex-kinde/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { MissingConfig } from "./components/MissingConfig";
import { convexUrl, kindeConfig, missingConfig } from "./config";
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
        // Access tokens instead (they carry org_code): register an API with audience "convex"
        // in Kinde, uncomment this and tokenType below, and see the README's "React" section.
        // audience="convex"
      >
        <ConvexProviderWithKinde
          client={convex}
          useKindeAuth={useKindeAuth}
          domain={kindeConfig.domain}
          clientId={kindeConfig.clientId}
          // tokenType="access"
        >
          <App />
        </ConvexProviderWithKinde>
      </KindeProvider>
    </StrictMode>,
  );
}
