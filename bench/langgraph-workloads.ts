/**
 * The LangGraph benchmark's workloads, each run the same way on any saver: W1 checkpoint cost
 * per super-step, W2 a 500-turn chat (time per turn, bytes), W3 reads on that thread, W4
 * concurrent workers, and the race of two runs on one thread.
 */
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import {
  Annotation,
  type BaseCheckpointSaver,
  END,
  MessagesAnnotation,
  START,
  StateGraph,
} from "@langchain/langgraph";
import { uuid6 } from "@langchain/langgraph-checkpoint";
import type { RewindSaver } from "../src/langgraph/index.js";
import type { SaverKind } from "./langgraph-savers.js";
import { prose } from "./prose.js";
import { interleavedMedians, median } from "./workloads.js";

export const NODES = 10;
const USER_BYTES = 200;
const ASSISTANT_BYTES = 500;

/** A 10-node linear graph; each node updates a counter and a short note. */
export function linearGraph(saver: BaseCheckpointSaver | undefined) {
  const State = Annotation.Root({ count: Annotation<number>(), note: Annotation<string>() });
  const graph = new StateGraph(State) as any;
  for (let i = 0; i < NODES; i++) {
    graph.addNode(`n${i}`, (s: { count: number }) => ({
      count: s.count + 1,
      note: `node ${i} saw ${s.count}`,
    }));
    graph.addEdge(i === 0 ? START : `n${i - 1}`, `n${i}`);
  }
  graph.addEdge(`n${NODES - 1}`, END);
  return graph.compile(saver ? { checkpointer: saver } : {}) as {
    invoke(input: unknown, config?: unknown): Promise<{ count: number }>;
  };
}

/** A chat graph: the input adds a ~200-byte user message, the node a ~500-byte reply. */
export function chatGraph(saver: BaseCheckpointSaver, latencyMs = 0) {
  return new StateGraph(MessagesAnnotation)
    .addNode("assistant", async (s) => {
      if (latencyMs > 0) await sleep(latencyMs);
      const last = String(s.messages.at(-1)?.content ?? "");
      return {
        messages: [
          new AIMessage(`re ${last.slice(0, 12)} ${prose(ASSISTANT_BYTES, s.messages.length)}`),
        ],
      };
    })
    .addEdge(START, "assistant")
    .addEdge("assistant", END)
    .compile({ checkpointer: saver });
}

export const userMessage = (turn: number, tag = "") =>
  new HumanMessage(`${tag}${prose(USER_BYTES, turn)}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Checkpoints one run of the linear graph writes (input, __start__, one per node). */
export const STEPS_PER_RUN = NODES + 2;

let linearCalls = 0;

/**
 * W1: one round of the linear graph on `saver` (undefined: no checkpointer) per call, on
 * `threads` threads of its own each time, so that a saver measured again never continues a
 * thread.
 */
export function linearRounds(saver: BaseCheckpointSaver | undefined, threads: number) {
  const app = linearGraph(saver);
  const call = linearCalls++;
  let round = 0;
  return async () => {
    round++;
    for (let t = 0; t < threads; t++) {
      const thread_id = `w1-${call}-${round}-${t}`;
      await app.invoke({ count: 0 }, { configurable: { thread_id } });
    }
  };
}

export interface ChatFigures {
  /** Median ms per turn over the 5 turns ending at each mark. */
  readonly turnMs: Record<number, number>;
  readonly bytes: number;
  readonly getStateMs: number;
  readonly historyMs: number;
  readonly historySize: number;
}

/**
 * W2 + W3: one thread of `turns` turns on each saver; per-turn time at marks, bytes, then reads.
 * The savers take turns (turn by turn, then read by read), so a drift of the machine's load
 * weighs on each alike.
 */
export async function runChats(
  kinds: readonly SaverKind[],
  turns: number,
  marks: readonly number[],
): Promise<ChatFigures[]> {
  const opened: Awaited<ReturnType<SaverKind["open"]>>[] = [];
  try {
    for (const kind of kinds) opened.push(await kind.open());
    const apps = opened.map((open) => chatGraph(open.saver));
    const config = { configurable: { thread_id: "w2" } };
    const perTurn: number[][] = apps.map(() => []);
    for (let turn = 0; turn < turns; turn++) {
      for (const [i, app] of apps.entries()) {
        perTurn[i]!.push(await timed(() => app.invoke({ messages: [userMessage(turn)] }, config)));
      }
    }
    const reads: number[][] = apps.map(() => []);
    for (let r = 0; r < 21; r++) {
      for (const [i, app] of apps.entries())
        reads[i]!.push(await timed(() => app.getState(config)));
    }
    const figures: ChatFigures[] = [];
    for (const [i, app] of apps.entries()) {
      const turnMs: Record<number, number> = {};
      for (const mark of marks)
        turnMs[mark] = median(perTurn[i]!.slice(Math.max(0, mark - 5), mark));
      let historySize = 0;
      // One pass: on LangGraph's savers a 500-turn history takes minutes.
      const historyMs = await timed(async () => {
        for await (const _ of app.getStateHistory(config)) historySize++;
      });
      figures.push({
        turnMs,
        bytes: await opened[i]!.bytes(),
        getStateMs: median(reads[i]!),
        historyMs,
        historySize,
      });
    }
    return figures;
  } finally {
    for (const open of opened) await open.close();
  }
}

/**
 * W4: `workers` concurrent loops each running the linear graph `runs` times, on each of `kinds`
 * (opened together); super-steps per second, the median of `rounds` rounds whose order rotates
 * (see `interleavedMedians`), so that a change of load on the shared machine falls on every
 * saver alike rather than on whichever ran last.
 */
export async function runWorkers(
  kinds: readonly SaverKind[],
  workers: number,
  runs: number,
  rounds: number,
): Promise<number[]> {
  // On SQLite the workers are concurrent runs in this process sharing one connection (as a
  // server's requests would); on PostgreSQL each may hold a connection of the pool.
  const opened: Awaited<ReturnType<SaverKind["open"]>>[] = [];
  try {
    for (const kind of kinds) opened.push(await kind.open({ poolSize: workers }));
    const batches = opened.map((open) => {
      const loops = Array.from({ length: workers }, () => linearRounds(open.saver, runs));
      return () => Promise.all(loops.map((loop) => loop()));
    });
    const ms = await interleavedMedians(batches, rounds);
    return ms.map((m) => (workers * runs * STEPS_PER_RUN) / (m / 1000));
  } finally {
    for (const open of opened) await open.close();
  }
}

export interface RaceFigures {
  /** A run that returned success but whose turn is not in the thread's head state. */
  lost: number;
  /** Both the run returned and its turn is in the head. */
  kept: number;
  /** The run failed with an error (nothing silently dropped). */
  refused: number;
}

/**
 * The race: on a thread with one earlier turn, run A starts, run B starts `delayMs` later; the
 * node takes 10 ms (a model call). A turn is lost when its run reported success but the thread's
 * head does not contain its reply.
 */
export async function runRace(
  kind: SaverKind,
  delayMs: number,
  trials: number,
): Promise<RaceFigures> {
  const open = await kind.open();
  const figures: RaceFigures = { lost: 0, kept: 0, refused: 0 };
  try {
    const app = chatGraph(open.saver, 10);
    for (let trial = 0; trial < trials; trial++) {
      const config = { configurable: { thread_id: `race-${delayMs}-${trial}` } };
      await app.invoke({ messages: [userMessage(0, "hello ")] }, config);
      const a = app.invoke({ messages: [userMessage(1, "A ")] }, config);
      if (delayMs > 0) await sleep(delayMs);
      const b = app.invoke({ messages: [userMessage(1, "B ")] }, config);
      const outcomes = await Promise.allSettled([a, b]);
      const head = (await app.getState(config)).values.messages.map((m: AIMessage) =>
        String(m.content),
      );
      outcomes.forEach((outcome, i) => {
        if (outcome.status === "rejected") figures.refused++;
        else if (head.some((c: string) => c.startsWith(i === 0 ? "re A " : "re B ")))
          figures.kept++;
        else figures.lost++;
      });
    }
    return figures;
  } finally {
    await open.close();
  }
}

/**
 * W5's saver, open: `put(n)` makes `n` more direct `put`s of a checkpoint holding a ~1 KB state
 * on one thread, each on the one before (what a custom loop or a replay does).
 */
async function openPutter(kind: SaverKind) {
  const open = await kind.open();
  const saver = open.saver;
  let config: any = { configurable: { thread_id: "w5", checkpoint_ns: "" } };
  let version: any;
  let i = 0;
  const once = async () => {
    version = saver.getNextVersion(version);
    const checkpoint = {
      v: 4,
      id: uuid6(i),
      ts: new Date().toISOString(),
      channel_values: { state: prose(1000, i) },
      channel_versions: { state: version },
      versions_seen: {},
    };
    config = await saver.put(
      config,
      checkpoint,
      { source: "loop", step: i, parents: {} },
      { state: version },
    );
    i++;
  };
  return {
    put: async (n: number) => {
      for (let k = 0; k < n; k++) await once();
    },
    close: () => open.close(),
  };
}

/**
 * W5: `puts` direct `put`s (see `openPutter`); puts per second. `measured` is called when the
 * `warmUp` puts (default 20) are done and the timed ones begin.
 */
export async function runPuts(
  kind: SaverKind,
  puts: number,
  measured?: () => void,
  warmUp = 20,
): Promise<number> {
  const putter = await openPutter(kind);
  try {
    await putter.put(warmUp);
    measured?.();
    const ms = await timed(() => putter.put(puts));
    return puts / (ms / 1000);
  } finally {
    await putter.close();
  }
}

/**
 * W5 on each of `kinds` after `warmUp` puts each (their code compiled, their thread long):
 * puts per second, the median of `rounds` rounds of `puts` whose order rotates (see
 * `interleavedMedians`).
 */
export async function interleavedPuts(
  kinds: readonly SaverKind[],
  puts: number,
  rounds: number,
  warmUp: number,
): Promise<number[]> {
  const putters: Awaited<ReturnType<typeof openPutter>>[] = [];
  try {
    for (const kind of kinds) putters.push(await openPutter(kind));
    for (const putter of putters) await putter.put(warmUp);
    const ms = await interleavedMedians(
      putters.map((putter) => () => putter.put(puts)),
      rounds,
    );
    return ms.map((m) => puts / (m / 1000));
  } finally {
    for (const putter of putters) await putter.close();
  }
}

export interface HeaderFigures {
  readonly size: number;
  readonly headersMs: number;
  readonly fullMs: number;
}

/**
 * Headers-only history on Rewind: a chat thread of about `checkpoints` checkpoints (three per
 * turn), then every header through `listHeaders` (median of 5) against one full listing.
 */
export async function runHeaders(kind: SaverKind, checkpoints: number): Promise<HeaderFigures> {
  const open = await kind.open();
  try {
    const saver = open.saver as RewindSaver;
    const app = chatGraph(saver);
    const config = { configurable: { thread_id: "h" } };
    for (let turn = 0; turn * 3 < checkpoints; turn++) {
      await app.invoke({ messages: [userMessage(turn)] }, config);
    }
    let size = 0;
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      size = 0;
      samples.push(
        await timed(async () => {
          for await (const _ of saver.checkpointer.listHeaders({ threadId: "h" })) size++;
        }),
      );
    }
    const fullMs = await timed(async () => {
      for await (const _ of saver.list(config)) {
      }
    });
    return { size, headersMs: median(samples), fullMs };
  } finally {
    await open.close();
  }
}
