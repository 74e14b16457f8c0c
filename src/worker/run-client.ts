/**
 * The client side of the workers: submit a run, wait for its outcome, cancel it, list runs. A
 * client needs no graph code, only the graph's registered name. `result()` wakes on the
 * notification sent after a job completed, failed or was cancelled (outside any write
 * transaction), reads again whenever the listening connection drops or comes back, and polls as
 * a safety net, so a lost notification only delays it.
 */

import {
  InvalidInputError,
  NotFoundError,
  RunFailedError,
  StorageError,
  ThreadBusyError,
} from "../errors.js";
import { validateThreadId } from "../ids.js";
import { importOptionalPeer } from "../optional-peer.js";
import { traceparentOf } from "../tracing.js";
import {
  DEAD_QUEUE,
  DEFAULT_QUEUE_SCHEMA,
  DONE_CHANNEL,
  encodeInput,
  jobTable,
  notifyDone,
  openQueue,
  type QueueConnection,
  queueCall,
  RUN_QUEUE,
  type RunJobData,
  type RunOutcome,
  threadOrderKey,
} from "./worker-queue.js";

/** Options of {@link RunClient.submit}. */
export interface SubmitOptions {
  readonly threadId: string;
  readonly tenantId?: string;
  /** Higher runs first among ready jobs of different threads. Default 0. */
  readonly priority?: number;
  /** Not before this time. */
  readonly runAt?: Date;
  /**
   * A run on a thread that already has a queued or running job: `enqueue` (default) runs after
   * it, in submission order; `reject` refuses the submission with `ThreadBusyError`.
   */
  readonly onBusy?: "enqueue" | "reject";
  /**
   * Retries after a failed attempt (a node that threw, a worker that died) before the run is
   * dead: failed for good, listed with its last error and parked in the dead-letter queue, from
   * where `retry()` sends it back. Each retry resumes from the last checkpoint. Default 20.
   */
  readonly maxRetries?: number;
  /**
   * The run's id (a UUID), to make a submission idempotent: submitting again with the same id
   * (say, after a lost connection) returns the same run and queues nothing.
   */
  readonly id?: string;
}

/** A job's state in the queue. */
export type RunState = "created" | "retry" | "active" | "completed" | "cancelled" | "failed";

/** A submitted run. */
export interface RunHandle<S = any> {
  readonly id: string;
  /** Resolves when the run finished or paused for a human; rejects with `RunFailedError`. */
  result(options?: { timeoutMs?: number }): Promise<RunOutcome<S>>;
  /**
   * Cancels the run; true if it was cancelled (false once it ended). A run not started never
   * starts; a running one stops at its next checkpoint (its worker looks every
   * `recoveryIntervalMs`), with the steps it finished saved and its thread's lease released.
   */
  cancel(): Promise<boolean>;
  /**
   * Sends a dead run (failed after its last retry) back to the queue for one more attempt,
   * resuming from its last checkpoint, and takes it out of the dead-letter queue; its id and
   * `result()` stay the same. True if it was dead, false otherwise.
   */
  retry(): Promise<boolean>;
  state(): Promise<RunState>;
}

/** A run as `list` shows it. */
export interface RunInfo {
  readonly id: string;
  readonly graph: string;
  readonly threadId: string;
  readonly tenantId: string | undefined;
  readonly state: RunState;
  readonly retries: number;
  readonly createdOn: Date;
  /** A failed run's last error (its message). */
  readonly error?: string;
  /** Failed after its last retry and parked in the dead-letter queue (see `retry()`). */
  readonly deadLetter: boolean;
}

export interface RunClient {
  submit<S = any>(graph: string, input: unknown, options: SubmitOptions): Promise<RunHandle<S>>;
  /** A handle on a run submitted earlier (by any client). */
  handle<S = any>(id: string): RunHandle<S>;
  /**
   * Runs, oldest first: all, or one thread's (with its tenant), or in one state (`"failed"`:
   * the dead runs, with their last error).
   */
  list(filter?: {
    threadId?: string;
    tenantId?: string;
    state?: RunState;
    limit?: number;
  }): Promise<RunInfo[]>;
  close(): Promise<void>;
}

/** Options of {@link createRunClient}. */
export interface RunClientOptions extends QueueConnection {
  /**
   * How often `result()` reads a run again while no notification came and the client's
   * listening connection is up: only a safety net, since a notification wakes it and every wait
   * reads again when that connection drops or comes back. While it is down, `result()` reads
   * every 0.25-1 s. Default 10 s.
   */
  readonly pollIntervalMs?: number;
}

/** Opens a client on the workers' queue. */
export async function createRunClient(options: RunClientOptions): Promise<RunClient> {
  const pollIntervalMs = options.pollIntervalMs ?? 10_000;
  // A timer's longest wait: a longer one would fire at once, and the safety net would spin.
  if (!(typeof pollIntervalMs === "number" && pollIntervalMs >= 1 && pollIntervalMs <= 2 ** 31 - 1))
    throw new InvalidInputError("pollIntervalMs must be a number of milliseconds from 1 to 2^31-1");
  const boss = await openQueue(options, "createRunClient", false);
  const schema = options.schema ?? DEFAULT_QUEUE_SCHEMA;
  const waiters = new Map<string, Set<() => void>>();
  const listener = await listen(options.database, {
    done: (id) => {
      for (const wake of waiters.get(id) ?? []) wake();
    },
    // Notifications sent while the connection was down are lost: every wait reads again.
    changed: () => {
      for (const set of waiters.values()) for (const wake of set) wake();
    },
  });
  const getJob = async (id: string) => {
    const [job] = await queueCall("read a run", () => boss.findJobs<RunJobData>(RUN_QUEUE, { id }));
    if (!job) throw new NotFoundError(`no run with id ${JSON.stringify(id)}`);
    return job;
  };
  /** A wait for `id`'s notification, registered now; `until(ms)` ends on it or after `ms`. */
  const wakeOn = (id: string) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let woken = false;
    let resolve: (() => void) | undefined;
    const wake = () => {
      woken = true;
      resolve?.();
    };
    const set = waiters.get(id) ?? new Set();
    waiters.set(id, set);
    set.add(wake);
    return {
      until: (ms: number) =>
        woken
          ? Promise.resolve()
          : new Promise<void>((done) => {
              resolve = done;
              timer = setTimeout(done, ms);
            }),
      stop: () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && waiters.get(id) === set) waiters.delete(id);
      },
    };
  };
  const handle = <S>(id: string): RunHandle<S> => ({
    id,
    state: async () => (await getJob(id)).state,
    retry: async () => {
      await getJob(id);
      const response = await queueCall("retry a run", () => boss.retry(RUN_QUEUE, id));
      if ((response as { affected?: number }).affected !== 1) return false;
      await queueCall("take a run out of the dead-letter queue", () =>
        boss
          .getDb()
          .executeSql(`DELETE FROM ${jobTable(schema)} WHERE name = $1 AND source_id = $2`, [
            DEAD_QUEUE,
            id,
          ]),
      );
      return true;
    },
    cancel: async () => {
      const job = await getJob(id);
      if (job.state !== "created" && job.state !== "retry" && job.state !== "active") return false;
      await queueCall("cancel a run", () => boss.cancel(RUN_QUEUE, id));
      const cancelled = (await getJob(id)).state === "cancelled";
      // Waits on it (in any process) end now; a running run stops at its next checkpoint.
      if (cancelled) await notifyDone(boss, id);
      return cancelled;
    },
    result: async ({ timeoutMs = Number.POSITIVE_INFINITY } = {}) => {
      const deadline = Date.now() + timeoutMs;
      for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, LAST_POLL_MS)) {
        // Listening before reading: a notification that arrives while the job is read still
        // wakes the wait below, so polling is only the fallback for one that was lost (the
        // listening connection dropped), not for one that came too early.
        const wait = wakeOn(id);
        try {
          // A lost connection (a database restart, say) only delays the answer.
          const job = await getJob(id).catch((error) => {
            if (error instanceof StorageError && Date.now() < deadline) return undefined;
            throw error;
          });
          if (job?.state === "completed") return job.output as RunOutcome<S>;
          if (job?.state === "failed" || job?.state === "cancelled")
            throw new RunFailedError(
              `run ${id} ended ${job.state}: ${describe(job.output)}`,
              job.state,
            );
          if (job && Date.now() >= deadline)
            throw new RunFailedError(
              `run ${id} is still ${job.state} after ${timeoutMs} ms`,
              job.state,
            );
          const pause = listener.up ? pollIntervalMs : delay;
          await wait.until(job ? Math.min(pause, Math.max(0, deadline - Date.now())) : pause);
        } finally {
          wait.stop();
        }
      }
    },
  });
  return {
    handle,
    async submit(graph, input, options) {
      if (typeof graph !== "string" || graph === "")
        throw new InvalidInputError("submit needs the name of a graph registered on the workers");
      validateThreadId(options?.threadId);
      if (
        options.onBusy !== undefined &&
        options.onBusy !== "enqueue" &&
        options.onBusy !== "reject"
      )
        throw new InvalidInputError('a submitted run\'s onBusy must be "enqueue" or "reject"');
      if (options.id !== undefined && !UUID.test(options.id))
        throw new InvalidInputError("a run's id must be a UUID");
      if (options.priority !== undefined && !Number.isInteger(options.priority))
        throw new InvalidInputError("priority must be an integer");
      if (
        options.maxRetries !== undefined &&
        !(Number.isInteger(options.maxRetries) && options.maxRetries >= 0)
      )
        throw new InvalidInputError("maxRetries must be a non-negative integer");
      if (
        options.runAt !== undefined &&
        !(options.runAt instanceof Date && !Number.isNaN(+options.runAt))
      )
        throw new InvalidInputError("runAt must be a valid Date");
      const key = threadOrderKey(options.threadId, options.tenantId);
      if (options.onBusy === "reject") {
        const jobs = await queueCall("read a thread's runs", () =>
          boss.findJobs(RUN_QUEUE, { key, limit: 100_000 }),
        );
        if (
          jobs.some((j) => j.state === "active" || j.state === "retry" || j.state === "created")
        ) {
          throw new ThreadBusyError(
            `thread "${options.threadId}" already has a run queued or running`,
            {
              threadId: options.threadId,
            },
          );
        }
      }
      const data: RunJobData = {
        graph,
        threadId: options.threadId,
        ...(options.tenantId !== undefined ? { tenantId: options.tenantId } : {}),
        ...encodeInput(input),
        ...traceField(),
      };
      const id = await queueCall("submit a run", () =>
        boss.send(RUN_QUEUE, data as object, {
          singletonKey: key,
          // The default tenant has a group of its own, which no tenant id can name.
          group: { id: options.tenantId ?? "\u001fdefault" },
          ...(options.priority !== undefined ? { priority: options.priority } : {}),
          ...(options.runAt !== undefined ? { startAfter: options.runAt } : {}),
          ...(options.id !== undefined ? { id: options.id } : {}),
          ...(options.maxRetries !== undefined ? { retryLimit: options.maxRetries } : {}),
        }),
      );
      if (id) return handle(id);
      if (options.id !== undefined) return handle((await getJob(options.id)).id);
      throw new InvalidInputError("the queue refused the run");
    },
    async list(filter = {}) {
      const jobs = await queueCall("list runs", () =>
        boss.findJobs<RunJobData>(RUN_QUEUE, {
          ...(filter.threadId !== undefined
            ? { key: threadOrderKey(filter.threadId, filter.tenantId) }
            : {}),
          limit: filter.limit ?? 1000,
        }),
      );
      const listed = jobs.filter((j) => filter.state === undefined || j.state === filter.state);
      const failed = listed.filter((j) => j.state === "failed").map((j) => j.id);
      const dead = new Set<string>();
      if (failed.length > 0) {
        const { rows } = (await queueCall("list dead runs", () =>
          boss
            .getDb()
            .executeSql(
              `SELECT source_id FROM ${jobTable(schema)} WHERE name = $1 AND source_id = ANY($2::uuid[])`,
              [DEAD_QUEUE, failed],
            ),
        )) as { rows: { source_id: string }[] };
        for (const row of rows) dead.add(row.source_id);
      }
      return listed.map((j) => ({
        id: j.id,
        graph: j.data.graph,
        threadId: j.data.threadId,
        tenantId: j.data.tenantId,
        state: j.state,
        retries: j.retryCount,
        createdOn: j.createdOn,
        ...(j.state === "failed" ? { error: describe(j.output) } : {}),
        deadLetter: dead.has(j.id),
      }));
    },
    async close() {
      await listener.close();
      await boss.stop({ graceful: false });
    },
  };
}

/**
 * While the listening connection is down, `result()` reads the job again after this long,
 * doubling up to {@link LAST_POLL_MS}. It listens before it reads, so a run that ends meanwhile
 * wakes it at once.
 */
const FIRST_POLL_MS = 250;
const LAST_POLL_MS = 1_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function traceField(): { trace?: string } {
  const trace = traceparentOf();
  return trace ? { trace } : {};
}

function describe(output: unknown): string {
  if (output && typeof output === "object" && "message" in output) return String(output.message);
  return JSON.stringify(output ?? null);
}

/**
 * One connection that LISTENs for finished jobs (`done`); reconnects when it drops. `up` says
 * whether it listens now; `changed` is called when it goes down or comes back up, since
 * notifications sent meanwhile were lost.
 */
async function listen(
  database: string,
  on: { done: (id: string) => void; changed: () => void },
): Promise<{ readonly up: boolean; close(): Promise<void> }> {
  const pg = (await importOptionalPeer("pg", "createRunClient", () => import("pg"))).default;
  let closed = false;
  let up = false;
  let client: InstanceType<typeof pg.Client> | undefined;
  const retry = () => {
    if (!closed) setTimeout(() => void connect(), 1_000).unref();
  };
  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: database, keepAlive: true });
    c.on("error", () => undefined);
    c.on("notification", (n) => {
      if (n.channel === DONE_CHANNEL && n.payload) on.done(n.payload);
    });
    let ended = false;
    c.on("end", () => {
      ended = true;
      if (client === c) {
        client = undefined;
        up = false;
        on.changed();
      }
      retry();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${DONE_CHANNEL}`);
    } catch {
      // "end" follows a failed connection attempt and retries; a failed LISTEN closes it.
      if (!ended) await c.end().catch(() => undefined);
      return;
    }
    if (closed || ended) return;
    client = c;
    up = true;
    on.changed();
  };
  await connect(); // polling still works without it
  return {
    get up() {
      return up;
    },
    async close() {
      closed = true;
      up = false;
      await client?.end().catch(() => undefined);
    },
  };
}
