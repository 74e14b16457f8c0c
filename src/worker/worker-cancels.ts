/**
 * Cancelling running runs. `cancel()` on the client marks the job cancelled in the queue (a
 * running one too); every `intervalMs` a worker reads which of its running jobs were cancelled
 * and aborts their runs' signals, so each stops at its next checkpoint: the steps it finished
 * stay saved, its lease is released, and the job stays cancelled (the queue ignores a cancelled
 * job's completion or failure).
 */
import { every } from "./every.js";
import { type Boss, jobTable } from "./worker-queue.js";

export function watchCancels(
  boss: Boss,
  schema: string,
  running: ReadonlyMap<string, AbortController>,
  intervalMs: number,
): { stop(): void } {
  return every(intervalMs, async () => {
    if (running.size === 0) return;
    const result = (await boss
      .getDb()
      .executeSql(
        `SELECT id FROM ${jobTable(schema)} WHERE id = ANY($1::uuid[]) AND state = 'cancelled'`,
        [[...running.keys()]],
      )) as { rows: { id: string }[] };
    for (const { id } of result.rows) running.get(id)?.abort(new Error("cancelled"));
  });
}
