/**
 * Cancelling running runs. `cancel()` on the client marks the job cancelled in the queue (a
 * running one too); every `intervalMs` a worker reads which of its running jobs were cancelled
 * and aborts their runs' signals, so each stops at its next checkpoint: the steps it finished
 * stay saved, its lease is released, and the job stays cancelled (the queue ignores a cancelled
 * job's completion or failure).
 */
import type { Boss } from "./worker-queue.js";

export function watchCancels(
  boss: Boss,
  schema: string,
  running: ReadonlyMap<string, AbortController>,
  intervalMs: number,
): { stop(): void } {
  let busy = false;
  const timer = setInterval(() => {
    if (busy || running.size === 0) return;
    busy = true;
    boss
      .getDb()
      .executeSql(
        `SELECT id FROM "${schema.replaceAll('"', '""')}".job WHERE id = ANY($1::uuid[]) AND state = 'cancelled'`,
        [[...running.keys()]],
      )
      .then(
        (result: { rows: { id: string }[] }) => {
          for (const { id } of result.rows) running.get(id)?.abort(new Error("cancelled"));
        },
        () => undefined, // a lost connection only delays it to the next look
      )
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
