import { defineComponent } from "convex/server";

const component = defineComponent("kinde");

export default component;
