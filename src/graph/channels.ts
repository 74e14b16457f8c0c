/**
 * Channels: each state key has a reducer that folds a node's update into the current value.
 * Reducers must not mutate their inputs; the runtime relies on it to store append-only channels
 * as deltas (an append reducer returns `[...current, ...added]`).
 */
import { InvalidInputError } from "../errors.js";
import { type Message, mergeMessages } from "./messages.js";

/** How a channel's value is stored: `append` channels are stored as deltas when they only grew. */
export type ChannelKind = "last" | "append" | "custom";

/** A state key: its reducer, its value before any write, and its storage kind. */
export interface Channel<Value, Update = Value> {
  readonly kind: ChannelKind;
  readonly reduce: (current: Value, update: Update) => Value;
  readonly initial: () => Value;
  /** Phantom field for type inference. */
  readonly __types?: { value: Value; update: Update };
}

/** Last value wins (the default). Two writes to it in one super-step are an error. */
export function lastValue<T>(initial?: () => T): Channel<T, T> {
  return {
    kind: "last",
    reduce: (_current, update) => update,
    initial: initial ?? (() => undefined as T),
  };
}

/** An array that only grows: an update of one item or an array of items is appended. */
export function appendChannel<T>(): Channel<T[], T | readonly T[]> {
  return {
    kind: "append",
    reduce: (current, update) =>
      Array.isArray(update) ? [...current, ...(update as T[])] : [...current, update as T],
    initial: () => [],
  };
}

/**
 * A message list merged by id: a message with a new id is appended, one with a known id replaces
 * it in place, `removeMessage(id)` removes it. Messages without an id get one.
 */
export function messagesChannel<M extends Message = Message>(): Channel<M[], M | readonly M[]> {
  return {
    kind: "append",
    reduce: (current, update) => mergeMessages(current, update),
    initial: () => [],
  };
}

/** A custom reducer, e.g. `reducer((a, b) => a + b, () => 0)`. */
export function reducer<T, U = T>(
  reduce: (current: T, update: U) => T,
  initial: () => T,
): Channel<T, U> {
  if (typeof reduce !== "function" || typeof initial !== "function") {
    throw new InvalidInputError("reducer(reduce, initial) takes two functions");
  }
  return { kind: "custom", reduce, initial };
}

/** A map of state keys to channels. */
export type ChannelMap = Readonly<Record<string, Channel<any, any>>>;

/** The state type a channel map describes. */
export type StateOf<C extends ChannelMap> = {
  [K in keyof C]: C[K] extends Channel<infer V, any> ? V : never;
};

/** What a node may return: any subset of the channels' update types. */
export type UpdateOf<C extends ChannelMap> = {
  [K in keyof C]?: C[K] extends Channel<any, infer U> ? U : never;
};
