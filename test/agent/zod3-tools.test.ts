/**
 * Tools written with zod 3 (`zod/v3`) tell the model their real parameters, as zod 4 tools do;
 * what cannot be described is refused when the tool is defined, never sent as an empty schema.
 */
import { describe, expect, it } from "vitest";
import { z as z3 } from "zod/v3";
import { z as z4 } from "zod/v4";
import { toolSpec, validateToolInput } from "../../src/agent/tools.js";
import { InvalidInputError, tool } from "../../src/index.js";

const run = () => "ok";

describe("zod 3 tool schemas", () => {
  it("describe their parameters as zod 4 does for the same schema", () => {
    // One definition, written once against each zod's API.
    const bookArgs = (z: any) =>
      z.object({
        flight: z.string().min(3).describe("Flight number"),
        seats: z.number().int().min(1).max(9).optional(),
        cabin: z.enum(["economy", "business"]),
        tags: z.array(z.string()),
        note: z.string().nullable(),
        confirm: z.boolean(),
      });
    const v3 = tool({ name: "book", description: "Book", schema: bookArgs(z3), run });
    const v4 = tool({ name: "book", description: "Book", schema: bookArgs(z4), run });
    const spec = toolSpec(v3);
    expect(spec.parameters).toMatchObject({
      type: "object",
      required: ["flight", "cabin", "tags", "note", "confirm"],
      additionalProperties: false,
      properties: {
        flight: { type: "string", minLength: 3, description: "Flight number" },
        seats: { type: "integer", minimum: 1, maximum: 9 },
        cabin: { type: "string", enum: ["economy", "business"] },
        tags: { type: "array", items: { type: "string" } },
        note: { anyOf: [{ type: "string" }, { type: "null" }] },
        confirm: { type: "boolean" },
      },
    });
    const zod4 = toolSpec(v4).parameters as { required: string[]; properties: object };
    expect(Object.keys(spec.parameters.properties as object)).toEqual(Object.keys(zod4.properties));
    expect(spec.parameters.required).toEqual(zod4.required);
  });

  it("validate arguments with the zod 3 schema itself", () => {
    const t = tool({
      name: "weather",
      description: "Weather in a city",
      schema: z3.object({ city: z3.string() }),
      run,
    });
    expect(validateToolInput(t, { city: "Oslo" })).toEqual({ ok: true, input: { city: "Oslo" } });
    expect(validateToolInput(t, { city: 3 })).toMatchObject({
      ok: false,
      error: expect.stringContaining("city"),
    });
  });

  it("nested objects, defaults, unions, records and literals are described", () => {
    const t = tool({
      name: "plan",
      description: "Plan",
      schema: z3.object({
        stops: z3.array(z3.object({ city: z3.string(), nights: z3.number().default(1) })),
        mode: z3.union([z3.literal("train"), z3.literal("plane")]),
        prefs: z3.record(z3.boolean()),
      }),
      run,
    });
    expect(toolSpec(t).parameters).toMatchObject({
      properties: {
        stops: {
          type: "array",
          items: {
            type: "object",
            required: ["city"],
            properties: { nights: { type: "number", default: 1 } },
          },
        },
        mode: { anyOf: [{ const: "train" }, { const: "plane" }] },
        prefs: { type: "object", additionalProperties: { type: "boolean" } },
      },
    });
  });

  it("a part that cannot be described is refused at tool() with InvalidInputError naming it", () => {
    const define = (schema: unknown) => () =>
      tool({ name: "when", description: "", schema: schema as never, run });
    expect(define(z3.object({ at: z3.date() }))).toThrow(InvalidInputError);
    expect(define(z3.object({ at: z3.date() }))).toThrow(/input\.at: ZodDate/);
    const tree: z3.ZodType = z3.lazy(() => z3.object({ children: z3.array(tree) }));
    expect(define(tree)).toThrow(/ZodLazy/);
  });

  it("a schema with neither toJSONSchema nor a zod definition is refused, not sent empty", () => {
    const schema = { safeParse: (input: unknown) => ({ success: true as const, data: input }) };
    expect(() => tool({ name: "bare", description: "", schema, run })).toThrow(InvalidInputError);
    expect(() => tool({ name: "bare", description: "", schema, run })).toThrow(/toJSONSchema/);
  });
});
