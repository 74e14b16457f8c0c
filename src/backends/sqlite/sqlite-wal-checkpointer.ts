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
 * checkpointed exactly as before.
 *
 * One worker serves every file of the process (a connection per file, shared by the file's
 * clients): a worker is an engine of its own, about 10 MB, and a process with a database per
 * tenant must not pay that per file. It ends when its last file is closed.
 */
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { Worker } from "node:worker_threads";
import type { SqliteSynchronous } from "./sqlite-client.js";

/** How often the worker looks for new commits, in milliseconds. */
const INTERVAL_MS = 50;

/**
 * The worker. `open` adds a file (its own connection at the writer's `synchronous`, and the
 * counter its writers bump); every interval, each file whose counter moved since the last look
 * gets a passive checkpoint (an error, say a file removed under it, waits for the next commit);
 * `close` closes a file's connection and answers, and with no file left the worker ends. Plain
 * CommonJS, run from this text, so it needs no file of its own in the package.
 */
const WORKER = `
const { parentPort } = require("node:worker_threads");
const files = new Map();
let timer;
function look() {
  for (const file of files.values()) {
    const now = Atomics.load(file.commits, 0);
    if (now === file.seen) continue;
    file.seen = now;
    try { file.db.pragma("wal_checkpoint(PASSIVE)"); } catch {}
  }
}
parentPort.on("message", (message) => {
  if (message.op === "open") {
    try {
      const Database = require(message.driver);
      const db = new Database(message.path, { fileMustExist: true });
      db.pragma("synchronous = " + message.synchronous);
      files.set(message.path, { db, commits: new Int32Array(message.commits), seen: 0 });
    } catch {}
    timer ??= setInterval(look, message.intervalMs);
    return;
  }
  const file = files.get(message.path);
  files.delete(message.path);
  try { file?.db.close(); } catch {}
  parentPort.postMessage({ closed: message.id });
  if (files.size === 0) {
    clearInterval(timer);
    parentPort.close();
  }
});
`;

/** The process's worker, while it serves files. */
interface Host {
  readonly worker: Worker;
  /** Settles when the worker has ended (its last file closed, or it failed). */
  readonly ended: Promise<void>;
  /** Answers to `close` messages by id. */
  readonly replies: Map<number, () => void>;
  files: number;
  /** Closes waiting for their answer: the worker is held (ref'd) while there are any. */
  closing: number;
  nextId: number;
}

/** A file served by the worker, shared by its clients in this process. */
interface File {
  readonly host: Host;
  readonly commits: Int32Array;
  users: number;
}

let host: Host | undefined;
const files = new Map<string, File>();
let driver: string | null | undefined;

/** A client's handle on the worker's care of its file. */
export class SqliteWalCheckpointer {
  readonly #path: string;
  readonly #file: File;
  #closed = false;

  private constructor(path: string, file: File) {
    this.#path = path;
    this.#file = file;
  }

  /**
   * Background checkpoints for the database file at `path` (joined when another client of the
   * file has them), or undefined when a worker cannot be made here (no resolvable driver).
   */
  static start(path: string, synchronous: SqliteSynchronous): SqliteWalCheckpointer | undefined {
    const key = resolve(path);
    let file = files.get(key);
    if (!file) {
      driver ??= resolveDriver();
      host ??= driver === null ? undefined : spawn();
      if (!host) return undefined;
      const memory = new SharedArrayBuffer(4);
      host.worker.postMessage({
        op: "open",
        path: key,
        driver,
        synchronous: synchronous.toUpperCase(),
        commits: memory,
        intervalMs: INTERVAL_MS,
      });
      host.files++;
      file = { host, commits: new Int32Array(memory), users: 0 };
      files.set(key, file);
    }
    file.users++;
    return new SqliteWalCheckpointer(key, file);
  }

  /** Tells the worker a commit happened (a counter in shared memory: no message, no wakeup). */
  noteCommit(): void {
    Atomics.add(this.#file.commits, 0, 1);
  }

  /**
   * Lets go of the file; its last client has the worker close its connection, and waits for
   * that (so the caller's connection can be the file's last).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const file = this.#file;
    if (--file.users > 0) return;
    files.delete(this.#path);
    const served = file.host;
    // A worker with no file left ends; the next file opened gets a new one.
    if (--served.files === 0 && host === served) host = undefined;
    const id = served.nextId++;
    const answered = new Promise<void>((settle) => served.replies.set(id, settle));
    // Held by the process while it waits: a close awaited as a program's last step must finish.
    if (served.closing++ === 0) served.worker.ref();
    served.worker.postMessage({ op: "close", path: this.#path, id });
    await Promise.race([answered, served.ended]);
    served.replies.delete(id);
    if (--served.closing === 0) served.worker.unref();
  }
}

function resolveDriver(): string | null {
  try {
    return createRequire(import.meta.url).resolve("better-sqlite3");
  } catch {
    return null;
  }
}

/** A new worker, or undefined where threads cannot be made (the writer checkpoints then). */
function spawn(): Host | undefined {
  let worker: Worker;
  try {
    worker = new Worker(WORKER, { eval: true });
  } catch {
    return undefined;
  }
  const replies = new Map<number, () => void>();
  worker.on("message", (message: { closed: number }) => replies.get(message.closed)?.());
  const ended = new Promise<void>((settle) => {
    worker.once("exit", () => settle());
    worker.on("error", () => undefined);
  });
  // Never what keeps a process alive (unref'd after the listeners: adding a message listener
  // holds the worker again); a worker that fails leaves SQLite's own checkpoints.
  worker.unref();
  const made: Host = { worker, ended, replies, files: 0, closing: 0, nextId: 0 };
  void ended.then(() => {
    if (host === made) host = undefined;
  });
  return made;
}
