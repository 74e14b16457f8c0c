/**
 * The model seam of the agent layer: one call that turns a conversation (and the tools on
 * offer) into the model's next assistant message.
 */
import type { AssistantMessage, ChatMessage } from "./messages.js";
import type { ToolSpec } from "./tools.js";

/** One model call's input. */
export interface ChatRequest {
  /** The conversation, system prompt first when there is one. */
  readonly messages: readonly ChatMessage[];
  /** Tools the model may call; empty when the agent has none. */
  readonly tools: readonly ToolSpec[];
}

/** Per-call options. */
export interface ChatOptions {
  /** Called with each piece of text as the model produces it, when the model streams. */
  onToken?: (text: string) => void;
  signal?: AbortSignal;
}

/**
 * A chat model. `generate` resolves to the complete assistant message (text and tool calls,
 * each tool call with an id); a failure rejects, and the agent's run fails with the node's
 * error, resumable from the last checkpoint.
 */
export interface ChatModel {
  generate(request: ChatRequest, options?: ChatOptions): Promise<AssistantMessage>;
}
