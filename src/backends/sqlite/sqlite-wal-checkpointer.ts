/**
 * WAL checkpoints on a thread of their own. In WAL mode SQLite copies committed pages back into
 * the database file every 1,000 pages or so, and by default it does so inside the commit that
 * crosses the mark: on a busy thread, one commit in a few hundred stalls for the copy and its
 * fsyncs, and those copies were a third to a half of a commit's average cost (`npm run bench`).
 * Here a worker thread with a connection of its own runs `PRAGMA wal_checkpoint(PASSIVE)` soon
 * after commits happen, so the copying runs beside the writer and the writer's own
 * checkpoints mostly find nothing left to copy.
 *
 * At `synchronous = NORMAL` (no fsync per commit) this took a 10-node LangGraph run's commits on
 * SQLite from 877 to 510 µs and its SQL from 1,831 to 1,446 µs; at FULL, where each commit
 * fsyncs, the worker's fsyncs slowed the writer's (3,673 to 4,128 µs), so there it is off by
 * default (see `checkpointInBackground`).
 *
 * Nothing about durability changes: a commit is as durable as its `synchronous` setting makes
 * it whoever checkpoints, the worker's connection syncs at the same setting, and a passive
 * checkpoint never blocks a reader or a writer. The writer keeps SQLite's own automatic
 * checkpoint as it was, so if the worker cannot start, or falls behind, the file is
 * checkpointed exactly as before. One worker serves every client of a file in this process.
 */
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import type { SqliteSynchronous } from "./sqlite-client.js";

/** How often the worker looks for new commits, in milliseconds. */
const INTERVAL_MS = 50;

/**
 * The worker: every interval, when the commit count moved since the last look, a passive
 * checkpoint (an error, say a file removed under it, waits for the next commit). Plain
 * CommonJS, run from this text, so it needs no file of its own in the package.
 */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma("synchronous = " + workerData.synchronous);
const commits = new Int32Array(workerData.commits);
let seen = 0;
const timer = setInterval(() => {
  const now = Atomics.load(commits, 0);
  if (now === seen) return;
  seen = now;
  try { db.pragma("wal_checkpoint(PASSIVE)"); } catch {}
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

interface Shared {
  readonly worker: Worker;
  readonly commits: Int32Array;
  /** Settles when the worker has ended (closed, or failed to start). */
  readonly ended: Promise<void>;
  users: number;
}

/** Workers by resolved file path, shared by the clients of one file. */
const running = new Map<string, Shared>();

/** A client's handle on the worker of its file. */
export class SqliteWalCheckpointer {
  readonly #path: string;
  readonly #shared: Shared;
  #closed = false;

  private constructor(path: string, shared: Shared) {
    this.#path = path;
    this.#shared = shared;
  }

  /**
   * The worker for the database file at `path` (started, or shared when another client of the
   * file has one), or undefined when a worker cannot be made here (no resolvable driver).
   */
  static start(path: string, synchronous: SqliteSynchronous): SqliteWalCheckpointer | undefined {
    const key = resolve(path);
    let shared = running.get(key);
    if (!shared) {
      const made = spawn(key, synchronous);
      if (!made) return undefined;
      shared = made;
      running.set(key, shared);
      const current = shared;
      void shared.ended.then(() => {
        if (running.get(key) === current) running.delete(key);
      });
    }
    shared.users++;
    return new SqliteWalCheckpointer(key, shared);
  }

  /** Tells the worker a commit happened (a counter in shared memory: no message, no wakeup). */
  noteCommit(): void {
    Atomics.add(this.#shared.commits, 0, 1);
  }

  /** Lets go of the worker; the last client of the file stops it and waits until it ended. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const shared = this.#shared;
    if (--shared.users > 0) return;
    if (running.get(this.#path) === shared) running.delete(this.#path);
    // Held by the process while it ends: a close awaited as a program's last step must finish.
    shared.worker.ref();
    shared.worker.postMessage("close");
    await shared.ended;
  }
}

function spawn(path: string, synchronous: SqliteSynchronous): Shared | undefined {
  let driver: string;
  try {
    driver = createRequire(import.meta.url).resolve("better-sqlite3");
  } catch {
    return undefined;
  }
  const memory = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      driver,
      path,
      synchronous: synchronous.toUpperCase(),
      commits: memory,
      intervalMs: INTERVAL_MS,
    },
  });
  // Never what keeps a process alive; a worker that fails leaves SQLite's own checkpoints.
  worker.unref();
  const ended = new Promise<void>((settle) => {
    worker.once("exit", () => settle());
    worker.on("error", () => undefined);
  });
  return { worker, commits: new Int32Array(memory), ended, users: 0 };
}
