/**
 * The queue under Rewind's workers: pg-boss (an optional peer dependency) in a schema of its
 * own. One queue holds every run; its `key_strict_fifo` policy keeps one thread's jobs in
 * submission order (a thread's key is its storage key), and each job's group is its tenant, so
 * workers can cap a tenant's concurrent runs. A job says "continue thread T from its last
 * checkpoint": with a new input, a resume answer, or nothing (a recovery).
 */
import { threadKey } from "../checkpoint/thread-key.js";
import { InvalidInputError, RewindError, StorageError } from "../errors.js";
import { Command, isCommand } from "../graph/command.js";
import { importOptionalPeer } from "../optional-peer.js";

/** The one queue of runs. */
export const RUN_QUEUE = "rewind-runs";
/**
 * Where a run goes after its last allowed attempt failed: a copy of its job (pg-boss's
 * dead-letter queue, which no worker claims from) beside the run's own job, failed.
 */
export const DEAD_QUEUE = "rewind-runs-dead";
/** Retries of a run after a failed attempt (a recovery counts as one) before it is dead. */
export const DEFAULT_MAX_RETRIES = 20;
/** The notification channel a worker signals a finished job on (payload: the job id). */
export const DONE_CHANNEL = "rewind_run_done";
/**
 * Signals that a run's job ended (completed, failed or cancelled) on {@link DONE_CHANNEL}, in a
 * statement of its own (never inside a write transaction). Best effort: a wait that misses it
 * reads the job again later.
 */
export async function notifyDone(boss: Boss, jobId: string): Promise<void> {
  await boss
    .getDb()
    .executeSql("SELECT pg_notify($1, $2)", [DONE_CHANNEL, jobId])
    .catch(() => undefined);
}

/** Default schema of the queue's tables. */
export const DEFAULT_QUEUE_SCHEMA = "rewind_queue";

/** The queue's job table in `schema`, quoted for SQL (read directly by recovery and cancels). */
export function jobTable(schema: string): string {
  return `"${schema.replaceAll('"', '""')}".job`;
}

/** Where the queue lives. */
export interface QueueConnection {
  /** A PostgreSQL connection string. */
  readonly database: string;
  /** Schema of the queue's tables (pg-boss's own). Default `rewind_queue`. */
  readonly schema?: string;
}

/** What a job carries: JSON only. */
export interface RunJobData {
  readonly graph: string;
  readonly threadId: string;
  readonly tenantId?: string | undefined;
  /** A state update, or absent when `resume` is set or the job only continues the thread. */
  readonly input?: unknown;
  /** Set for `Command.resume(answer)`. */
  readonly resume?: { readonly answer: unknown };
  /** The submitter's trace context (W3C `traceparent`), when it was traced. */
  readonly trace?: string;
}

/** What a finished job stores as its output: the run's outcome, in JSON. */
export interface RunOutcome<S = any> {
  readonly status: "done" | "interrupted";
  readonly threadId: string;
  readonly checkpointId: string | undefined;
  readonly values: S;
  readonly interrupts: readonly { readonly id: string; readonly value: unknown }[];
  readonly next: readonly string[];
}

/** The job's input for `invoke`. */
export function jobInput(data: RunJobData): unknown {
  if (data.resume) return Command.resume(data.resume.answer);
  return data.input ?? null;
}

/** A submitted input as job data; refuses what JSON cannot carry. */
export function encodeInput(input: unknown): Pick<RunJobData, "input" | "resume"> {
  if (isCommand(input)) {
    if (!input.hasResume || input.update !== undefined || input.goto.length > 0)
      throw new InvalidInputError("a submitted Command may only carry a resume answer");
    return { resume: { answer: jsonOnly(input.resume, "the resume answer") } };
  }
  if (input === null || input === undefined) return {};
  if (typeof input !== "object" || Array.isArray(input))
    throw new InvalidInputError(
      "input must be an object of state channels, Command.resume(answer), or null to continue",
    );
  return { input: jsonOnly(input, "the input") };
}

function jsonOnly(value: unknown, what: string): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (cause) {
    throw new InvalidInputError(`${what} must be JSON to travel in a job`, { cause });
  }
  if (text === undefined) throw new InvalidInputError(`${what} must be JSON to travel in a job`);
  return JSON.parse(text);
}

/** The ordering key of a thread's jobs: its storage key. */
export function threadOrderKey(threadId: string, tenantId: string | undefined): string {
  return threadKey(threadId, tenantId);
}

type PgBossModule = typeof import("pg-boss");
export type Boss = InstanceType<PgBossModule["PgBoss"]>;

/** Opens (and migrates) the queue; `worker` instances also supervise (retries, expiry). */
export async function openQueue(
  connection: QueueConnection,
  neededBy: string,
  worker: boolean,
): Promise<Boss> {
  const { PgBoss } = await importOptionalPeer("pg-boss", neededBy, () => import("pg-boss"));
  return queueCall("open", () => start(PgBoss, connection, worker));
}

async function start(
  PgBoss: PgBossModule["PgBoss"],
  connection: QueueConnection,
  worker: boolean,
): Promise<Boss> {
  const boss = new PgBoss({
    connectionString: connection.database,
    schema: connection.schema ?? DEFAULT_QUEUE_SCHEMA,
    supervise: worker,
    schedule: false,
    useListenNotify: worker,
    max: worker ? 10 : 4,
  });
  boss.on("error", () => undefined);
  await boss.start();
  await ensureQueue(boss, DEAD_QUEUE, {});
  const existing = await ensureQueue(boss, RUN_QUEUE, {
    policy: "key_strict_fifo",
    // A retry is a resume from the last checkpoint: retry at once, many times.
    retryLimit: DEFAULT_MAX_RETRIES,
    retryDelay: 0,
    notify: true,
    deadLetter: DEAD_QUEUE,
  });
  // A queue made before there was a dead-letter queue gets one.
  if (existing && !existing.deadLetter)
    await boss.updateQueue(RUN_QUEUE, { deadLetter: DEAD_QUEUE } as never);
  return boss;
}

/** Creates the queue unless it exists; returns the one that existed. */
async function ensureQueue(boss: Boss, name: string, options: object) {
  const existing = await boss.getQueue(name);
  if (existing) return existing;
  await boss.createQueue(name, options as never).catch(async (error) => {
    // Another process created it first.
    if (!(await boss.getQueue(name))) throw error;
  });
  return undefined;
}

/** Runs a queue call; an error that is not Rewind's becomes a `StorageError` naming `what`. */
export async function queueCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    if (cause instanceof RewindError) throw cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new StorageError(`the run queue failed to ${what}: ${reason}`, { cause });
  }
}
