/**
 * The glossary, checked over the whole public surface: every validator the
 * package exports (what the host reads, what hooks receive, the event log,
 * backfill, setup and doctor results) and the arguments and results of every
 * public component function (`components.kinde.*`). See the README's
 * "Vocabulary".
 */
import { describe, expect, test } from "vitest";
import { v, type GenericValidator } from "convex/values";
import * as client from "./client/index.js";

/** Convex's JSON form of a validator, as `exportArgs` / `exportReturns` and `.json` give it. */
type ValidatorJson =
  | { type: "object"; value: Record<string, { fieldType: ValidatorJson }> }
  | { type: "array"; value: ValidatorJson }
  | { type: "union"; value: ValidatorJson[] }
  | { type: "record"; values: { fieldType: ValidatorJson } }
  | { type: string };

/** Every object a validator describes, with its path and field names. */
function objectsOf(json: ValidatorJson, path = ""): { path: string; fields: string[] }[] {
  if (json.type === "object" && "value" in json) {
    const fields = json.value as Record<string, { fieldType: ValidatorJson }>;
    return [
      { path, fields: Object.keys(fields) },
      ...Object.entries(fields).flatMap(([name, { fieldType }]) =>
        // Convex's own pagination options (they carry an internal `id`).
        name === "paginationOpts" ? [] : objectsOf(fieldType, `${path}${name}.`),
      ),
    ];
  }
  if (json.type === "array" && "value" in json)
    return objectsOf(json.value as ValidatorJson, `${path}[].`);
  if (json.type === "union" && "value" in json) {
    return (json.value as ValidatorJson[]).flatMap((member) => objectsOf(member, path));
  }
  if (json.type === "record" && "values" in json)
    return objectsOf(json.values.fieldType, `${path}{}.`);
  return [];
}

/** Convex validators carry their JSON form at runtime (`exportArgs` reads it), not in their types. */
const jsonOf = (validator: GenericValidator) =>
  (validator as unknown as { json: ValidatorJson }).json;

const isValidator = (value: unknown): value is GenericValidator =>
  typeof value === "object" && value !== null && "isConvexValidator" in value;

/** The package's exported validators, and exported objects of them (function arguments). */
const exportedShapes = Object.entries(client).flatMap(([name, value]) => {
  if (isValidator(value)) return [[name, jsonOf(value)] as const];
  if (typeof value === "object" && value !== null && Object.values(value).every(isValidator)) {
    return [[name, jsonOf(v.object(value as Record<string, GenericValidator>))] as const];
  }
  return [];
});

interface RegisteredFunction {
  isPublic?: boolean;
  exportArgs: () => string;
  exportReturns: () => string;
}
const componentModules = import.meta.glob<Record<string, unknown>>(
  [
    "./component/*.ts",
    "!./component/*.test.ts",
    "!./component/schema.ts",
    "!./component/convex.config.ts",
  ],
  { eager: true },
);
/** Each public component function's arguments and result, as `components.kinde` exposes them. */
const componentShapes = Object.entries(componentModules).flatMap(([file, module]) =>
  Object.entries(module).flatMap(([name, value]) => {
    const fn = value as Partial<RegisteredFunction>;
    if (!fn?.isPublic || !fn.exportArgs || !fn.exportReturns) return [];
    const ref = `${file.replace(/^\.\/component\/|\.ts$/g, "")}.${name}`;
    return [
      [`${ref} args`, JSON.parse(fn.exportArgs()) as ValidatorJson] as const,
      [`${ref} returns`, JSON.parse(fn.exportReturns()) as ValidatorJson] as const,
    ];
  }),
);

/** The fields an organization has: the only object that says `code` rather than `orgCode`. */
const ORGANIZATION_FIELDS = [
  "code",
  "name",
  "handle",
  "externalId",
  "isAllowRegistrations",
  "properties",
];

/** Names of enrichment's fields that other APIs use, and the one this package uses instead. */
const ENRICHMENT_SYNONYMS: Record<string, string> = {
  avatar: "picture",
  image: "picture",
  imageUrl: "picture",
  pictureUrl: "picture",
  createdOn: "createdAt",
  created_on: "createdAt",
  signInCount: "totalSignIns",
  total_sign_ins: "totalSignIns",
  lastSignedIn: "lastSignedInAt",
  last_signed_in: "lastSignedInAt",
  customProperties: "properties",
  attributes: "properties",
  props: "properties",
};

/** What breaks the glossary in one shape, as readable lines (empty when it holds). */
function glossaryBreaches(json: ValidatorJson): string[] {
  return objectsOf(json).flatMap(({ path, fields }) => [
    // Enrichment's fields have one name each (see the README's vocabulary).
    ...fields
      .filter((f) => Object.hasOwn(ENRICHMENT_SYNONYMS, f))
      .map((f) => `${path}${f}: say \`${ENRICHMENT_SYNONYMS[f]}\``),
    // A Kinde id is `kindeId`, never `id`.
    ...fields.filter((f) => f === "id").map((f) => `${path}${f}: a Kinde id is \`kindeId\``),
    // What an event touched is `entityId` (a role's `key` is its key).
    ...fields.filter((f) => f === "entityKey").map((f) => `${path}${f}: say \`entityId\``),
    // `code` only on an organization itself; anything referring to one says `orgCode`.
    ...(fields.includes("code") && !fields.every((f) => ORGANIZATION_FIELDS.includes(f))
      ? [`${path}code beside ${fields.join(", ")}: refer to an organization by \`orgCode\``]
      : []),
  ]);
}

describe("one name per concept over the whole public surface", () => {
  test("the check sees every shape it should", () => {
    const names = exportedShapes.map(([name]) => name);
    for (const expected of [
      "vUser",
      "vMirrorEvent",
      "vEventRecord",
      "vDoctorReport",
      "vSetupResult",
      "vBilling",
    ]) {
      expect(names).toContain(expected);
    }
    const functions = componentShapes.map(([name]) => name);
    expect(functions).toContain("events.listEntityEvents args");
    expect(functions).toContain("enrichment.applyUsers args");
    expect(functions).toContain("enrichment.applyOrganization args");
    expect(functions).toContain("webhooks.recordFailedEvent args");
    expect(functions).toContain("billing.applyCustomer args");
    expect(functions.length).toBeGreaterThan(20);
  });

  test("the check finds what it forbids", () => {
    const bad = v.object({
      id: v.string(),
      membership: v.object({ code: v.string(), roles: v.array(v.string()) }),
      log: v.array(v.object({ entityKey: v.string() })),
      organization: v.object({ code: v.string(), name: v.optional(v.string()) }),
      user: v.object({ kindeId: v.string(), avatar: v.string(), createdOn: v.number() }),
    });
    expect(glossaryBreaches(jsonOf(bad))).toEqual([
      "id: a Kinde id is `kindeId`",
      "membership.code beside code, roles: refer to an organization by `orgCode`",
      "log.[].entityKey: say `entityId`",
      "user.avatar: say `picture`",
      "user.createdOn: say `createdAt`",
    ]);
  });

  test("enrichment's fields are in what the host reads, a user's and an organization's", () => {
    const fieldsOf = (name: string) =>
      objectsOf(exportedShapes.find(([n]) => n === name)![1]).find(({ path }) => path === "")!
        .fields;
    expect(fieldsOf("vUser")).toEqual(
      expect.arrayContaining(["picture", "createdAt", "totalSignIns", "identities", "properties"]),
    );
    expect(fieldsOf("vOrganizationMember")).toEqual(
      expect.arrayContaining(["picture", "createdAt", "totalSignIns", "identities", "properties"]),
    );
    expect(fieldsOf("vOrganization")).toContain("properties");
  });

  test.each([...exportedShapes, ...componentShapes])("%s", (_, json) => {
    expect(glossaryBreaches(json)).toEqual([]);
  });
});
