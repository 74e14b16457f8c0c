/**
 * One worker process of `bench:workers`: the 10-node linear graph as "linear" and a one-node
 * graph that sleeps as "slow" (for the kill), on PostgreSQL. Args: url, schema, leaseTtlMs, and
 * `memory` to keep the checkpoints in this process instead (the bench's ceiling: the queue and
 * the runtime alone, with checkpoints that cost nothing).
 */
import { createPostgresCheckpointer } from "../src/backends/postgres/index.js";
import { createCheckpointer, lastValue, MemoryBackend, START, StateGraph } from "../src/index.js";
import { createWorker } from "../src/worker/index.js";
import { linearGraph } from "./workloads.js";

const [url, schema, ttl, storage] = process.argv.slice(2) as [string, string, string, string?];
const checkpointer =
  storage === "memory"
    ? createCheckpointer(new MemoryBackend())
    : createPostgresCheckpointer(url, { schema, maxConnections: 6 });
const slow = new StateGraph({ ms: lastValue<number>(() => 0) })
  .addNode("sleep", async (s) => {
    await new Promise((r) => setTimeout(r, s.ms));
    return {};
  })
  .addEdge(START, "sleep")
  .compile({ checkpointer });
const linear = linearGraph(checkpointer);
// Warmed up before it reports ready (runs of its own, four at once, as a worker runs them), so
// that the table compares processes at their steady pace: with 8 processes on 2 cores, each
// would otherwise spend much of a short row compiling the same code the others compile too.
const WARM_UP_RUNS = Number(process.env.BENCH_WORKER_WARM_UP ?? 60);
for (let i = 0; i < WARM_UP_RUNS; i += 4) {
  await Promise.all(
    [0, 1, 2, 3].map((j) => linear.invoke({}, { threadId: `warm-${process.pid}-${i + j}` })),
  );
}
await createWorker({
  database: url,
  schema: `${schema}_queue`,
  graphs: { linear, slow },
  concurrency: 4,
  leaseTtlMs: Number(ttl),
  pollIntervalMs: 500,
  handleSignals: true,
});
process.stdout.write("ready\n");
