/**
 * `node --cpu-prof --import tsx bench/profile-headers.ts`: `listHeaders` of a ~2,000-checkpoint
 * chat thread on SQLite, repeated, for a CPU profile of the headers path.
 */
import { createSqliteCheckpointer } from "../src/backends/sqlite/index.js";
import { tempDb } from "./sqlite-bench.js";
import { chatGraph, userMessage } from "./workloads.js";

const tmp = tempDb("headers.sqlite");
const checkpointer = createSqliteCheckpointer(tmp.path, { synchronous: "normal" });
const app = chatGraph(checkpointer);
for (let turn = 0; turn < 1000; turn++) {
  await app.invoke({ messages: userMessage(turn) }, { threadId: "h" });
}
const samples: number[] = [];
let size = 0;
for (let i = 0; i < 20; i++) {
  const start = performance.now();
  size = 0;
  for await (const _ of checkpointer.listHeaders({ threadId: "h" })) size++;
  samples.push(performance.now() - start);
}
samples.sort((a, b) => a - b);
console.log(
  `${size} headers: median ${samples[10]!.toFixed(1)} ms, min ${samples[0]!.toFixed(1)} ms`,
);
await checkpointer.close();
tmp.done();
