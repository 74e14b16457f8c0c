/**
 * Writes that share a round trip. On PostgreSQL a checkpoint is one call of
 * `rewind_put_checkpoint` and a task's pending writes one call of `rewind_put_writes`; most of
 * such a call's cost to the client is the round trip itself (the driver, the socket, the system
 * calls: about 0.5 ms of a process's CPU per checkpoint against 0.1 ms for the run's own work,
 * `bench/workers-profile.ts`), and every call is a commit of its own. So writes of one kind wait
 * and go together, in one statement that calls the function once per write, in one transaction
 * (one commit for all of them), when
 * - they are issued in the same turn of the event loop (`sameTurn`): LangGraph runs a graph's
 *   tasks without yielding and hands each task's writes over as it ends, so a run's writes
 *   arrive together, and the calls would only queue on the thread's lock one after another; or
 * - every lane is busy (many runs writing at once): what arrives meanwhile goes next, together.
 *
 * Nothing a caller can observe changes: a write's promise settles when the statement holding it
 * has committed, each write gets its own outcome (the function answers a status per write), and
 * writes of one thread keep their order. The statement takes the threads' locks in thread order,
 * so two such statements never wait on each other in a cycle (another statement that locks several
 * threads could: the server then refuses one of the two, see below). When the server refuses the
 * statement as a whole (an error in one write rolls back all of them), each write runs again
 * alone and gets its own answer; when the answer is lost (the connection broke, a timeout), every
 * write of it gets that error, as each would alone.
 */

import { CallsUnderway } from "../../calls-underway.js";
import { ConnectionError, TimeoutError } from "../../errors.js";
import { compareCodePoints } from "../../store/namespace-path.js";

/** How one write, and a group of them, reach the server: statuses in the order given. */
export interface WriteSender<T> {
  one(write: T): Promise<string>;
  many(writes: readonly T[]): Promise<readonly string[]>;
}

/** What the batch needs to know of a write. */
export interface WriteShape<T> {
  /** The thread it locks (statements lock threads in this order). */
  thread(write: T): string;
  /** Its values' bytes (a statement carries at most {@link MAX_BYTES}; a larger write goes alone). */
  bytes(write: T): number;
}

/** Options of a {@link PostgresWriteBatch}. */
export interface WriteBatchOptions {
  /** Statements in flight at once; writes arriving while all are busy wait to go together. */
  readonly lanes: number;
  /** Also hold each write until the end of the turn it was issued in, so that turn's go together. */
  readonly sameTurn?: boolean;
}

/** Writes in one statement at most, and their values' bytes at most. */
const MAX_WRITES = 32;
const MAX_BYTES = 4 * 1024 * 1024;

interface Waiting<T> {
  readonly write: T;
  readonly bytes: number;
  readonly resolve: (status: string) => void;
  readonly reject: (error: unknown) => void;
}

export class PostgresWriteBatch<T> {
  readonly #sender: WriteSender<T>;
  readonly #shape: WriteShape<T>;
  readonly #lanes: number;
  readonly #sameTurn: boolean;
  #busy = 0;
  #waiting: Waiting<T>[] = [];
  /** Writes of the current turn, held until its end (with `sameTurn`). */
  #turn: Waiting<T>[] = [];
  readonly #calls = new CallsUnderway();

  constructor(sender: WriteSender<T>, shape: WriteShape<T>, options: WriteBatchOptions) {
    this.#sender = sender;
    this.#shape = shape;
    this.#lanes = Math.max(1, options.lanes);
    this.#sameTurn = options.sameTurn === true;
  }

  /** The function's status for `write` (`ok`, `conflict:...`, `deleted`, `lease`). */
  send(write: T): Promise<string> {
    return this.#calls.track(
      new Promise((resolve, reject) => {
        const waiting = { write, bytes: this.#shape.bytes(write), resolve, reject };
        if (!this.#sameTurn) {
          this.#waiting.push(waiting);
          this.#pump();
        } else if (this.#turn.push(waiting) === 1) {
          setImmediate(this.#endTurn);
        }
      }),
    );
  }

  /** Resolves once every write handed over so far has settled (the backend closes after them). */
  settled(): Promise<void> {
    return this.#calls.settled();
  }

  readonly #endTurn = () => {
    this.#waiting.push(...this.#turn);
    this.#turn = [];
    this.#pump();
  };

  #pump(): void {
    while (this.#busy < this.#lanes && this.#waiting.length > 0) {
      const group = this.#take();
      this.#busy++;
      this.#send(group).finally(() => {
        this.#busy--;
        this.#pump();
      });
    }
  }

  /** The longest run of waiting writes within the bounds, in arrival order. */
  #take(): Waiting<T>[] {
    let bytes = 0;
    let count = 0;
    for (const next of this.#waiting) {
      if (count === MAX_WRITES || (count > 0 && bytes + next.bytes > MAX_BYTES)) break;
      bytes += next.bytes;
      count++;
    }
    return this.#waiting.splice(0, count);
  }

  async #send(group: Waiting<T>[]): Promise<void> {
    if (group.length === 1) return settle(group[0]!, () => this.#sender.one(group[0]!.write));
    // By thread, in code-point order (a stable sort keeps one thread's writes in their order):
    // the statement locks the threads' rows one after another, always in the same order.
    const ordered = [...group].sort((a, b) =>
      compareCodePoints(this.#shape.thread(a.write), this.#shape.thread(b.write)),
    );
    let statuses: readonly string[];
    try {
      statuses = await this.#sender.many(ordered.map((w) => w.write));
    } catch (error) {
      if (error instanceof ConnectionError || error instanceof TimeoutError) {
        for (const w of ordered) w.reject(error);
        return;
      }
      // Refused as a whole and rolled back: each write again, alone, in order.
      for (const w of ordered) await settle(w, () => this.#sender.one(w.write));
      return;
    }
    for (const [i, w] of ordered.entries()) w.resolve(statuses[i]!);
  }
}

async function settle<T>(w: Waiting<T>, send: () => Promise<string>): Promise<void> {
  try {
    w.resolve(await send());
  } catch (error) {
    w.reject(error);
  }
}
