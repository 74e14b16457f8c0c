/**
 * The effect ledger's part of the storage seam (see `CheckpointBackend.beginEffect`): one entry
 * per side effect a thread's tasks ran, keyed by the core's effect key.
 */
import type { LeaseFence } from "./checkpoint-backend.js";

/** Where an effect stands: intent recorded (`started`), or its outcome (`done`, `failed`). */
export type EffectStatus = "started" | "done" | "failed";

/**
 * One entry of a thread's effect ledger: a side effect (a booking, an email, a payment) a task
 * ran or is running. Keyed per thread by `key`, which the core derives from the effect's name,
 * its arguments and the branch's re-execution epoch (never from its position or a checkpoint
 * id), so a retry, a resume and a fork of the same thread all find it. Text fields are
 * tagged-JSON made by the core; the backend stores them untouched.
 */
export interface StoredEffect {
  readonly threadId: string;
  /** The effect's identity within the thread (lowercase hex, made by the core). */
  readonly key: string;
  readonly name: string;
  /** Tagged-JSON text of the arguments. */
  readonly args: string;
  readonly status: EffectStatus;
  /**
   * Tagged-JSON text of the result (`done`) or of the error `{ name, message }` (`failed`);
   * `null` while `started`.
   */
  readonly outcome: string | null;
  /** Where the intent was recorded: the namespace and checkpoint its task's step started from. */
  readonly ns: string;
  readonly checkpointId: string;
  readonly taskId: string;
  readonly node: string;
  /** 1 for the first intent; grows each time an intent with no outcome is taken again. */
  readonly attempt: number;
  /** The lease token of the run that recorded the latest intent or the outcome (0: unleased). */
  readonly token: number;
  /** ISO-8601 times of the latest intent and of the outcome (`null` while `started`). */
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

/** What {@link CheckpointBackend.beginEffect} records. */
export interface EffectIntent {
  /** The new entry, with `status: "started"`, `outcome: null`, `finishedAt: null`. */
  readonly effect: StoredEffect;
  /**
   * When the thread's entry of this key is still `started` (an earlier intent whose outcome
   * never came: its process died mid-call) take it again: `attempt` grows by one and the
   * entry's `token`, `startedAt`, `ns`, `checkpointId`, `taskId` and `node` become this
   * intent's. Without it, such an entry is returned unchanged.
   */
  readonly retake?: boolean | undefined;
  readonly fence?: LeaseFence | undefined;
}

/** What {@link CheckpointBackend.finishEffect} records. */
export interface EffectOutcome {
  readonly threadId: string;
  readonly key: string;
  /** The intent this outcome answers: the entry must still be `started` at this attempt. */
  readonly attempt: number;
  readonly status: "done" | "failed";
  readonly outcome: string;
  readonly token: number;
  readonly finishedAt: string;
  readonly fence?: LeaseFence | undefined;
}
