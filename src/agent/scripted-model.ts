/**
 * A model that replays a script, for tests and offline demos. The n-th assistant turn of a
 * conversation gets the n-th response, so a resumed, crashed or forked run replays from the
 * right place in any process, with no hidden cursor.
 */
import { InvalidInputError } from "../errors.js";
import type { ChatModel, ChatOptions, ChatRequest } from "./chat-model.js";
import { type AssistantMessage, assistantMessage } from "./messages.js";

/** One scripted turn: text, tool calls, or both. Tool call ids default to `call_<turn>_<i>`. */
export interface ScriptedTurn {
  content?: string;
  toolCalls?: readonly { id?: string; name: string; args?: Record<string, unknown> }[];
}

/** A response: a turn, plain text, or a function of the request (to react to edited state). */
export type ScriptedResponse =
  | string
  | ScriptedTurn
  | ((request: ChatRequest) => string | ScriptedTurn);

/** The script had no response for this turn of the conversation. */
export class ScriptExhaustedError extends InvalidInputError {}

/**
 * @example
 * const model = new ScriptedModel([
 *   { toolCalls: [{ name: "get_weather", args: { city: "Tokyo" } }] },
 *   "It is sunny in Tokyo.",
 * ]);
 */
export class ScriptedModel implements ChatModel {
  readonly #responses: readonly ScriptedResponse[];
  /** Every request this model received, in order (tests read what the model was told). */
  readonly requests: ChatRequest[] = [];

  constructor(responses: readonly ScriptedResponse[]) {
    if (!Array.isArray(responses)) {
      throw new InvalidInputError("ScriptedModel takes an array of responses");
    }
    this.#responses = [...responses];
  }

  async generate(request: ChatRequest, options: ChatOptions = {}): Promise<AssistantMessage> {
    this.requests.push(request);
    const turn = request.messages.filter((m) => m.role === "assistant").length;
    const scripted = this.#responses[turn];
    if (scripted === undefined) {
      throw new ScriptExhaustedError(
        `ScriptedModel: the conversation asks for assistant turn ${turn + 1}, but the script ` +
          `has only ${this.#responses.length} response(s)`,
      );
    }
    const resolved = typeof scripted === "function" ? scripted(request) : scripted;
    const spec: ScriptedTurn = typeof resolved === "string" ? { content: resolved } : resolved;
    const content = spec.content ?? "";
    // Word by word, so that streaming consumers see tokens as with a real model.
    if (options.onToken)
      for (const piece of content.match(/\S+\s*|\s+/g) ?? []) options.onToken(piece);
    return assistantMessage(
      content,
      (spec.toolCalls ?? []).map((c, i) => ({
        id: c.id ?? `call_${turn}_${i}`,
        name: c.name,
        args: c.args ?? {},
      })),
    );
  }
}
