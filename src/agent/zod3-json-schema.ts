/**
 * JSON Schema for a zod 3 schema (zod 3.x, or the `zod/v3` entry of zod 4), which has no
 * `toJSONSchema` of its own. Covers what tool arguments are made of: objects, arrays, tuples,
 * records, strings, numbers, booleans, null, literals, enums, unions, optional, nullable,
 * default, refinements and transforms (described by their input), descriptions. Anything else
 * (dates, bigints, functions, recursive `lazy` schemas...) cannot arrive as JSON arguments or be
 * described to the model faithfully, so it is refused with the path where it was found.
 */

/** The parts of a zod 3 definition read here. */
interface Zod3Def {
  readonly typeName: string;
  readonly description?: string;
  readonly [key: string]: any;
}

type JsonSchema = Record<string, unknown>;

/** True for a zod 3 schema: it carries `_def.typeName` ("ZodObject", "ZodString"...). */
export function isZod3Schema(schema: unknown): boolean {
  const def = (schema as { _def?: { typeName?: unknown } } | null)?._def;
  return typeof def?.typeName === "string" && def.typeName.startsWith("Zod");
}

/** The JSON Schema of a zod 3 schema; throws `Error` naming the unsupported part and its path. */
export function zod3ToJsonSchema(schema: unknown, path = "input"): JsonSchema {
  const def = (schema as { _def: Zod3Def })._def;
  const out = convert(def, path);
  return def.description === undefined ? out : { ...out, description: def.description };
}

function convert(def: Zod3Def, path: string): JsonSchema {
  const inner = (schema: unknown, at = path) => zod3ToJsonSchema(schema, at);
  switch (def.typeName) {
    case "ZodString":
      return withChecks({ type: "string" }, def.checks, {
        min: "minLength",
        max: "maxLength",
        length: ["minLength", "maxLength"],
      });
    case "ZodNumber":
      return numberSchema(def);
    case "ZodBoolean":
      return { type: "boolean" };
    case "ZodNull":
      return { type: "null" };
    case "ZodAny":
    case "ZodUnknown":
      return {};
    case "ZodLiteral":
      return { const: def.value };
    case "ZodEnum":
      return { type: "string", enum: [...def.values] };
    case "ZodNativeEnum":
      return { enum: nativeEnumValues(def.values) };
    case "ZodArray":
      return {
        type: "array",
        items: inner(def.type, `${path}[]`),
        ...(def.minLength ? { minItems: def.minLength.value } : {}),
        ...(def.maxLength ? { maxItems: def.maxLength.value } : {}),
      };
    case "ZodTuple":
      return {
        type: "array",
        prefixItems: def.items.map((item: unknown, i: number) => inner(item, `${path}[${i}]`)),
        ...(def.rest ? { items: inner(def.rest, `${path}[]`) } : { items: false }),
      };
    case "ZodRecord":
      return { type: "object", additionalProperties: inner(def.valueType, `${path}.*`) };
    case "ZodObject":
      return objectSchema(def, path);
    case "ZodUnion":
    case "ZodDiscriminatedUnion":
      return { anyOf: [...def.options].map((option: unknown) => inner(option)) };
    case "ZodOptional":
      return inner(def.innerType);
    case "ZodNullable":
      return { anyOf: [inner(def.innerType), { type: "null" }] };
    case "ZodDefault":
      return { ...inner(def.innerType), default: def.defaultValue() };
    case "ZodEffects":
      return inner(def.schema);
    case "ZodBranded":
    case "ZodReadonly":
    case "ZodCatch":
      return inner(def.type ?? def.innerType);
    case "ZodPipeline":
      return inner(def.in);
    default:
      throw new Error(`${path}: ${def.typeName} cannot be described as JSON tool arguments`);
  }
}

function objectSchema(def: Zod3Def, path: string): JsonSchema {
  const shape = def.shape() as Record<string, { _def: Zod3Def; isOptional(): boolean }>;
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const [key, value] of Object.entries(shape)) {
    properties[key] = zod3ToJsonSchema(value, `${path}.${key}`);
    if (!value.isOptional() && value._def.typeName !== "ZodDefault") required.push(key);
  }
  const catchall = def.catchall?._def?.typeName === "ZodNever" ? undefined : def.catchall;
  return {
    type: "object",
    properties,
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: catchall
      ? zod3ToJsonSchema(catchall, `${path}.*`)
      : def.unknownKeys === "passthrough",
  };
}

function numberSchema(def: Zod3Def): JsonSchema {
  const out: JsonSchema = { type: "number" };
  for (const check of def.checks ?? []) {
    if (check.kind === "int") out.type = "integer";
    else if (check.kind === "min")
      out[check.inclusive ? "minimum" : "exclusiveMinimum"] = check.value;
    else if (check.kind === "max")
      out[check.inclusive ? "maximum" : "exclusiveMaximum"] = check.value;
    else if (check.kind === "multipleOf") out.multipleOf = check.value;
  }
  return out;
}

function withChecks(
  out: JsonSchema,
  checks: readonly { kind: string; value?: unknown; regex?: RegExp }[] | undefined,
  names: Record<string, string | readonly string[]>,
): JsonSchema {
  const formats: Record<string, string> = {
    email: "email",
    url: "uri",
    uuid: "uuid",
    datetime: "date-time",
    date: "date",
    time: "time",
  };
  for (const check of checks ?? []) {
    const name = names[check.kind];
    if (name !== undefined) for (const n of [name].flat()) out[n] = check.value;
    else if (check.kind === "regex" && check.regex) out.pattern = check.regex.source;
    else if (formats[check.kind]) out.format = formats[check.kind];
  }
  return out;
}

/** A TypeScript enum object's values (numeric enums map names both ways: keep the values). */
function nativeEnumValues(values: Record<string, string | number>): (string | number)[] {
  return Object.keys(values)
    .filter((key) => typeof values[values[key]!] !== "number")
    .map((key) => values[key]!);
}
