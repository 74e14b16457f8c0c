/**
 * One worker process of `bench:workers`: the 10-node linear graph as "linear" and a one-node
 * graph that sleeps as "slow" (for the kill), on PostgreSQL. Args: url, schema, leaseTtlMs.
 */
import { createPostgresCheckpointer } from "../src/backends/postgres/index.js";
import { lastValue, START, StateGraph } from "../src/index.js";
import { createWorker } from "../src/worker/index.js";
import { linearGraph } from "./workloads.js";

const [url, schema, ttl] = process.argv.slice(2) as [string, string, string];
const checkpointer = createPostgresCheckpointer(url, { schema, maxConnections: 6 });
const slow = new StateGraph({ ms: lastValue<number>(() => 0) })
  .addNode("sleep", async (s) => {
    await new Promise((r) => setTimeout(r, s.ms));
    return {};
  })
  .addEdge(START, "sleep")
  .compile({ checkpointer });
await createWorker({
  database: url,
  schema: `${schema}_queue`,
  graphs: { linear: linearGraph(checkpointer), slow },
  concurrency: 4,
  leaseTtlMs: Number(ttl),
  pollIntervalMs: 500,
  handleSignals: true,
});
process.stdout.write("ready\n");
