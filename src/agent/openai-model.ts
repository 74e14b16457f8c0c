/**
 * A {@link ChatModel} on the official `openai` package (an optional peer dependency, loaded on
 * first use): OpenAI itself or any server that speaks the chat-completions protocol (vLLM,
 * Ollama, LM Studio, llama.cpp...) through `baseURL`. Tool calls included; tokens streamed.
 */
import { randomUUID } from "node:crypto";
import { InvalidInputError } from "../errors.js";
import { importOptionalPeer } from "../optional-peer.js";
import type { ChatModel, ChatOptions, ChatRequest } from "./chat-model.js";
import {
  type AssistantMessage,
  assistantMessage,
  type ChatMessage,
  type ToolCall,
} from "./messages.js";

/** The part of an `OpenAI` client this model uses; pass your own (configured) client. */
export interface OpenAIClientLike {
  chat: {
    completions: {
      create(body: any, options?: any): PromiseLike<any>;
    };
  };
}

/** Options of {@link OpenAIChatModel}. */
export interface OpenAIChatModelOptions {
  /** The model name, e.g. `gpt-4o-mini`. */
  readonly model: string;
  /** Default: `OPENAI_API_KEY`; a placeholder when only a `baseURL` is given (local servers). */
  readonly apiKey?: string;
  /** An OpenAI-compatible endpoint, e.g. `http://127.0.0.1:11434/v1`. Default: `OPENAI_BASE_URL` or OpenAI. */
  readonly baseURL?: string;
  /** A ready client; `apiKey`, `baseURL`, `maxRetries` and `timeoutMs` are then ignored. */
  readonly client?: OpenAIClientLike;
  /** Ask the server to stream (tokens reach `stream()` as they come). Default true. */
  readonly stream?: boolean;
  readonly temperature?: number;
  readonly maxTokens?: number;
  /** Retries of the client on connection errors, 429 and 5xx. Default 2. */
  readonly maxRetries?: number;
  readonly timeoutMs?: number;
}

/**
 * @example
 * const model = new OpenAIChatModel({ model: "llama3.1", baseURL: "http://127.0.0.1:11434/v1" });
 */
export class OpenAIChatModel implements ChatModel {
  readonly #options: OpenAIChatModelOptions;
  #client: Promise<OpenAIClientLike> | undefined;

  constructor(options: OpenAIChatModelOptions) {
    if (typeof options?.model !== "string" || options.model.length === 0) {
      throw new InvalidInputError('OpenAIChatModel needs a model name: { model: "gpt-4o-mini" }');
    }
    this.#options = options;
    if (options.client) this.#client = Promise.resolve(options.client);
  }

  async generate(request: ChatRequest, options: ChatOptions = {}): Promise<AssistantMessage> {
    this.#client ??= this.#createClient();
    const client = await this.#client;
    const stream = this.#options.stream ?? true;
    const body = {
      model: this.#options.model,
      messages: wireMessages(request.messages),
      ...(request.tools.length > 0
        ? {
            tools: request.tools.map((t) => ({
              type: "function",
              function: { name: t.name, description: t.description, parameters: t.parameters },
            })),
          }
        : {}),
      ...(this.#options.temperature !== undefined
        ? { temperature: this.#options.temperature }
        : {}),
      ...(this.#options.maxTokens !== undefined ? { max_tokens: this.#options.maxTokens } : {}),
      stream,
    };
    const response = await client.chat.completions.create(
      body,
      options.signal ? { signal: options.signal } : undefined,
    );
    if (!stream) {
      const message = response?.choices?.[0]?.message ?? {};
      return reply(message.content ?? "", message.tool_calls ?? []);
    }
    let content = "";
    const calls: { id?: string; function: { name: string; arguments: string } }[] = [];
    for await (const chunk of response as AsyncIterable<any>) {
      const delta = chunk?.choices?.[0]?.delta;
      if (!delta) continue;
      if (typeof delta.content === "string" && delta.content.length > 0) {
        content += delta.content;
        options.onToken?.(delta.content);
      }
      for (const part of delta.tool_calls ?? []) {
        const at = part.index ?? 0;
        calls[at] ??= { function: { name: "", arguments: "" } };
        const call = calls[at]!;
        if (part.id) call.id = part.id;
        if (part.function?.name) call.function.name = part.function.name;
        if (part.function?.arguments) call.function.arguments += part.function.arguments;
      }
    }
    return reply(content, calls.filter(Boolean));
  }

  async #createClient(): Promise<OpenAIClientLike> {
    const { default: OpenAI } = await importOptionalPeer(
      "openai",
      "OpenAIChatModel without a client",
      () => import("openai"),
    );
    const baseURL = this.#options.baseURL ?? process.env.OPENAI_BASE_URL;
    const apiKey =
      this.#options.apiKey ?? process.env.OPENAI_API_KEY ?? (baseURL ? "unused" : undefined);
    if (!apiKey) {
      throw new InvalidInputError(
        "OpenAIChatModel needs an API key: pass apiKey, set OPENAI_API_KEY, or give a baseURL",
      );
    }
    return new OpenAI({
      apiKey,
      ...(baseURL ? { baseURL } : {}),
      maxRetries: this.#options.maxRetries ?? 2,
      ...(this.#options.timeoutMs !== undefined ? { timeout: this.#options.timeoutMs } : {}),
    }) as OpenAIClientLike;
  }
}

/**
 * The conversation in wire form. The protocol wants each assistant message with tool calls
 * followed at once by one result per call; a thread where the user moved on without
 * answering an approval has none, so those calls get a "not run" result here (not stored).
 */
function wireMessages(messages: readonly ChatMessage[]): Record<string, unknown>[] {
  const results = new Map<string, ChatMessage>();
  for (const m of messages)
    if (m.role === "tool" && !results.has(m.toolCallId)) results.set(m.toolCallId, m);
  const placed = new Set<string>();
  const wire: Record<string, unknown>[] = [];
  for (const m of messages) {
    if (m.role === "tool") {
      if (!placed.has(m.toolCallId)) wire.push(toWire(m));
      continue;
    }
    wire.push(toWire(m));
    if (m.role !== "assistant") continue;
    for (const call of m.toolCalls ?? []) {
      const result = results.get(call.id);
      wire.push(
        result
          ? toWire(result)
          : {
              role: "tool",
              tool_call_id: call.id,
              content: "Error: not run; the conversation moved on.",
            },
      );
      placed.add(call.id);
    }
  }
  return wire;
}

/** A Rewind message in chat-completions wire form. */
function toWire(m: ChatMessage): Record<string, unknown> {
  switch (m.role) {
    case "assistant": {
      const calls = m.toolCalls ?? [];
      if (calls.length === 0) return { role: "assistant", content: m.content };
      return {
        role: "assistant",
        content: m.content === "" ? null : m.content,
        tool_calls: calls.map((c) => ({
          id: c.id,
          type: "function",
          function: { name: c.name, arguments: JSON.stringify(c.args) },
        })),
      };
    }
    case "tool":
      return { role: "tool", tool_call_id: m.toolCallId, content: m.content };
    default:
      return { role: m.role, content: m.content };
  }
}

function reply(
  content: string,
  wireCalls: readonly { id?: string; function?: { name?: string; arguments?: string } }[],
): AssistantMessage {
  // Always a fresh id: some compatible servers reuse completion ids, and the messages channel
  // would then overwrite an earlier turn.
  const toolCalls = wireCalls.map((c): ToolCall => {
    const name = c.function?.name ?? "";
    const raw = c.function?.arguments ?? "";
    const id = c.id || `call_${randomUUID()}`;
    try {
      const args = raw.trim() === "" ? {} : JSON.parse(raw);
      if (typeof args === "object" && args !== null && !Array.isArray(args))
        return { id, name, args };
    } catch {
      // reported to the model below
    }
    return {
      id,
      name,
      args: {},
      argsError: `the arguments for ${name} are not a JSON object: ${raw.slice(0, 200)}`,
    };
  });
  return assistantMessage(content, toolCalls);
}
