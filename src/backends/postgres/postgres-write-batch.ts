/**
 * Checkpoint writes that share a round trip. On PostgreSQL a write is one call of
 * `rewind_put_checkpoint`; most of its cost to the client is the round trip itself (the driver,
 * the socket, the system calls: about 0.5 ms of a process's CPU per checkpoint against 0.1 ms for
 * the run's own work, `bench/workers-profile.ts`). When many runs write at once, the writes that
 * arrive while every lane is busy wait and then go together: one statement calls the function
 * once per write, in one transaction (one commit for all of them).
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
import type { CheckpointPut } from "../../checkpoint/checkpoint-backend.js";
import { ConnectionError, TimeoutError } from "../../errors.js";
import { compareCodePoints } from "../../store/namespace-path.js";

/** How one write, and a group of them, reach the server: statuses in the order given. */
export interface PutSender {
  one(put: CheckpointPut): Promise<string>;
  many(puts: readonly CheckpointPut[]): Promise<readonly string[]>;
}

/** Writes in one statement at most, and their values' bytes at most (a larger write goes alone). */
const MAX_PUTS = 32;
const MAX_BYTES = 4 * 1024 * 1024;

interface Waiting {
  readonly put: CheckpointPut;
  readonly bytes: number;
  readonly resolve: (status: string) => void;
  readonly reject: (error: unknown) => void;
}

export class PostgresPutBatch {
  readonly #sender: PutSender;
  readonly #lanes: number;
  #busy = 0;
  #waiting: Waiting[] = [];
  readonly #calls = new CallsUnderway();

  /** `lanes`: statements in flight at once; writes arriving while all are busy wait to go together. */
  constructor(sender: PutSender, lanes: number) {
    this.#sender = sender;
    this.#lanes = Math.max(1, lanes);
  }

  /** The function's status for `put` (`ok`, `conflict:...`, `deleted`, `lease`). */
  put(put: CheckpointPut): Promise<string> {
    return this.#calls.track(
      new Promise((resolve, reject) => {
        this.#waiting.push({ put, bytes: valueBytes(put), resolve, reject });
        this.#pump();
      }),
    );
  }

  /** Resolves once every write handed over so far has settled (the backend closes after them). */
  settled(): Promise<void> {
    return this.#calls.settled();
  }

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
  #take(): Waiting[] {
    let bytes = 0;
    let count = 0;
    for (const next of this.#waiting) {
      if (count === MAX_PUTS || (count > 0 && bytes + next.bytes > MAX_BYTES)) break;
      bytes += next.bytes;
      count++;
    }
    return this.#waiting.splice(0, count);
  }

  async #send(group: Waiting[]): Promise<void> {
    if (group.length === 1) return settle(group[0]!, () => this.#sender.one(group[0]!.put));
    // By thread, in code-point order (a stable sort keeps one thread's writes in their order):
    // the statement locks the threads' rows one after another, always in the same order.
    const ordered = [...group].sort((a, b) =>
      compareCodePoints(a.put.checkpoint.threadId, b.put.checkpoint.threadId),
    );
    let statuses: readonly string[];
    try {
      statuses = await this.#sender.many(ordered.map((w) => w.put));
    } catch (error) {
      if (error instanceof ConnectionError || error instanceof TimeoutError) {
        for (const w of ordered) w.reject(error);
        return;
      }
      // Refused as a whole and rolled back: each write again, alone, in order.
      for (const w of ordered) await settle(w, () => this.#sender.one(w.put));
      return;
    }
    for (const [i, w] of ordered.entries()) w.resolve(statuses[i]!);
  }
}

async function settle(w: Waiting, send: () => Promise<string>): Promise<void> {
  try {
    w.resolve(await send());
  } catch (error) {
    w.reject(error);
  }
}

function valueBytes(put: CheckpointPut): number {
  let bytes = 0;
  for (const blob of put.blobs) bytes += blob.value?.bytes.byteLength ?? 0;
  return bytes;
}
