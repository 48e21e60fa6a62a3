import { defineApp } from "convex/server";
import kinde from "convex-kinde/convex.config.js";

const app = defineApp();
app.use(kinde);

export default app;
