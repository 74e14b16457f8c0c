/**
 * Shared benchmark workloads: a 10-node linear graph (checkpoint cost per super-step) and a
 * chat thread of N turns (storage growth and read cost).
 */

import { type Checkpointer, lastValue, messagesChannel, START, StateGraph } from "../src/index.js";
import { prose } from "./prose.js";

export const NODES = 10;

/** A 10-node linear graph; each node updates a small counter and a short text. */
export function linearGraph(checkpointer: Checkpointer) {
  const graph = new StateGraph({
    count: lastValue<number>(() => 0),
    note: lastValue<string>(() => ""),
  });
  for (let i = 0; i < NODES; i++) {
    graph.addNode(`n${i}`, (s) => ({ count: s.count + 1, note: `node ${i} saw ${s.count}` }));
    graph.addEdge(i === 0 ? START : `n${i - 1}`, `n${i}`);
  }
  return graph.compile({ checkpointer });
}

/** The same work as plain async calls: the graph with no checkpointer at all. */
export async function linearPlain(): Promise<number> {
  let state = { count: 0, note: "" };
  for (let i = 0; i < NODES; i++) {
    const node = async (s: typeof state) => ({
      count: s.count + 1,
      note: `node ${i} saw ${s.count}`,
    });
    state = { ...state, ...(await node(state)) };
  }
  return state.count;
}

export const USER_BYTES = 200;
export const ASSISTANT_BYTES = 500;

/** A chat graph: the input appends a user message, the node appends an assistant reply. */
export function chatGraph(checkpointer: Checkpointer) {
  return new StateGraph({ messages: messagesChannel() })
    .addNode("assistant", (s) => ({
      messages: {
        id: `a${s.messages.length}`,
        role: "assistant",
        content: prose(ASSISTANT_BYTES, s.messages.length),
      },
    }))
    .addEdge(START, "assistant")
    .compile({ checkpointer });
}

export function userMessage(turn: number) {
  return { id: `u${turn}`, role: "user", content: prose(USER_BYTES, turn) };
}

/** Raw bytes of the messages of `turns` turns (content plus id and role, as JSON). */
export function rawMessageBytes(turns: number): number {
  let total = 0;
  for (let t = 0; t < turns; t++) {
    total += Buffer.byteLength(JSON.stringify(userMessage(t)));
    total += Buffer.byteLength(
      JSON.stringify({
        id: `a${2 * t + 1}`,
        role: "assistant",
        content: prose(ASSISTANT_BYTES, 2 * t + 1),
      }),
    );
  }
  return total;
}

/** Median of a few timings, in milliseconds. */
export async function timeMs(fn: () => Promise<unknown>, repeat = 5): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}
