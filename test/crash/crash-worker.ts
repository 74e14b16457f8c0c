/**
 * A child process of the crash suite: drives the crash graph on an SQLite file to its end,
 * recording node starts/ends and durable task writes in a side file, and kills itself with
 * SIGKILL at the chosen point. Usage: crash-worker <db> <side-file> [<kill-plan-json>]
 */
import { appendFileSync } from "node:fs";
import Database from "better-sqlite3";
import type {
  CheckpointBackend,
  CheckpointKey,
  CheckpointPut,
  LeaseFence,
  StoredWrite,
} from "../../src/backend.js";
import { SqliteBackend } from "../../src/backends/sqlite/index.js";
import { Command, createCheckpointer } from "../../src/index.js";
import { crashGraph } from "./crash-graph.js";

/** Where to die: the n-th event of any kind, or a named point. */
export interface KillPlan {
  readonly atEvent?: number;
  readonly point?:
    | "before-task"
    | "between-parallel"
    | "inside-checkpoint-write"
    | "after-checkpoint-write";
}

const [dbPath, sideFile, planJson] = process.argv.slice(2);
const plan: KillPlan = planJson ? JSON.parse(planJson) : {};
let events = 0;
let checkpointsWritten = 0;
let checkpointRowsInserted = 0;
let tasksSaved = 0;

function die(): never {
  process.kill(process.pid, "SIGKILL");
  throw new Error("unreachable");
}
function event(): void {
  events++;
  if (plan.atEvent === events) die();
}
function record(line: string): void {
  appendFileSync(sideFile!, `${line}\n`);
  event();
  if (plan.point === "before-task" && line.startsWith("start fetchB")) die();
}

/** Wraps the real backend to observe (and die at) each durable write. */
class ObservedBackend implements CheckpointBackend {
  readonly name = "observed-sqlite";
  readonly #inner: CheckpointBackend;
  constructor(inner: CheckpointBackend) {
    this.#inner = inner;
  }
  setup() {
    return this.#inner.setup();
  }
  async putCheckpoint(put: CheckpointPut) {
    event();
    await this.#inner.putCheckpoint(put);
    checkpointsWritten++;
    event();
    // The 3rd checkpoint (after input and plan) closes the parallel step.
    if (
      plan.point === "after-checkpoint-write" &&
      put.checkpoint.parentId &&
      checkpointsWritten === 3
    )
      die();
  }
  async putWrites(key: CheckpointKey, writes: readonly StoredWrite[], fence?: LeaseFence) {
    event();
    await this.#inner.putWrites(key, writes, fence);
    for (const w of writes) {
      if (w.channel !== "__done__") continue;
      appendFileSync(sideFile!, `saved ${w.taskId}\n`);
      tasksSaved++;
    }
    event();
    // Saved so far: plan, then the first of the three parallel fetches; the others still run.
    if (plan.point === "between-parallel" && tasksSaved === 2) die();
  }
  getCheckpoint(threadId: string, ns: string, id?: string) {
    return this.#inner.getCheckpoint(threadId, ns, id);
  }
  listCheckpoints(query: Parameters<CheckpointBackend["listCheckpoints"]>[0]) {
    return this.#inner.listCheckpoints(query);
  }
  deleteThread(threadId: string) {
    return this.#inner.deleteThread(threadId);
  }
  acquireLease(request: Parameters<CheckpointBackend["acquireLease"]>[0]) {
    return this.#inner.acquireLease(request);
  }
  readLease(threadId: string) {
    return this.#inner.readLease(threadId);
  }
  renewLease(...args: Parameters<CheckpointBackend["renewLease"]>) {
    return this.#inner.renewLease(...args);
  }
  releaseLease(...args: Parameters<CheckpointBackend["releaseLease"]>) {
    return this.#inner.releaseLease(...args);
  }
  beginEffect(...args: Parameters<CheckpointBackend["beginEffect"]>) {
    return this.#inner.beginEffect(...args);
  }
  finishEffect(...args: Parameters<CheckpointBackend["finishEffect"]>) {
    return this.#inner.finishEffect(...args);
  }
  listEffects(...args: Parameters<CheckpointBackend["listEffects"]>) {
    return this.#inner.listEffects(...args);
  }
  close() {
    return this.#inner.close();
  }
  listThreads(query: Parameters<CheckpointBackend["listThreads"]>[0]) {
    return this.#inner.listThreads(query);
  }
  footprint(threadId: string) {
    return this.#inner.footprint(threadId);
  }
  pruneCheckpoints(batch: Parameters<CheckpointBackend["pruneCheckpoints"]>[0]) {
    return this.#inner.pruneCheckpoints(batch);
  }
  setPin(threadId: string, checkpointId: string, pinned: boolean) {
    return this.#inner.setPin(threadId, checkpointId, pinned);
  }
  reclaimSpace() {
    return this.#inner.reclaimSpace();
  }
}

const db = new Database(dbPath!);
db.pragma("journal_mode = WAL");
db.pragma("busy_timeout = 5000");
// A kill from inside SQLite's transaction: a trigger calls back into JS mid-insert.
db.function("rewind_crash_probe", () => {
  checkpointRowsInserted++;
  event();
  if (plan.point === "inside-checkpoint-write" && checkpointRowsInserted === 3) die();
  return 0;
});
const backend = new SqliteBackend(db);
const checkpointer = createCheckpointer(new ObservedBackend(backend));
await checkpointer.ready();
db.exec(
  "CREATE TEMP TRIGGER IF NOT EXISTS rewind_crash_probe AFTER INSERT ON main.rewind_checkpoints BEGIN SELECT rewind_crash_probe(); END",
);
const app = crashGraph(record).compile({ checkpointer });
const threadId = "crash";
// Default lease options: a worker started after a SIGKILL finds the dead worker's lease still
// live and takes it over at once because that process is gone (a THREAD_BUSY here fails the run).
const run = { threadId };
for (;;) {
  const state = await app.getState({ threadId });
  if (!state) await app.invoke({ log: "input" }, run);
  else if (state.interrupts.length > 0) await app.invoke(Command.resume(true), run);
  else if (state.next.length > 0) await app.invoke(null, run);
  else break;
}
process.stdout.write(`DONE ${events}\n`);
await checkpointer.close();
