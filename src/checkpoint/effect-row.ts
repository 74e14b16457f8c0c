/**
 * The row shape SQL checkpoint backends read their effect ledger back in (the same columns on
 * every engine), and the one mapping from it to a {@link StoredEffect}: counters as numbers
 * whatever numeric type the driver hands over.
 */
import type { EffectStatus, StoredEffect } from "./checkpoint-backend.js";

type SqlNumber = string | number | bigint;

/** A ledger row as SQL backends select it (`key, name, args, status, ... finished_at`). */
export interface EffectRow {
  readonly key: string;
  readonly name: string;
  readonly args: string;
  readonly status: EffectStatus;
  readonly outcome: string | null;
  readonly ns: string;
  readonly checkpoint_id: string;
  readonly task_id: string;
  readonly node: string;
  readonly attempt: SqlNumber;
  readonly token: SqlNumber;
  readonly started_at: string;
  readonly finished_at: string | null;
}

/** The entry of thread `threadId` a row holds. */
export function effectFromRow(threadId: string, row: EffectRow): StoredEffect {
  return {
    threadId,
    key: row.key,
    name: row.name,
    args: row.args,
    status: row.status,
    outcome: row.outcome,
    ns: row.ns,
    checkpointId: row.checkpoint_id,
    taskId: row.task_id,
    node: row.node,
    attempt: Number(row.attempt),
    token: Number(row.token),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
