import { describe, expect, test } from "vitest";
import { vKindeEvent } from "../shared/events.js";
import { CUSTOMER_EVENT_TYPES } from "../shared/unmirroredEvents.js";
import {
  billingEventTypes,
  billingNotOffered,
  describePlan,
  MIRRORED_EVENT_TYPES,
  missingScopes,
  nearMiss,
  normalizeEndpoint,
  planSetup,
  SetupError,
  toListedWebhooks,
  webhookEndpoint,
  webhookName,
  type ListedWebhook,
} from "./setup.js";

const ENDPOINT = "https://happy-otter-123.convex.site/kinde/webhook";
const ALL = [...MIRRORED_EVENT_TYPES];
const webhook = (endpoint: string, eventTypes: string[], id = "webhook_1"): ListedWebhook => ({
  id,
  endpoint,
  eventTypes,
});

describe("the event types setup registers", () => {
  test("are exactly the types the component applies (every vKindeEvent type but `unhandled`)", () => {
    const applied = vKindeEvent.members.flatMap((member) => {
      const type = member.fields.type;
      return type.kind === "literal" ? [type.value] : type.members.map((m) => m.value);
    });
    expect(applied.filter((t) => t !== "unhandled").sort()).toEqual([...ALL].sort());
  });
});

describe("webhookEndpoint", () => {
  test("the deployment's HTTP actions URL and the route's path", () => {
    expect(webhookEndpoint("https://happy-otter-123.convex.site", "/kinde/webhook")).toBe(ENDPOINT);
    expect(webhookEndpoint(" https://happy-otter-123.convex.site/ ", "/kinde/webhook")).toBe(
      ENDPOINT,
    );
    expect(webhookEndpoint("https://happy-otter-123.convex.site", "/hooks/kinde")).toBe(
      "https://happy-otter-123.convex.site/hooks/kinde",
    );
  });

  test("refuses what Kinde cannot deliver to, saying why", () => {
    expect(() => webhookEndpoint(undefined, "/kinde/webhook")).toThrow(
      /CONVEX_SITE_URL is not set/,
    );
    expect(() => webhookEndpoint("http://127.0.0.1:3211", "/kinde/webhook")).toThrow(
      /HTTPS endpoints only.*http:\/\/127\.0\.0\.1:3211/,
    );
    expect(() => webhookEndpoint("not a url", "/kinde/webhook")).toThrow(SetupError);
    expect(() => webhookEndpoint("https://a.convex.site", "kinde/webhook")).toThrow(
      /must start with "\/"/,
    );
  });
});

describe("normalizeEndpoint", () => {
  test("two spellings of one URL compare equal; another path does not", () => {
    expect(normalizeEndpoint("HTTPS://Happy-Otter-123.CONVEX.site:443/kinde/webhook")).toBe(
      ENDPOINT,
    );
    expect(normalizeEndpoint(`${ENDPOINT}#x`)).toBe(ENDPOINT);
    expect(normalizeEndpoint(`${ENDPOINT}/`)).not.toBe(ENDPOINT);
    expect(normalizeEndpoint("https://happy-otter-123.convex.site/Kinde/Webhook")).not.toBe(
      ENDPOINT,
    );
    expect(normalizeEndpoint("")).toBeNull();
  });
});

describe("nearMiss", () => {
  test("names the .convex.cloud host and a wrong path, nothing else", () => {
    expect(nearMiss(ENDPOINT, "https://happy-otter-123.convex.cloud/kinde/webhook")).toMatch(
      /\.convex\.cloud host/,
    );
    expect(nearMiss(ENDPOINT, "https://happy-otter-123.convex.site/kinde/webhook/")).toMatch(
      /path \/kinde\/webhook\//,
    );
    expect(nearMiss(ENDPOINT, "https://other-deployment-9.convex.site/kinde/webhook")).toBeNull();
    expect(nearMiss(ENDPOINT, "https://example.com/hooks")).toBeNull();
    expect(nearMiss(ENDPOINT, "garbage")).toBeNull();
  });
});

describe("planSetup", () => {
  test("no webhook: create one with every mirrored type", () => {
    expect(planSetup({ endpoint: ENDPOINT, webhooks: [] })).toEqual({
      action: "create",
      endpoint: ENDPOINT,
      eventTypes: ALL,
      added: ALL,
      warnings: [],
    });
  });

  test("a complete webhook for another spelling of the endpoint: nothing to do", () => {
    const plan = planSetup({
      endpoint: ENDPOINT,
      webhooks: [webhook("https://HAPPY-otter-123.convex.site:443/kinde/webhook", ALL)],
    });
    expect(plan).toMatchObject({ action: "none", webhookId: "webhook_1", added: [] });
  });

  test("an outdated webhook: the missing types added, its other types kept", () => {
    const plan = planSetup({
      endpoint: ENDPOINT,
      webhooks: [webhook(ENDPOINT, ["user.created", "subscriber.created"])],
    });
    expect(plan.action).toBe("update");
    expect(plan.added).toEqual(ALL.filter((t) => t !== "user.created"));
    expect(plan.eventTypes).toEqual(["user.created", "subscriber.created", ...plan.added]);
  });

  test("other deployments' webhooks are left alone; near misses are reported, not reused", () => {
    const plan = planSetup({
      endpoint: ENDPOINT,
      webhooks: [
        webhook("https://prod-deployment-1.convex.site/kinde/webhook", ALL, "webhook_prod"),
        webhook("https://happy-otter-123.convex.cloud/kinde/webhook", ALL, "webhook_cloud"),
      ],
    });
    expect(plan.action).toBe("create");
    expect(plan.warnings).toHaveLength(1);
    expect(plan.warnings[0]).toMatch(/webhook_cloud .*\.convex\.cloud host.*delete it/);
  });

  test("duplicates: the most complete one is kept up to date, the others named", () => {
    const plan = planSetup({
      endpoint: ENDPOINT,
      webhooks: [
        webhook(ENDPOINT, ["user.created"], "webhook_a"),
        webhook(ENDPOINT, ALL, "webhook_b"),
      ],
    });
    expect(plan).toMatchObject({ action: "none", webhookId: "webhook_b" });
    expect(plan.warnings[0]).toMatch(/2 webhooks point at .*delete all except webhook_b/);
  });

  test("types the tenant does not offer are left out, with a warning", () => {
    const offered = ALL.filter((t) => !t.startsWith("permission."));
    const plan = planSetup({ endpoint: ENDPOINT, webhooks: [], offered });
    expect(plan.eventTypes).toEqual(offered);
    expect(plan.warnings[0]).toMatch(/does not offer permission\.created, permission\.updated/);
  });
});

describe("planSetup with the host's own event types", () => {
  test("they are registered beside the mirror's, once each", () => {
    const extra = ["customer.plan_changed", "user.created", "customer.plan_changed"];
    const plan = planSetup({ endpoint: ENDPOINT, webhooks: [], extra });
    expect(plan.eventTypes).toEqual([...ALL, "customer.plan_changed"]);
  });

  test("an existing webhook gets them too; one that has them needs nothing", () => {
    const extra = ["customer.plan_changed"];
    const outdated = planSetup({ endpoint: ENDPOINT, webhooks: [webhook(ENDPOINT, ALL)], extra });
    expect(outdated).toMatchObject({ action: "update", added: ["customer.plan_changed"] });
    const complete = planSetup({
      endpoint: ENDPOINT,
      webhooks: [webhook(ENDPOINT, [...ALL, ...extra])],
      extra,
    });
    expect(complete).toMatchObject({ action: "none", added: [] });
  });

  test("a type the tenant does not offer (a typo, or billing not enabled) is left out, with a warning", () => {
    const plan = planSetup({
      endpoint: ENDPOINT,
      webhooks: [],
      offered: [...ALL, "customer.plan_changed"],
      extra: ["customer.plan_changed", "customer.plan_chnaged"],
    });
    expect(plan.eventTypes).toEqual([...ALL, "customer.plan_changed"]);
    expect(plan.warnings).toEqual([
      "Kinde does not offer customer.plan_chnaged in this environment; the webhook is registered without them.",
    ]);
  });
});

test("missingScopes: reading always, then creating or updating as the plan needs", () => {
  expect(missingScopes({ action: "create" }, ["read:webhooks"])).toEqual(["create:webhooks"]);
  expect(missingScopes({ action: "update" }, ["read:webhooks", "create:webhooks"])).toEqual([
    "update:webhooks",
  ]);
  expect(missingScopes({ action: "none" }, [])).toEqual(["read:webhooks"]);
});

test("toListedWebhooks reads Kinde's list loosely", () => {
  expect(
    toListedWebhooks({
      code: "OK",
      webhooks: [
        { id: "webhook_1", name: "A", endpoint: ENDPOINT, event_types: ["user.created", 7] },
        { id: "webhook_2", endpoint: ENDPOINT, event_types: null, description: null },
        { id: "webhook_3" },
        null,
        "webhook_4",
      ],
    }),
  ).toEqual([
    { id: "webhook_1", name: "A", endpoint: ENDPOINT, eventTypes: ["user.created"] },
    { id: "webhook_2", endpoint: ENDPOINT, eventTypes: [] },
  ]);
  expect(toListedWebhooks({ code: "OK" })).toEqual([]);
});

test("the plan in words, and the webhook's name", () => {
  const plan = planSetup({ endpoint: ENDPOINT, webhooks: [webhook(ENDPOINT, ["user.created"])] });
  expect(describePlan(plan, "would")).toMatch(
    /^would add user\.updated, .* to webhook webhook_1 \(https:.*\), which then has 13 event types/,
  );
  expect(webhookName(ENDPOINT)).toBe("Convex happy-otter-123 (convex-kinde)");
});

describe("the billing option's event types", () => {
  test("Kinde's customer.* types, and a customer. type Kinde adds later when the environment offers it", () => {
    expect(billingEventTypes(undefined)).toEqual([...CUSTOMER_EVENT_TYPES]);
    const offered = [
      ...ALL,
      "customer.plan_changed",
      "customer.refund_issued",
      "subscriber.created",
    ];
    expect(billingEventTypes(offered)).toEqual([...CUSTOMER_EVENT_TYPES, "customer.refund_issued"]);
  });

  test("through planSetup, those the environment lacks are left out with the usual warning", () => {
    const offered = [...ALL, "customer.plan_changed", "customer.agreement_cancelled"];
    const plan = planSetup({
      endpoint: ENDPOINT,
      webhooks: [],
      offered,
      extra: billingEventTypes(offered),
    });
    expect(plan.eventTypes).toEqual([
      ...ALL,
      "customer.agreement_cancelled",
      "customer.plan_changed",
    ]);
    const lacking = CUSTOMER_EVENT_TYPES.filter((t) => !offered.includes(t));
    expect(plan.warnings).toEqual([
      `Kinde does not offer ${lacking.join(", ")} in this environment; the webhook is registered without them.`,
    ]);
  });

  test("an environment offering no customer. type at all gets a warning of its own; an unknown list none", () => {
    expect(billingNotOffered(ALL)).toMatch(
      /offers no customer\.\* event type in this environment \(is Kinde Billing enabled\?\)/,
    );
    expect(billingNotOffered([...ALL, "customer.payment_failed"])).toBeUndefined();
    expect(billingNotOffered(undefined)).toBeUndefined();
  });
});
