/**
 * The effect ledger of the PostgreSQL backend, in `rewind_effects`: an intent and an outcome are
 * each one round trip to a function (migration 5) that passes the thread's tombstone and fence
 * checks under a share lock on its row, then writes or reads the entry back; the ledger is one
 * query. Racing intents of one key meet on the primary key, so exactly one records.
 */
import type {
  EffectIntent,
  EffectOutcome,
  StoredEffect,
} from "../../checkpoint/checkpoint-backend.js";
import { effectFromRow } from "../../checkpoint/effect-row.js";
import { LeaseLostError, ThreadDeletedError } from "../../errors.js";

type Query = (text: string, values: unknown[]) => Promise<{ rows: any[] }>;

/** What the functions return: the gate's verdict, whether they wrote, and the entry's columns. */
const RESULT = "r.gate, r.recorded, (r.entry).*";

/** Records an intent (see `CheckpointBackend.beginEffect`). */
export async function beginEffectPostgres(
  query: Query,
  s: string,
  intent: EffectIntent,
): Promise<{ effect: StoredEffect; recorded: boolean }> {
  const e = intent.effect;
  const { rows } = await query(
    `SELECT ${RESULT} FROM ${s}.rewind_begin_effect($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) r`,
    [
      e.threadId,
      e.key,
      e.name,
      e.args,
      e.ns,
      e.checkpointId,
      e.taskId,
      e.node,
      e.attempt,
      e.token,
      e.startedAt,
      intent.retake === true,
      intent.fence?.token ?? null,
    ],
  );
  const row = passed(rows[0], e.threadId);
  return { effect: effectFromRow(e.threadId, row), recorded: row.recorded };
}

/** Records an outcome (see `CheckpointBackend.finishEffect`); `undefined` for an unknown key. */
export async function finishEffectPostgres(
  query: Query,
  s: string,
  outcome: EffectOutcome,
): Promise<{ effect: StoredEffect; recorded: boolean } | undefined> {
  const { rows } = await query(
    `SELECT ${RESULT} FROM ${s}.rewind_finish_effect($1, $2, $3, $4, $5, $6, $7, $8) r`,
    [
      outcome.threadId,
      outcome.key,
      outcome.attempt,
      outcome.status,
      outcome.outcome,
      outcome.token,
      outcome.finishedAt,
      outcome.fence?.token ?? null,
    ],
  );
  const row = passed(rows[0], outcome.threadId);
  if (row.key === null) return undefined;
  return { effect: effectFromRow(outcome.threadId, row), recorded: row.recorded };
}

/** The thread's ledger (only `keys` when given), oldest intent first. */
export async function listEffectsPostgres(
  query: Query,
  s: string,
  threadId: string,
  keys: readonly string[] | undefined,
): Promise<StoredEffect[]> {
  const { rows } = await query(
    `SELECT * FROM ${s}.rewind_effects
     WHERE thread_id = $1 AND ($2::text[] IS NULL OR key = ANY ($2::text[]))
     ORDER BY started_at, key`,
    [threadId, keys ?? null],
  );
  return rows.map((row) => effectFromRow(threadId, row));
}

/** The row, once the gate let the call through; its refusal as the Rewind error otherwise. */
function passed(row: any, threadId: string): any {
  if (row.gate === "deleted") {
    throw new ThreadDeletedError(`thread "${threadId}" was deleted; late writes are refused`, {
      threadId,
    });
  }
  if (row.gate === "lease") {
    throw new LeaseLostError(`the lease on thread "${threadId}" was lost`, { threadId });
  }
  return row;
}
