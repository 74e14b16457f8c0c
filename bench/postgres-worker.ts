/**
 * One worker thread of the PostgreSQL throughput benchmark: its own checkpointer with one
 * connection per loop; warms up, says ready, waits for "go", then each of its `loops` runs the
 * linear graph `runs` times on threads of its own; reports the super-steps made.
 */
import { parentPort, workerData } from "node:worker_threads";
import { createPostgresCheckpointer } from "../src/backends/postgres/index.js";
import { linearGraph, NODES } from "./workloads.js";

const { url, schema, worker, runs, loops, warmRuns } = workerData as {
  url: string;
  schema: string;
  worker: number;
  runs: number;
  loops: number;
  warmRuns: number;
};
const port = parentPort!;
const checkpointer = createPostgresCheckpointer(url, { schema, maxConnections: loops });
const app = linearGraph(checkpointer);
const everyLoop = (prefix: string, count: number) =>
  Promise.all(
    Array.from({ length: loops }, async (_, l) => {
      for (let r = 0; r < count; r++)
        await app.invoke({}, { threadId: `${prefix}${worker}-${l}-${r}` });
    }),
  );
await everyLoop("warm", warmRuns);
const go = new Promise((resolve) => port.once("message", resolve));
port.postMessage("ready");
await go;
await everyLoop("w", runs);
await checkpointer.close();
port.postMessage({ steps: loops * runs * NODES });
