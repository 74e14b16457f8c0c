/**
 * Group commit for the SQLite backend: checkpoint and pending-write puts issued in the same
 * turn of the event loop share one `BEGIN IMMEDIATE` transaction, each in a savepoint of its
 * own. On SQLite a commit, not the statements, is most of a write's cost, and LangGraph issues a
 * task's writes and the next checkpoint without waiting for the first (its default "async"
 * durability), as do concurrent runs on one connection; grouped, they pay for one commit.
 *
 * Nothing a caller can observe changes: a put's promise settles only after the commit that holds
 * it (so a resolved put is as durable as before), each put succeeds or fails on its own (a
 * refused one rolls back its savepoint only), puts run in the order they were issued, and every
 * other call on the backend first runs the puts still waiting, so a read sees them. A put made
 * inside a caller's own transaction on a shared handle joins that transaction at once, as it
 * always did, and waiting puts never run inside one (its rollback would undo a resolved put).
 */
import type { SqliteClient } from "./sqlite-client.js";

interface Waiting {
  readonly work: () => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Raised inside a group when SQLite rolled the whole transaction back under a put. */
const LOST = Symbol("group transaction lost");

/** Writes queued until the end of the current turn, then committed together. */
export class SqliteGroupCommit {
  readonly #client: SqliteClient;
  #queue: Waiting[] = [];
  /**
   * The end of the turn. A caller's transaction still open then (on a shared handle, across
   * turns) is joined by each put alone, as a put made during it always was: never left waiting.
   */
  readonly #flush = () => {
    if (!this.#client.db.inTransaction) return this.flush();
    const group = this.#queue;
    this.#queue = [];
    for (const write of group) alone(write);
  };

  constructor(client: SqliteClient) {
    this.#client = client;
  }

  /** Runs `work` (one write, a transaction of its own when alone) with the writes of this turn. */
  run(work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#client.db.inTransaction) {
        alone({ work, resolve, reject });
        return;
      }
      // Microtasks (the rest of this turn's promise chains) run first, so what they issue joins.
      if (this.#queue.push({ work, resolve, reject }) === 1) setImmediate(this.#flush);
    });
  }

  /** Runs and commits the waiting writes now (before any other call on the backend). */
  flush(): void {
    const group = this.#queue;
    // Inside a caller's transaction they wait for the flush already scheduled.
    if (group.length === 0 || this.#client.db.inTransaction) return;
    this.#queue = [];
    if (group.length === 1) {
      alone(group[0]!);
      return;
    }
    const outcomes: unknown[] = [];
    let started = false;
    try {
      this.#client.transaction(true, () => {
        started = true;
        for (const write of group) outcomes.push(this.#attempt(write));
      });
    } catch (error) {
      // The group's own transaction failed (BEGIN: nothing ran, every write gets the error;
      // later, its commit or a rollback by SQLite: nothing is stored, each runs again alone).
      for (const write of group) {
        if (started) alone(write);
        else write.reject(error);
      }
      return;
    }
    group.forEach((write, i) => {
      if (outcomes[i] === OK) write.resolve();
      else write.reject(outcomes[i]);
    });
  }

  /** One write in its savepoint: `OK`, or the error that refused it (the others go on). */
  #attempt(write: Waiting): unknown {
    try {
      write.work();
      return OK;
    } catch (error) {
      if (!this.#client.db.inTransaction) throw LOST;
      return error;
    }
  }
}

const OK = Symbol("stored");

function alone(write: Waiting): void {
  try {
    write.work();
    write.resolve();
  } catch (error) {
    write.reject(error);
  }
}
