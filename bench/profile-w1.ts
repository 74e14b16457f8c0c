/**
 * `node --cpu-prof --import tsx bench/profile-w1.ts [langgraph|native|w5]`: a W1 (or W5) loop
 * alone, long enough for a CPU profile of Rewind's share of a super-step.
 */
import { SqliteBackend } from "../src/backends/sqlite/index.js";
import { createCheckpointer } from "../src/index.js";
import { RewindSaver } from "../src/langgraph/index.js";
import { linearGraph as lgLinear } from "./langgraph-workloads.js";
import { tempDb } from "./sqlite-bench.js";
import { linearGraph } from "./workloads.js";

const mode = process.argv[2] ?? "langgraph";
const RUNS = Number(process.env.BENCH_PROFILE_RUNS ?? 400);
const SYNC = (process.env.BENCH_SYNC ?? "normal") as "normal" | "full";
const tmp = tempDb("profile.sqlite");
const start = performance.now();
if (mode === "w5") {
  const { rewindSqlite } = await import("./langgraph-savers.js");
  const { runPuts } = await import("./langgraph-workloads.js");
  console.log(`${(await runPuts(rewindSqlite, RUNS * 10)).toFixed(0)} puts/s`);
} else if (mode === "sqlitesaver" || mode === "none") {
  const { SqliteSaver } = await import("@langchain/langgraph-checkpoint-sqlite");
  const saver = mode === "none" ? undefined : SqliteSaver.fromConnString(tmp.path);
  const app = lgLinear(saver);
  for (let r = 0; r < RUNS; r++)
    await app.invoke({ count: 0 }, { configurable: { thread_id: `t${r}` } });
} else if (mode === "native") {
  const checkpointer = createCheckpointer(new SqliteBackend(tmp.path, { synchronous: SYNC }));
  const app = linearGraph(checkpointer);
  for (let r = 0; r < RUNS; r++) await app.invoke({}, { threadId: `t${r}` });
  await checkpointer.close();
} else {
  const saver = new RewindSaver(new SqliteBackend(tmp.path, { synchronous: SYNC }));
  const app = lgLinear(saver);
  for (let r = 0; r < RUNS; r++)
    await app.invoke({ count: 0 }, { configurable: { thread_id: `t${r}` } });
  await saver.close();
}
console.log(`${mode}: ${((performance.now() - start) / RUNS).toFixed(3)} ms per run`);
tmp.done();
