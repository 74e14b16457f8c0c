/**
 * Chat messages of the agent layer: plain, serializable objects with an `id` (the messages
 * channel merges by id) and a `role`. Constructors fill in a fresh id unless one is given.
 */
import { randomUUID } from "node:crypto";
import { InvalidInputError } from "../errors.js";

/** A tool call the model asked for; `id` pairs it with its {@link ToolMessage}. */
export type ToolCall = {
  readonly id: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  /** Set when the model's arguments were not a JSON object; the tool is then not run. */
  readonly argsError?: string;
};

export type SystemMessage = {
  readonly id: string;
  readonly role: "system";
  readonly content: string;
};

export type UserMessage = { readonly id: string; readonly role: "user"; readonly content: string };

/** What the model said; `toolCalls` (possibly empty) are the tools it wants run next. */
export type AssistantMessage = {
  readonly id: string;
  readonly role: "assistant";
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
};

/** A tool's result (or error) for one tool call, as the model will read it. */
export type ToolMessage = {
  readonly id: string;
  readonly role: "tool";
  readonly toolCallId: string;
  readonly name: string;
  readonly content: string;
  /** True when the tool failed, its input was invalid, or a human rejected the call. */
  readonly isError: boolean;
};

/** Any message of an agent conversation. */
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

interface IdOption {
  /** A message with the id of an earlier one replaces it when merged into the state. */
  id?: string;
}

export function systemMessage(content: string, options: IdOption = {}): SystemMessage {
  return { id: idOf(options), role: "system", content: text(content, "system") };
}

export function userMessage(content: string, options: IdOption = {}): UserMessage {
  return { id: idOf(options), role: "user", content: text(content, "user") };
}

export function assistantMessage(
  content: string,
  toolCalls: readonly ToolCall[] = [],
  options: IdOption = {},
): AssistantMessage {
  return {
    id: idOf(options),
    role: "assistant",
    content: text(content, "assistant"),
    toolCalls: toolCalls.map((c) => ({ ...c, args: { ...c.args } })),
  };
}

export function toolMessage(
  call: Pick<ToolCall, "id" | "name">,
  content: string,
  options: IdOption & { isError?: boolean } = {},
): ToolMessage {
  return {
    id: idOf(options),
    role: "tool",
    toolCallId: call.id,
    name: call.name,
    content: text(content, "tool"),
    isError: options.isError ?? false,
  };
}

/**
 * Tool calls of the conversation's last assistant message that have no result yet, in the
 * order the model made them. Empty when the model's last turn asked for nothing.
 */
export function pendingToolCalls(messages: readonly ChatMessage[]): ToolCall[] {
  let at = messages.length - 1;
  while (at >= 0 && messages[at]!.role !== "assistant") at--;
  const last = messages[at] as AssistantMessage | undefined;
  // Messages written by hand (not through the constructors) may lack toolCalls.
  const calls = last?.toolCalls ?? [];
  if (calls.length === 0) return [];
  const answered = new Set<string>();
  for (const m of messages.slice(at + 1)) {
    if (m.role === "tool") answered.add(m.toolCallId);
  }
  return calls.filter((c) => !answered.has(c.id));
}

function idOf(options: IdOption): string {
  if (options.id === undefined) return randomUUID();
  if (typeof options.id !== "string" || options.id.length === 0) {
    throw new InvalidInputError("a message id must be a non-empty string");
  }
  return options.id;
}

function text(content: unknown, role: string): string {
  if (typeof content !== "string") {
    throw new InvalidInputError(`a ${role} message's content must be a string`);
  }
  return content;
}
