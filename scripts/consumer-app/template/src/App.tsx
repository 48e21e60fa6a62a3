// The README's src/main.tsx renders <App />; this one shows its PublishButton.
import { PublishButton } from "./PublishButton";

export function App() {
  return <PublishButton orgCode="org_1a2b3c4d5e6" />;
}
