/**
 * A process that prunes an SQLite file and kills itself (SIGKILL) right after its Nth prune
 * batch committed (a prune with fewer batches finishes). argv: file, N.
 */

import type { CheckpointBackend } from "../../src/backend.js";
import { SqliteBackend } from "../../src/backends/sqlite/index.js";
import { createCheckpointer, prune } from "../../src/index.js";

const [file, killAfter] = process.argv.slice(2) as [string, string];
const limit = Number(killAfter);
const inner = new SqliteBackend(file);
let batches = 0;
const backend: CheckpointBackend = new Proxy(inner, {
  get(target, name, receiver) {
    const value = Reflect.get(target, name, receiver);
    if (name !== "pruneCheckpoints")
      return typeof value === "function" ? value.bind(target) : value;
    return async (batch: Parameters<CheckpointBackend["pruneCheckpoints"]>[0]) => {
      const result = await target.pruneCheckpoints(batch);
      if (++batches === limit) process.kill(process.pid, "SIGKILL");
      return result;
    };
  },
});
const checkpointer = createCheckpointer(backend);
const report = await prune(checkpointer, { keepLast: 3 }, { dryRun: false, batchSize: 2 });
await checkpointer.close();
console.log(JSON.stringify({ batches, checkpoints: report.total.checkpoints }));
