/**
 * `npm run bench:langgraph`: the same LangGraph.js graphs on Rewind's saver and on LangGraph's
 * SQLite and PostgreSQL savers, side by side in one run, printed as ratios (LangGraph's figure
 * divided by Rewind's: above 1 means Rewind is cheaper or faster). Figures depend on the
 * machine; compare the ratios.
 */
import { nullSaver, type OpenOptions, type SaverKind, saverPairs } from "./langgraph-savers.js";
import {
  type ChatFigures,
  interleavedPuts,
  linearRounds,
  type RaceFigures,
  runChats,
  runHeaders,
  runPuts,
  runRace,
  runWorkers,
  STEPS_PER_RUN,
} from "./langgraph-workloads.js";
import { interleavedMedians } from "./workloads.js";

const THREADS = Number(process.env.BENCH_THREADS ?? 200);
const TURNS = Number(process.env.BENCH_TURNS ?? 500);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 10);
const W1_ROUNDS = Number(process.env.BENCH_W1_ROUNDS ?? 5);
const MARKS = [10, 100, 500].filter((m) => m <= TURNS);
const HISTORY = Number(process.env.BENCH_HISTORY ?? 2000);
/** Rounds of W4, each saver's batch in a rotating order (medians). */
const W4_ROUNDS = Number(process.env.BENCH_W4_ROUNDS ?? 5);
/** Puts before W5's steady-state figure is timed. */
const W5_WARM_UP = 10_000;
/** `BENCH_ONLY=W1,W5,W4` (with `BENCH_ENGINES=sqlite`): only those sections; default all. */
const ONLY = new Set((process.env.BENCH_ONLY ?? "W1,W5,W2,H,W4,race").split(","));
const ENGINES = new Set((process.env.BENCH_ENGINES ?? "sqlite,postgres").split(","));

interface Line {
  readonly metric: string;
  readonly rewind: number;
  readonly langgraph: number;
  readonly unit: string;
  /** true: a bigger figure is better (throughput), so the ratio is Rewind / LangGraph. */
  readonly higherIsBetter?: boolean;
  readonly target?: string;
}

const lines: Line[] = [];
const fmt = (n: number, unit: string) =>
  unit === "B" ? String(Math.round(n)) : unit === "/s" ? n.toFixed(0) : n.toFixed(3);
const row = (l: Line) => {
  const ratio = l.higherIsBetter ? l.rewind / l.langgraph : l.langgraph / l.rewind;
  return `${l.metric.padEnd(70)} ${fmt(l.rewind, l.unit).padStart(11)} ${fmt(l.langgraph, l.unit).padStart(11)} ${ratio.toFixed(2).padStart(7)}x  ${l.target ?? ""}`;
};
// Printed as soon as measured (a full run takes a while), then again as one table at the end.
const push = (...more: Line[]) => {
  for (const l of more) {
    lines.push(l);
    console.log(row(l));
  }
};
const races: string[] = [];
const pairs = await saverPairs();

for (const { engine, rewind, langgraph } of pairs) {
  if (!ENGINES.has(engine)) continue;
  // SQLite at both settings, each pair at the same one (LangGraph's SqliteSaver runs at NORMAL).
  const settings: (OpenOptions["synchronous"] | undefined)[] =
    engine === "sqlite" ? ["normal", "full"] : [undefined];
  for (const synchronous of ONLY.has("W1") ? settings : []) {
    const label = synchronous ? `${engine} ${synchronous}` : engine;
    console.log(`... ${label}: W1`);
    const perStep = await linearCostPerStep([rewind, langgraph], { synchronous });
    push({
      metric: `W1 ${label}: checkpoint cost per super-step (ms, net of no checkpointer)`,
      rewind: perStep[0]!,
      langgraph: perStep[1]!,
      unit: "ms",
      target: engine === "sqlite" ? ">= 2x lower" : ">= 3x lower",
    });
  }

  if (ONLY.has("W5")) {
    console.log(`... ${engine}: W5`);
    push({
      metric: `W5 ${engine}: put of a 1 KB state, puts per second`,
      rewind: await runPuts(rewind, 1000),
      langgraph: await runPuts(langgraph, 1000),
      unit: "/s",
      higherIsBetter: true,
    });
    // A long loop or replay: both savers warmed up (their code compiled) by 10,000 puts first,
    // then rounds of 1,000 puts each, interleaved.
    const [rewindRate, langgraphRate] = await interleavedPuts(
      [rewind, langgraph],
      1000,
      5,
      W5_WARM_UP,
    );
    push({
      metric: `  the same after 10,000 puts (a long loop or replay)`,
      rewind: rewindRate!,
      langgraph: langgraphRate!,
      unit: "/s",
      higherIsBetter: true,
    });
  }

  if (ONLY.has("W2")) await chat(engine, rewind, langgraph);
  if (ONLY.has("H")) {
    console.log(`... ${engine}: headers of a ${HISTORY}-checkpoint thread`);
    const headers = await runHeaders(rewind, HISTORY);
    push({
      metric: `H ${engine}: ${headers.size} headers (listHeaders) vs full list, Rewind (ms)`,
      rewind: headers.headersMs,
      langgraph: headers.fullMs,
      unit: "ms",
      target: engine === "sqlite" ? "headers <= 100 ms" : "headers <= 300 ms",
    });
  }

  if (ONLY.has("W4")) {
    console.log(`... ${engine}: W4`);
    // The ceiling of that ratio, on SQLite: LangGraph's own work with a saver that stores
    // nothing. W4 is CPU-bound in one process, so no saver's ratio can pass this one's.
    const kinds = engine === "sqlite" ? [rewind, langgraph, nullSaver] : [rewind, langgraph];
    const [rewindRate, langgraphRate, ceiling] = await runWorkers(kinds, 8, 40, W4_ROUNDS);
    push({
      metric: `W4 ${engine}: 8 concurrent workers, super-steps per second`,
      rewind: rewindRate!,
      langgraph: langgraphRate!,
      unit: "/s",
      higherIsBetter: true,
      target: engine === "sqlite" ? ">= 1.5x" : "",
    });
    if (ceiling !== undefined)
      push({
        metric: "  ceiling: the same with a saver that stores nothing",
        rewind: ceiling,
        langgraph: langgraphRate!,
        unit: "/s",
        higherIsBetter: true,
        target: "(bound)",
      });
  }

  if (ONLY.has("race")) {
    console.log(`... ${engine}: race`);
    for (const delay of [0, 1, 5, 20]) {
      const show = (f: RaceFigures) => `lost ${f.lost}, kept ${f.kept}, refused ${f.refused}`;
      const race =
        `race ${engine}, B starts ${String(delay).padStart(2)} ms after A, ${TRIALS} trials: ` +
        `Rewind ${show(await runRace(rewind, delay, TRIALS))} | LangGraph ${show(await runRace(langgraph, delay, TRIALS))}`;
      races.push(race);
      console.log(race);
    }
  }
}

/** W2 and W3: one long chat thread on each saver, then its reads. */
async function chat(engine: string, rewind: SaverKind, langgraph: SaverKind) {
  console.log(`... ${engine}: W2/W3 (${TURNS} turns)`);
  const [rw, lg] = (await runChats([rewind, langgraph], TURNS, MARKS)) as [
    ChatFigures,
    ChatFigures,
  ];
  for (const mark of MARKS) {
    push({
      metric: `W2 ${engine}: time per turn at turn ${mark} (ms)`,
      rewind: rw.turnMs[mark]!,
      langgraph: lg.turnMs[mark]!,
      unit: "ms",
    });
  }
  push({
    metric: `W2 ${engine}: bytes stored after ${TURNS} turns`,
    rewind: rw.bytes,
    langgraph: lg.bytes,
    unit: "B",
    target: ">= 10x fewer",
  });
  push({
    metric: `W3 ${engine}: getState, latest (ms)`,
    rewind: rw.getStateMs,
    langgraph: lg.getStateMs,
    unit: "ms",
    target: engine === "sqlite" ? ">= 3x faster" : ">= 10x faster",
  });
  push({
    metric: `W3 ${engine}: full getStateHistory, ${rw.historySize} snapshots (ms)`,
    rewind: rw.historyMs,
    langgraph: lg.historyMs,
    unit: "ms",
  });
}

console.log(
  `\n${"metric".padEnd(70)} ${"Rewind".padStart(11)} ${"LangGraph".padStart(11)} ${"ratio".padStart(8)}  target`,
);
for (const l of lines) console.log(row(l));
console.log(`\n${races.join("\n")}`);
console.log(
  "\nratio: LangGraph's figure / Rewind's (throughput: Rewind's / LangGraph's); above 1 favours Rewind. H lines: Rewind's full list / its headers listing (the reference column is the full list).",
);

/**
 * W1 for several savers: the graph with no checkpointer and with each saver, measured in
 * interleaved rounds (see `interleavedMedians`), so that neither JIT warm-up nor a drift of the
 * machine favours whichever is measured first. Returns each saver's median net cost per
 * super-step.
 */
async function linearCostPerStep(
  kinds: readonly SaverKind[],
  options: OpenOptions,
): Promise<number[]> {
  const opened = await Promise.all(kinds.map((kind) => kind.open(options)));
  try {
    const subjects = [undefined, ...opened.map((o) => o.saver)];
    const ms = await interleavedMedians(
      subjects.map((saver) => linearRounds(saver, THREADS)),
      W1_ROUNDS,
    );
    const plain = ms[0]!;
    return ms.slice(1).map((m) => (m - plain) / (THREADS * STEPS_PER_RUN));
  } finally {
    for (const o of opened) await o.close();
  }
}
