/**
 * Continuing the runs of dead workers. A running job's thread holds a lease that its worker
 * renews; a worker that dies (killed, machine gone, network cut) stops renewing. Every worker
 * looks, every `intervalMs`, at the queue's active jobs that started more than a lease lifetime
 * ago: one whose thread has no live lease (expired, released, or held by a process on this
 * machine that is provably gone) is failed back to the queue, which retries it at once, and the
 * retry resumes the thread from its last checkpoint. A worker that was only cut off and comes
 * back finds its lease taken: its next write is refused (`LeaseLostError`).
 */
import { threadKey } from "../checkpoint/thread-key.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import { holderIsGone } from "../graph/lease-holder.js";
import { every } from "./every.js";
import { type Boss, jobTable, RUN_QUEUE, type RunJobData } from "./worker-queue.js";

export function startRecovery(
  boss: Boss,
  schema: string,
  graphs: Readonly<Record<string, CompiledGraph<any>>>,
  intervalMs: number,
  leaseTtlMs: number,
): { stop(): void } {
  return every(intervalMs, () => recoverOnce(boss, schema, graphs, leaseTtlMs));
}

/** One look; returns the ids of the jobs it sent back to the queue. */
export async function recoverOnce(
  boss: Boss,
  schema: string,
  graphs: Readonly<Record<string, CompiledGraph<any>>>,
  leaseTtlMs: number,
): Promise<string[]> {
  // Ages and lease expiry are read on the server's clock (a lease's expiry is the server's too),
  // so a worker machine whose clock runs ahead takes no live run.
  const rows = (await boss.getDb().executeSql(
    `SELECT id, retry_count, data, started_on < now() - make_interval(secs => $2) AS old,
            (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now_ms
       FROM ${jobTable(schema)}
      WHERE name = $1 AND state = 'active' AND started_on < now() - interval '1 second'
      ORDER BY started_on LIMIT 200`,
    [RUN_QUEUE, leaseTtlMs / 1000],
  )) as {
    rows: { id: string; retry_count: number; data: RunJobData; old: boolean; now_ms: number }[];
  };
  const failed: string[] = [];
  for (const row of rows.rows) {
    const app = graphs[row.data.graph] ?? Object.values(graphs)[0];
    if (!app) continue;
    const lease = await app.checkpointer.readLease(threadKey(row.data.threadId, row.data.tenantId));
    // A job younger than a lease lifetime may not have taken its lease yet; a holder proven
    // gone (same machine) is not waited for.
    const gone = lease !== undefined && holderIsGone(lease.holder);
    // The server's time before the lease was read: an expiry is never seen early.
    const expired = lease === undefined || lease.expiresAt <= Number(row.now_ms);
    if (!gone && !(expired && row.old)) continue;
    await boss.fail(
      RUN_QUEUE,
      { id: row.id, retryCount: row.retry_count },
      { error: "the worker running this job stopped renewing its thread's lease" },
    );
    failed.push(row.id);
  }
  return failed;
}
