/**
 * Shared benchmark workloads: a 10-node linear graph (checkpoint cost per super-step) and a
 * chat thread of N turns (storage growth and read cost).
 */

import {
  type Checkpointer,
  createCheckpointer,
  lastValue,
  MemoryBackend,
  messagesChannel,
  START,
  StateGraph,
} from "../src/index.js";
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

/** The same work as plain async calls: no runtime and no checkpointer at all. */
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

/**
 * A checkpointer that checkpoints nothing: every thread reads as empty, leases are granted,
 * and encoding and writes do nothing. The runtime on it does all its own work (run loop, tasks,
 * channels, routing, the writer's bookkeeping) and none of checkpointing's (encoding, checksums,
 * the door, the backend, the lease's transactions), so a run on it is the reference a
 * checkpoint cost is taken net of, as LangGraph's W1 is taken net of a run with no checkpointer.
 */
export function noCheckpointing(): Checkpointer {
  const real = createCheckpointer(new MemoryBackend());
  const lease = (threadId: string, owner: string) => ({
    threadId,
    owner,
    token: 1,
    expiresAt: Number.MAX_SAFE_INTEGER,
  });
  const nothing: Record<string, unknown> = {
    encode: (input: { threadId: string; id: string }) => ({
      checkpoint: { threadId: input.threadId, id: input.id },
      blobs: [],
    }),
    write: async () => undefined,
    putWrites: async () => undefined,
    get: async () => undefined,
    headId: async () => undefined,
    acquireLease: async (threadId: string, owner: string) => lease(threadId, owner),
    renewLease: async (l: { threadId: string; owner: string }) => lease(l.threadId, l.owner),
    releaseLease: async () => true,
  };
  return new Proxy(real, {
    get(target, name) {
      if (typeof name === "string" && name in nothing) return nothing[name];
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The 10-node linear graph on the runtime alone: {@link noCheckpointing}. */
export const runtimeAlone = (() => {
  let app: ReturnType<typeof linearGraph> | undefined;
  let n = 0;
  return async (): Promise<void> => {
    app ??= linearGraph(noCheckpointing());
    await app.invoke({}, { threadId: `alone-${n++}` });
  };
})();

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

/** The middle value (the upper of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * One round of `app` (the linear graph) on `threads` threads of its own per call: each call
 * runs it once on `r{round}-t{t}` for t below `threads`, a new round's threads each time.
 */
export function threadRounds(app: ReturnType<typeof linearGraph>, threads: number) {
  let round = 0;
  return async () => {
    round++;
    for (let t = 0; t < threads; t++) await app.invoke({}, { threadId: `r${round}-t${t}` });
  };
}

/**
 * The median time of each of `subjects` (milliseconds) over `rounds` rounds, after one untimed
 * run of each. Each round runs them all in a rotating order, so that a change of load on the
 * shared machine falls on every side alike rather than on whichever ran last.
 */
export async function interleavedMedians(
  subjects: readonly (() => Promise<unknown>)[],
  rounds: number,
): Promise<number[]> {
  for (const subject of subjects) await subject();
  const samples: number[][] = subjects.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < subjects.length; i++) {
      const at = (i + r) % subjects.length;
      samples[at]!.push(await timeMs(subjects[at]!, 1));
    }
  }
  return samples.map(median);
}

/** Median of a few timings, in milliseconds. */
export async function timeMs(fn: () => Promise<unknown>, repeat = 5): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}
