/**
 * Values <-> bytes for the LangGraph adapter. Rewind's tagged-JSON serializer handles everything
 * it can (so Date, Uint8Array, Map, Set, BigInt and undefined round-trip exactly, and LangChain
 * messages are stored compactly from their constructor fields); whatever it refuses (a class it
 * does not know, such as LangGraph's `Interrupt` or `Send`) goes through LangGraph's own serde,
 * with the serde's type tag stored behind a prefix that can never collide with Rewind's tags.
 */
import {
  AIMessage,
  AIMessageChunk,
  ChatMessage,
  ChatMessageChunk,
  FunctionMessage,
  FunctionMessageChunk,
  HumanMessage,
  HumanMessageChunk,
  RemoveMessage,
  SystemMessage,
  SystemMessageChunk,
  ToolMessage,
  ToolMessageChunk,
} from "@langchain/core/messages";
import { DeltaSnapshot, type SerializerProtocol } from "@langchain/langgraph-checkpoint";
import type { ValueSerializer } from "../checkpoint/checkpoint-codec.js";
import type { Maybe } from "../checkpoint/maybe-async.js";
import { isRewindError, SerializationError } from "../errors.js";
import { JsonSerializer, type SerializedValue } from "../serde/serializer.js";

/** Tag prefix of values encoded by LangGraph's serde: `lg:json`, `lg:bytes`. */
export const LANGGRAPH_TAG_PREFIX = "lg:";

const MESSAGE_CLASSES: Readonly<Record<string, new (fields: any) => object>> = {
  AIMessage,
  AIMessageChunk,
  ChatMessage,
  ChatMessageChunk,
  FunctionMessage,
  FunctionMessageChunk,
  HumanMessage,
  HumanMessageChunk,
  RemoveMessage,
  SystemMessage,
  SystemMessageChunk,
  ToolMessage,
  ToolMessageChunk,
};

/**
 * Registers LangChain's message classes and LangGraph's `DeltaSnapshot` with a Rewind
 * serializer. A message is stored as its constructor fields (`lc_kwargs`, what LangChain's own
 * `toJSON` reads) and rebuilt by its constructor, so nested Dates and bytes survive.
 */
export function registerLangChainClasses(serializer: JsonSerializer): JsonSerializer {
  for (const [name, ctor] of Object.entries(MESSAGE_CLASSES)) {
    serializer.register(`lc.${name}`, ctor, {
      toData: (message) => (message as { lc_kwargs: unknown }).lc_kwargs,
      fromData: (fields) => new ctor(fields),
    });
  }
  serializer.register("lg.DeltaSnapshot", DeltaSnapshot, {
    toData: (snapshot) => snapshot.value,
    fromData: (value) => new DeltaSnapshot(value),
  });
  return serializer;
}

/**
 * The saver's value serializer (the checkpoint codec's `ValueSerializer`): values, metadata and
 * filters of LangGraph. Size limits and byte layers are the codec's business, not this one's.
 */
export class LangGraphValueCodec implements ValueSerializer {
  readonly serializer: JsonSerializer;
  readonly #serde: SerializerProtocol;

  constructor(serde: SerializerProtocol, serializer: JsonSerializer) {
    this.#serde = serde;
    this.serializer = serializer;
  }

  /** Arrays Rewind's serializer encodes stay plain JSON arrays; LangGraph's serde gives no such promise. */
  get jsonArrayTag(): string | undefined {
    return this.serializer.jsonArrayTag;
  }

  /**
   * Encodes one value; falls back to LangGraph's serde for classes Rewind does not know. Answers
   * at once when Rewind's serializer takes the value (a promise only for the serde's): a saver's
   * put is made of a dozen values, and each promise costs the hooks LangGraph's context installs.
   */
  encode(value: unknown): Maybe<SerializedValue> {
    try {
      return this.serializer.encode(value);
    } catch (error) {
      if (!isRewindError(error, "SERIALIZATION")) throw error;
      return this.#serde
        .dumpsTyped(value)
        .then(([type, bytes]) => ({ tag: LANGGRAPH_TAG_PREFIX + type, bytes }));
    }
  }

  /** Decodes a stored value by its tag; an unknown tag raises a SerializationError. */
  async decode(value: SerializedValue): Promise<unknown> {
    if (!value.tag.startsWith(LANGGRAPH_TAG_PREFIX)) return this.serializer.decode(value);
    try {
      return await this.#serde.loadsTyped(
        value.tag.slice(LANGGRAPH_TAG_PREFIX.length),
        value.bytes,
      );
    } catch (cause) {
      throw new SerializationError(
        `LangGraph's serde could not decode a "${value.tag}" value: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  /**
   * Metadata as tagged-JSON text, so that backends can filter on it. Metadata Rewind cannot
   * encode is first flattened by LangGraph's serde (what LangGraph's own savers store).
   */
  encodeMetadata(metadata: unknown): Maybe<string> {
    try {
      return this.serializer.stringify(metadata);
    } catch (error) {
      if (!isRewindError(error, "SERIALIZATION")) throw error;
      return this.#serde
        .dumpsTyped(metadata)
        .then(([, bytes]) =>
          this.serializer.stringify(JSON.parse(new TextDecoder().decode(bytes))),
        );
    }
  }

  decodeMetadata(text: string): Record<string, unknown> {
    return this.serializer.parse(text) as Record<string, unknown>;
  }

  /** The tagged-JSON text a metadata filter value must equal. */
  filterValue(value: unknown): string {
    return this.serializer.stringify(value);
  }
}

/** A fresh Rewind serializer that knows LangChain's message classes. */
export function createLangGraphSerializer(): JsonSerializer {
  return registerLangChainClasses(new JsonSerializer());
}
