/**
 * The prebuilt tool-calling (ReAct) agent: a graph of three nodes. `model` asks the model for
 * its next message; `approve` pauses for a human before a call that needs approval; `tools`
 * runs one tool call per super-step. Each finished call is therefore checkpointed before the
 * next one starts: after a crash or a resume, no finished call runs again.
 */
import { randomUUID } from "node:crypto";
import type { CheckpointBackend } from "../checkpoint/checkpoint-backend.js";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { InvalidInputError } from "../errors.js";
import { type ChannelMap, messagesChannel, reducer } from "../graph/channels.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { END, START } from "../graph/constants.js";
import type { NodeContext } from "../graph/node-context.js";
import type { RetryPolicy } from "../graph/retry.js";
import { StateGraph } from "../graph/state-graph.js";
import type { Store } from "../store/store.js";
import { askApproval, isApproved, type Review } from "./approval.js";
import type { ChatModel } from "./chat-model.js";
import {
  type ChatMessage,
  pendingToolCalls,
  systemMessage,
  type ToolCall,
  toolMessage,
} from "./messages.js";
import { executeToolCall, type Tool, type ToolContext, toolSpec } from "./tools.js";

/** Options of {@link createReactAgent}. */
export interface ReactAgentOptions {
  readonly model: ChatModel;
  readonly tools?: readonly Tool[];
  /** Where the conversation is checkpointed. Default: a new in-memory backend. */
  readonly checkpointer?: Checkpointer | CheckpointBackend;
  /** The cross-thread store tools reach as `ctx.store` (bound to the run's `tenantId`). */
  readonly store?: Store;
  /** Sent to the model before the conversation on every call; not stored in the thread. */
  readonly systemPrompt?: string;
  /** Retry a failing model call (network errors, rate limits). Default: no retry. */
  readonly modelRetry?: RetryPolicy;
}

/** What the model node streams: `{ type: "custom", node: "model", data: { type: "token", text } }`. */
export interface TokenEvent {
  readonly type: "token";
  readonly text: string;
}

/** The agent's state: the conversation, and the human decisions on tool calls by call id. */
export function agentChannels() {
  return {
    messages: messagesChannel<ChatMessage>(),
    reviews: reducer<Record<string, Review>, Record<string, Review>>(
      (current, update) => ({ ...current, ...update }),
      () => ({}),
    ),
  } satisfies ChannelMap;
}

export type AgentChannels = ReturnType<typeof agentChannels>;

/** The compiled agent: `invoke`, `stream`, `getState`, `fork`... like any Rewind graph. */
export type ReactAgent = CompiledGraph<AgentChannels>;

/**
 * Builds the agent. Start a turn with `invoke({ messages: [userMessage("...")] }, { threadId })`;
 * a call to a tool with `requiresApproval` returns `status: "interrupted"` with an
 * {@link ApprovalRequest}; answer with `invoke(Command.resume({ decision: "approve" }), ...)`.
 *
 * @example
 * const agent = createReactAgent({ model, tools: [searchFlights, bookFlight], checkpointer });
 * const result = await agent.invoke({ messages: [userMessage("Fly me to Tokyo")] }, { threadId });
 */
export function createReactAgent(options: ReactAgentOptions): ReactAgent {
  const { model, tools = [], systemPrompt } = options ?? ({} as ReactAgentOptions);
  if (typeof model?.generate !== "function") {
    throw new InvalidInputError("createReactAgent needs a model with a generate method");
  }
  const byName = new Map<string, Tool>();
  for (const t of tools) {
    if (byName.has(t.name)) throw new InvalidInputError(`two tools are named "${t.name}"`);
    byName.set(t.name, t);
  }
  const specs = tools.map(toolSpec);
  const names = [...byName.keys()];

  const next = (state: { messages: ChatMessage[]; reviews: Record<string, Review> }) => {
    const call = pendingToolCalls(state.messages)[0];
    if (call) {
      const needsHuman = byName.get(call.name)?.requiresApproval && !state.reviews[call.id];
      return needsHuman ? "approve" : "tools";
    }
    return state.messages.at(-1)?.role === "tool" ? "model" : END;
  };

  return new StateGraph(agentChannels())
    .addNode(
      "model",
      async (state, ctx) => {
        const messages = systemPrompt
          ? [systemMessage(systemPrompt, { id: "system-prompt" }), ...state.messages]
          : state.messages;
        const reply = await model.generate(
          { messages, tools: specs },
          { onToken: (text) => ctx.emit({ type: "token", text } satisfies TokenEvent) },
        );
        return { messages: [{ ...reply, id: reply.id || randomUUID() }] };
      },
      options.modelRetry ? { retry: options.modelRetry } : {},
    )
    .addNode("approve", (state) => {
      const call = pendingToolCalls(state.messages)[0];
      const t = call && byName.get(call.name);
      return call && t ? askApproval(t, call, state.messages) : {};
    })
    .addNode("tools", async (state, ctx) => {
      const call = pendingToolCalls(state.messages)[0];
      if (!call) return {};
      const t = byName.get(call.name);
      if (t?.requiresApproval && !isApproved(state.reviews[call.id])) {
        // Only reachable by jumping here with Command.goto: never run an unapproved call.
        const refused = `Error: ${call.name} needs a human's approval, which it does not have`;
        return { messages: [toolMessage(call, refused, { isError: true })] };
      }
      return { messages: [await executeToolCall(t, call, toolContext(ctx, call), names)] };
    })
    .addEdge(START, "model")
    .addConditionalEdges("model", next)
    .addConditionalEdges("approve", next)
    .addConditionalEdges("tools", next)
    .compile({
      ...(options.checkpointer ? { checkpointer: options.checkpointer } : {}),
      ...(options.store ? { store: options.store } : {}),
    });
}

function toolContext(ctx: NodeContext, call: ToolCall): ToolContext {
  return {
    threadId: ctx.threadId,
    toolCallId: call.id,
    idempotencyKey: `${ctx.idempotencyKey}:${call.id}`,
    get store() {
      return ctx.store;
    },
    emit: (data) => ctx.emit({ type: "tool", toolCallId: call.id, data }),
    effect: ctx.effect,
  };
}
