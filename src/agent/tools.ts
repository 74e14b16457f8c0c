/**
 * Tools an agent can call: a name, a description, an input schema (zod, or anything with the
 * same `safeParse`/`toJSONSchema` shape) and an async function. Input is validated before the
 * call, and whatever happens becomes a tool-result message, never a crashed run.
 */
import { InvalidInputError, isRewindError } from "../errors.js";
import { checkPolicy, type EffectPolicy, type EffectRunner } from "../graph/effect.js";
import type { TenantStore } from "../store/tenant-store.js";
import { type ToolCall, type ToolMessage, toolMessage } from "./messages.js";
import { isZod3Schema, zod3ToJsonSchema } from "./zod3-json-schema.js";

/**
 * The part of a zod schema tools use. zod 4 schemas fit it as they are (their `toJSONSchema`
 * describes the arguments to the model); zod 3 schemas (zod 3.x, or `zod/v3`) are described
 * from their definition.
 */
export interface ToolSchema<T> {
  safeParse(input: unknown):
    | { success: true; data: T }
    | {
        success: false;
        error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
      };
  toJSONSchema?: () => unknown;
}

/** What a running tool knows besides its input. */
export interface ToolContext {
  readonly threadId: string;
  readonly toolCallId: string;
  /**
   * Stable for this tool call across retries, crashes and resumes of the same step: a tool with
   * side effects records it and skips work it already did.
   */
  readonly idempotencyKey: string;
  /** The cross-thread store of the run's tenant (throws when the agent has none). */
  readonly store: TenantStore;
  /**
   * Sends progress to `stream()` consumers: a custom event of node `tools` whose data is
   * `{ type: "tool", toolCallId, data }`.
   */
  emit(data: unknown): void;
  /** `ctx.effect` of the node running the tool: a side effect run at most once per thread. */
  readonly effect: EffectRunner;
}

/** A tool definition as the agent uses it. */
export interface Tool<Input = any> {
  readonly name: string;
  readonly description: string;
  readonly schema: ToolSchema<Input>;
  /** When true the agent pauses with `interrupt()` before each call, for a human to decide. */
  readonly requiresApproval: boolean;
  /**
   * Set: every call is an effect (`ctx.effect` under the tool's name and arguments), run at most
   * once per thread, with this policy for a call cut off mid-way. Its `idempotencyKey` is the
   * effect's key.
   */
  readonly effect?: EffectPolicy | undefined;
  run(input: Input, ctx: ToolContext): unknown;
}

/** A tool as the model is told about it: the schema as JSON Schema. */
export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  readonly parameters: Record<string, unknown>;
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Defines a tool. The result of `run` is sent to the model as text (strings as they are, other
 * values as JSON); a throw is sent as an error result.
 *
 * @example
 * import { z } from "zod";
 * const weather = tool({
 *   name: "get_weather",
 *   description: "Weather in a city",
 *   schema: z.object({ city: z.string() }),
 *   run: async ({ city }) => `Sunny in ${city}`,
 * });
 */
export function tool<Input>(definition: {
  name: string;
  description: string;
  schema: ToolSchema<Input>;
  requiresApproval?: boolean;
  /** Run each call as an effect with this policy (see {@link Tool.effect}). */
  effect?: EffectPolicy;
  run: (input: Input, ctx: ToolContext) => unknown;
}): Tool<Input> {
  const { name, description, schema, run } = definition ?? {};
  if (typeof name !== "string" || !TOOL_NAME.test(name)) {
    throw new InvalidInputError(
      `a tool name must be 1-64 letters, digits, "_" or "-" (got ${JSON.stringify(name)})`,
    );
  }
  if (typeof description !== "string") {
    throw new InvalidInputError(`tool "${name}" needs a description string`);
  }
  if (typeof schema?.safeParse !== "function") {
    throw new InvalidInputError(`tool "${name}" needs a schema with safeParse (a zod schema)`);
  }
  if (typeof run !== "function") throw new InvalidInputError(`tool "${name}" needs a run function`);
  if (definition.effect !== undefined) checkPolicy(definition.effect);
  // Described now, so a schema the model could not be told about fails here, not mid-run.
  parametersOf(name, schema);
  return {
    name,
    description,
    schema,
    requiresApproval: definition.requiresApproval === true,
    ...(definition.effect === undefined ? {} : { effect: definition.effect }),
    run,
  };
}

/** The model-facing description of a tool. */
export function toolSpec(t: Tool): ToolSpec {
  return { name: t.name, description: t.description, parameters: parametersOf(t.name, t.schema) };
}

/** The JSON Schema of a tool's arguments, or `InvalidInputError` saying why there is none. */
function parametersOf(name: string, schema: ToolSchema<unknown>): Record<string, unknown> {
  let json: Record<string, unknown>;
  try {
    if (typeof schema.toJSONSchema === "function")
      json = schema.toJSONSchema() as Record<string, unknown>;
    else if (isZod3Schema(schema)) json = zod3ToJsonSchema(schema);
    else {
      throw new Error(
        "has no toJSONSchema() and is not a zod schema, so the model could not be told its arguments",
      );
    }
  } catch (error) {
    throw new InvalidInputError(`tool "${name}": its schema ${(error as Error).message}`, {
      cause: error,
    });
  }
  const { $schema: _ignored, ...parameters } = json;
  return parameters;
}

/** Checks a call's arguments against the tool's schema: the parsed input, or why not. */
export function validateToolInput<Input>(
  t: Tool<Input>,
  args: unknown,
): { ok: true; input: Input } | { ok: false; error: string } {
  const parsed = t.schema.safeParse(args);
  if (parsed.success) return { ok: true, input: parsed.data };
  const issues = parsed.error.issues
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join(".") : "input"}: ${i.message}`)
    .join("; ");
  return { ok: false, error: `invalid arguments for ${t.name}: ${issues}` };
}

/**
 * Runs one tool call to a result message: unknown tools, unparseable or invalid arguments and
 * thrown errors all come back as error results the model can read and correct.
 */
export async function executeToolCall(
  t: Tool | undefined,
  call: ToolCall,
  ctx: ToolContext,
  available: readonly string[] = [],
): Promise<ToolMessage> {
  const fail = (message: string) => toolMessage(call, `Error: ${message}`, { isError: true });
  if (!t) {
    return fail(`unknown tool "${call.name}"; available tools: ${available.join(", ") || "none"}`);
  }
  if (call.argsError !== undefined) return fail(call.argsError);
  const checked = validateToolInput(t, call.args);
  if (!checked.ok) return fail(checked.error);
  if (t.effect !== undefined) return runAsEffect(t, call, checked.input, ctx, fail);
  try {
    const result = await t.run(checked.input, ctx);
    return toolMessage(call, resultText(result));
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}

/**
 * A tool call as an effect: what the tool returns or throws becomes its result message, a
 * recorded failure too; an unknown outcome, a pause for a human and storage errors stop the run.
 */
async function runAsEffect<Input>(
  t: Tool<Input>,
  call: ToolCall,
  input: Input,
  ctx: ToolContext,
  fail: (message: string) => ToolMessage,
): Promise<ToolMessage> {
  let thrown: { error: unknown } | undefined;
  try {
    const result = await ctx.effect(
      t.name,
      input,
      async ({ key }) => {
        try {
          // The context with the effect's key (its store getter stays lazy).
          const inner: ToolContext = Object.create(ctx, { idempotencyKey: { value: key } });
          return await t.run(input, inner);
        } catch (error) {
          thrown = { error };
          throw error;
        }
      },
      t.effect,
    );
    return toolMessage(call, resultText(result));
  } catch (error) {
    if (thrown && error === thrown.error) {
      return fail(error instanceof Error ? error.message : String(error));
    }
    if (isRewindError(error, "EFFECT_FAILED")) {
      const recorded = error.cause as { message?: string } | undefined;
      return fail(recorded?.message ?? error.message);
    }
    throw error;
  }
}

function resultText(result: unknown): string {
  if (typeof result === "string") return result;
  if (result === undefined) return "";
  try {
    return JSON.stringify(result);
  } catch {
    return String(result);
  }
}
