/**
 * LangChain's fake chat model, scripted: each call returns the next scripted AI message (text,
 * tool calls), so a prebuilt ReAct agent can be driven offline. Both the plain and the streaming
 * path (LangGraph streams model calls inside a run) serve the script.
 */
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import { FakeListChatModel } from "@langchain/core/utils/testing";

export interface ScriptedTurn {
  readonly content: string;
  readonly toolCalls?: readonly { name: string; args: Record<string, unknown>; id: string }[];
}

export class ScriptedChatModel extends FakeListChatModel {
  readonly script: ScriptedTurn[];
  /** Every prompt the model saw, for asserting what the agent remembered. */
  readonly prompts: BaseMessage[][] = [];

  constructor(script: ScriptedTurn[]) {
    super({ responses: script.map((turn) => turn.content) });
    this.script = script;
  }

  /** The fake's own bindTools returns a fresh, unscripted model; keep this one. */
  override bindTools(_tools: Parameters<FakeListChatModel["bindTools"]>[0]) {
    return this.withConfig({});
  }

  override async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const turn = this.#next(messages);
    return { generations: [{ text: turn.content, message: new AIMessage(fields(turn)) }] };
  }

  override async *_streamResponseChunks(messages: BaseMessage[]) {
    const turn = this.#next(messages);
    yield new ChatGenerationChunk({
      text: turn.content,
      message: new AIMessageChunk(fields(turn)),
    });
  }

  #next(messages: BaseMessage[]): ScriptedTurn {
    this.prompts.push(messages);
    const turn = this.script.shift();
    if (!turn) throw new Error("the scripted model ran out of turns");
    return turn;
  }
}

function fields(turn: ScriptedTurn) {
  return {
    content: turn.content,
    tool_calls: (turn.toolCalls ?? []).map((call) => ({ ...call, type: "tool_call" as const })),
  };
}
