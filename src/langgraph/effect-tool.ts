/**
 * `effectTool(tool, { saver, policy })`: a LangChain tool whose every call is an effect in the
 * thread's ledger (`saver.effects`), under the tool's name and its parsed arguments. LangGraph's
 * `ToolNode` and `createReactAgent` run it like the tool it wraps; a call already recorded on the
 * thread returns its recorded result without running the tool again.
 */
import type { CallbackManagerForToolRun } from "@langchain/core/callbacks/manager";
import { StructuredTool, type ToolRunnableConfig } from "@langchain/core/tools";
import { checkPolicy, type EffectPolicy } from "../checkpoint/effect-policy.js";
import { InvalidInputError } from "../errors.js";
import type { RewindSaver } from "./rewind-saver.js";

/** Options of {@link effectTool}. */
export interface EffectToolOptions {
  /** The saver the graph is compiled with: its storage keeps the ledger. */
  readonly saver: RewindSaver;
  /** What to do with a call cut off mid-way (see `EffectPolicy`). Default `"ask"`. */
  readonly policy?: EffectPolicy | undefined;
}

/** The implementation method every `StructuredTool` has (protected in its type). */
type ToolBody<In, Out> = {
  _call(
    arg: In,
    runManager?: CallbackManagerForToolRun,
    config?: ToolRunnableConfig,
  ): Promise<Out> | AsyncGenerator<unknown, Out>;
};

/**
 * Wraps a LangChain tool (from `tool()`, or any `StructuredTool`) so each call runs at most once
 * per LangGraph thread: its intent is recorded before the tool runs and its outcome after, and a
 * replay from a checkpoint before the call, an `updateState` fork and a retry all get the
 * recorded result (a recorded failure throws `EffectFailedError`). The tool reads the call's
 * key, for the remote API's own idempotency, as `config.configurable.effect_key` (and its
 * attempt as `effect_attempt`). The tool's result must be serializable by the saver's serializer.
 *
 * `ToolNode` turns a tool's errors into error messages for the model unless it is created with
 * `handleToolErrors: false`; that includes `EffectUnknownError` (policy `"fail"`) and storage
 * errors. The `"ask"` policy pauses with LangGraph's `interrupt()`, which `ToolNode` lets through.
 *
 * @example
 * import { tool } from "@langchain/core/tools";
 * import { createReactAgent } from "@langchain/langgraph/prebuilt";
 * import { z } from "zod";
 * const book = effectTool(
 *   tool(async ({ to }) => airline.book(to), {
 *     name: "book_flight",
 *     description: "Books a flight",
 *     schema: z.object({ to: z.string() }),
 *   }),
 *   { saver },
 * );
 * const agent = createReactAgent({ llm, tools: [book], checkpointer: saver });
 */
export function effectTool<SchemaT, SchemaOutputT, SchemaInputT, ToolOutputT>(
  tool: StructuredTool<SchemaT, SchemaOutputT, SchemaInputT, ToolOutputT>,
  options: EffectToolOptions,
): StructuredTool<SchemaT, SchemaOutputT, SchemaInputT, ToolOutputT> {
  if (
    typeof (tool as unknown as Partial<ToolBody<unknown, unknown>> | undefined)?._call !==
      "function" ||
    typeof tool.name !== "string"
  ) {
    throw new InvalidInputError(
      "effectTool wraps a LangChain tool (a StructuredTool, from tool())",
    );
  }
  if (typeof options?.saver?.effects?.run !== "function") {
    throw new InvalidInputError(`effectTool "${tool.name}" needs { saver: RewindSaver }`);
  }
  if (options.policy !== undefined) checkPolicy(options.policy);
  return new EffectTool(tool, options.saver, options.policy ?? "ask");
}

class EffectTool<SchemaT, SchemaOutputT, SchemaInputT, ToolOutputT> extends StructuredTool<
  SchemaT,
  SchemaOutputT,
  SchemaInputT,
  ToolOutputT
> {
  name: string;
  description: string;
  schema: SchemaT;
  readonly #inner: ToolBody<SchemaOutputT, ToolOutputT>;
  readonly #saver: RewindSaver;
  readonly #policy: EffectPolicy;

  constructor(
    inner: StructuredTool<SchemaT, SchemaOutputT, SchemaInputT, ToolOutputT>,
    saver: RewindSaver,
    policy: EffectPolicy,
  ) {
    super({
      responseFormat: inner.responseFormat,
      verboseParsingErrors: inner.verboseParsingErrors,
      ...(inner.metadata === undefined ? {} : { metadata: inner.metadata }),
      ...(inner.tags === undefined ? {} : { tags: inner.tags }),
      ...(inner.defaultConfig === undefined ? {} : { defaultConfig: inner.defaultConfig }),
    });
    this.name = inner.name;
    this.description = inner.description;
    this.schema = inner.schema;
    this.returnDirect = inner.returnDirect;
    if (inner.extras !== undefined) this.extras = inner.extras;
    this.#inner = inner as unknown as ToolBody<SchemaOutputT, ToolOutputT>;
    this.#saver = saver;
    this.#policy = policy;
  }

  protected override async _call(
    arg: SchemaOutputT,
    runManager?: CallbackManagerForToolRun,
    config?: ToolRunnableConfig,
  ): Promise<ToolOutputT> {
    const result = await this.#saver.effects.run(
      config ?? {},
      this.name,
      arg,
      async ({ key, attempt }) => {
        const configurable = { ...config?.configurable, effect_key: key, effect_attempt: attempt };
        const raw = this.#inner._call(arg, runManager, { ...config, configurable });
        return isAsyncGenerator(raw) ? drain(raw, runManager) : raw;
      },
      this.#policy,
    );
    return result as ToolOutputT;
  }
}

function isAsyncGenerator(value: unknown): value is AsyncGenerator<unknown, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as AsyncGenerator).next === "function" &&
    typeof (value as AsyncGenerator)[Symbol.asyncIterator] === "function"
  );
}

/** A streaming tool's events go to its callbacks as they come; its return value is the result. */
async function drain<Out>(
  events: AsyncGenerator<unknown, Out>,
  runManager: CallbackManagerForToolRun | undefined,
): Promise<Out> {
  for (;;) {
    const step = await events.next();
    if (step.done) return step.value;
    await runManager?.handleToolEvent(step.value);
  }
}
