/**
 * A worker: any number of processes, on any number of machines, start one against the same
 * PostgreSQL database. Each claims jobs from the queue (`worker-queue.ts`) and runs them on the
 * graph registered under the job's name; the thread lease and its fencing token stay the guard
 * against two workers on one thread. A job's retry (after a failure, or after its worker died:
 * `worker-recovery.ts`) resumes the thread from its last checkpoint, so finished tasks are not
 * redone.
 */

import { AlreadyResumedError, InvalidInputError } from "../errors.js";
import type { CompiledGraph } from "../graph/compiled-graph.js";
import type { RunResult } from "../graph/run-types.js";
import { withTraceparent } from "../tracing.js";
import { watchCancels } from "./worker-cancels.js";
import {
  DEFAULT_QUEUE_SCHEMA,
  jobInput,
  notifyDone,
  openQueue,
  type QueueConnection,
  RUN_QUEUE,
  type RunJobData,
  type RunOutcome,
} from "./worker-queue.js";
import { startRecovery } from "./worker-recovery.js";

/** Options of {@link createWorker}. */
export interface WorkerOptions extends QueueConnection {
  /** The graphs this worker runs, by the name clients submit to. */
  readonly graphs: Readonly<Record<string, CompiledGraph<any>>>;
  /** Runs at once in this process. Default 4. */
  readonly concurrency?: number;
  /**
   * Runs at once per tenant, across all workers. Exact within one worker process; workers in
   * different processes that claim at the same instant can each start one more (pg-boss counts a
   * tenant's active jobs when a claim begins). Default: no cap.
   */
  readonly tenantConcurrency?: number;
  /**
   * Lease lifetime of each run (renewed every quarter of it). A dead worker's run is continued
   * elsewhere once its lease has expired (at once on the same machine): within about this
   * plus `recoveryIntervalMs`. Default 5 s.
   */
  readonly leaseTtlMs?: number;
  /** How often this worker looks for runs of dead workers. Default 1 s. */
  readonly recoveryIntervalMs?: number;
  /**
   * How long `stop()` waits for running runs to reach their next checkpoint (a node still
   * running is waited for, never cut off). Default 30 s.
   */
  readonly shutdownTimeoutMs?: number;
  /** Stop gracefully on SIGTERM and SIGINT (then exit). Default false. */
  readonly handleSignals?: boolean;
  /** How often an idle worker polls when no notification arrives. Default 1 s. */
  readonly pollIntervalMs?: number;
}

/** A started worker. */
export interface Worker {
  /**
   * Stops claiming; each running run stops at its next checkpoint (bounded wait), releases its
   * thread's lease and goes back to the queue, where another worker continues it from there.
   * Idempotent.
   */
  stop(): Promise<void>;
  /** Runs in progress in this process. */
  readonly running: number;
}

/** Starts a worker; resolves once it claims jobs. */
export async function createWorker(options: WorkerOptions): Promise<Worker> {
  const concurrency = options.concurrency ?? 4;
  const tenantCap = options.tenantConcurrency;
  for (const [name, value] of [
    ["concurrency", concurrency],
    ["tenantConcurrency", tenantCap],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1))
      throw new InvalidInputError(`${name} must be a positive integer`);
  }
  if (Object.keys(options.graphs ?? {}).length === 0)
    throw new InvalidInputError(
      "a worker needs at least one graph: createWorker({ graphs: { name: app } })",
    );
  const leaseTtlMs = options.leaseTtlMs ?? 5_000;
  const boss = await openQueue(options, "createWorker", true);
  // Aborted by stop(): each running run ends at its next checkpoint (RunStoppedError), releases
  // its thread's lease, and its job fails back to the queue, where another worker continues it.
  const stopping = new AbortController();
  // Each running job's own signal: aborted when the worker stops or the job is cancelled.
  const running = new Map<string, AbortController>();
  const handle = async (job: { id: string; retryCount: number; data: RunJobData }) => {
    const run = new AbortController();
    const stopRun = () => run.abort(stopping.signal.reason);
    stopping.signal.addEventListener("abort", stopRun);
    if (stopping.signal.aborted) stopRun();
    running.set(job.id, run);
    const attempt = { id: job.id, retryCount: job.retryCount };
    try {
      const outcome = await runJob(options.graphs, job, leaseTtlMs, run.signal);
      // Completed here, then signalled outside any write transaction (the queue's own settling,
      // after this returns, finds it done).
      await boss.complete(RUN_QUEUE, attempt, outcome as object);
      await notifyDone(boss, job.id);
      return outcome;
    } catch (error) {
      // Failed here too, then signalled, so a wait learns at once of an attempt's end: the run's
      // final failure, or a retry (the wait reads the job and goes on waiting).
      await boss.fail(RUN_QUEUE, attempt, failure(error)).catch(() => undefined);
      await notifyDone(boss, job.id);
      throw error;
    } finally {
      running.delete(job.id);
      stopping.signal.removeEventListener("abort", stopRun);
    }
  };
  // Each of `concurrency` claimers takes one job at a time and, once it has run one, claims again
  // at once (it wakes itself), so a slot never idles a polling interval while jobs wait; with
  // nothing left it polls (or wakes on the queue's notification of a new job). With a per-tenant
  // cap one claimer takes up to `concurrency` jobs at a time instead: pg-boss counts a group's
  // active jobs when a claim starts, so claims racing in one process could each take one of a
  // tenant's jobs past its cap; one claim statement ranks the jobs it takes within the cap.
  const batchSize = tenantCap !== undefined ? concurrency : 1;
  const pollSeconds = Math.max(0.5, (options.pollIntervalMs ?? 1_000) / 1000);
  const claimer = async () => {
    let id: string | undefined;
    const runBatch = async (jobs: { id: string; retryCount: number; data: RunJobData }[]) => {
      const results = await Promise.all(
        jobs.map((job) =>
          handle(job).then(
            (output) => ({ id: job.id, status: "completed", output }),
            (error: unknown) => ({ id: job.id, status: "failed", output: failure(error) }),
          ),
        ),
      );
      if (id !== undefined && !stopping.signal.aborted) boss.notifyWorker(id);
      return results;
    };
    id = await boss.work<RunJobData>(
      RUN_QUEUE,
      {
        localConcurrency: 1,
        pollingIntervalSeconds: pollSeconds,
        notifyPollingIntervalSeconds: pollSeconds,
        batchSize,
        perJobResults: true,
        includeMetadata: true,
        ...(tenantCap ? { groupConcurrency: tenantCap } : {}),
      } as never,
      runBatch as never,
    );
  };
  for (let i = 0; i < concurrency / batchSize; i++) await claimer();
  const schema = options.schema ?? DEFAULT_QUEUE_SCHEMA;
  const intervalMs = options.recoveryIntervalMs ?? 1_000;
  const recovery = startRecovery(boss, schema, options.graphs, intervalMs, leaseTtlMs);
  const cancels = watchCancels(boss, schema, running, intervalMs);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      recovery.stop();
      cancels.stop();
      stopping.abort();
      await boss.stop({ graceful: true, timeout: options.shutdownTimeoutMs ?? 30_000 });
    })();
    return stopped;
  };
  if (options.handleSignals) {
    const onSignal = () => {
      stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }
  return {
    stop,
    get running() {
      return running.size;
    },
  };
}

/**
 * Runs one job: continues the thread from its last checkpoint. The job's id goes into the
 * metadata of every checkpoint it writes, so each attempt knows whether the job's input was
 * already applied (then it only continues the thread, and no turn is applied twice).
 */
async function runJob(
  graphs: WorkerOptions["graphs"],
  job: { id: string; retryCount: number; data: RunJobData },
  leaseTtlMs: number,
  signal: AbortSignal,
): Promise<RunOutcome> {
  const { graph, threadId, tenantId } = job.data;
  const app = graphs[graph];
  if (!app) throw new InvalidInputError(`this worker has no graph named ${JSON.stringify(graph)}`);
  const ref = { threadId, ...(tenantId !== undefined ? { tenantId } : {}) };
  const input = jobInput(job.data);
  // Every attempt decides under the thread's lease whether another attempt of this job applied
  // the input (then it only continues the thread). The first attempt checks too: recovery may
  // send a job back to the queue while its first attempt still runs (its connection was cut
  // before it took the lease), and the retry can then take the lease first.
  const options = {
    ...ref,
    applyOnce: { rewindJob: job.id },
    onBusy: "enqueue",
    leaseTtlMs,
    signal,
  } as const;
  // The run continues the submitter's trace (or its thread's: see graph/run.ts).
  const result = await withTraceparent(job.data.trace, async (): Promise<RunResult> => {
    try {
      return await app.invoke(input as never, options);
    } catch (error) {
      // An earlier attempt recorded the answer before it died: continue from there.
      if (!(error instanceof AlreadyResumedError) || job.retryCount === 0) throw error;
      return app.invoke(null, options);
    }
  });
  return {
    status: result.status,
    threadId: result.threadId,
    checkpointId: result.checkpointId,
    values: result.values,
    interrupts: result.interrupts.map((i) => ({ id: i.id, value: i.value })),
    next: result.next,
  };
}

function failure(error: unknown): object {
  return error instanceof Error
    ? { name: error.name, message: error.message, ...("code" in error ? { code: error.code } : {}) }
    : { message: String(error) };
}
