/**
 * The effect ledger of the SQLite backend, in `rewind_effects`: each intent and each outcome is
 * one statement (and a read-back when it changed nothing) inside the writer's `BEGIN IMMEDIATE`
 * transaction, after the same tombstone and fence checks as every other write. An intent's
 * commit is fsynced even under `synchronous: "normal"`: the caller runs the effect right after.
 */
import type {
  EffectIntent,
  EffectOutcome,
  StoredEffect,
} from "../../checkpoint/checkpoint-backend.js";
import { type EffectRow, effectFromRow } from "../../checkpoint/effect-row.js";
import type { SqliteClient } from "./sqlite-client.js";
import type { SqliteStatementLike } from "./sqlite-types.js";
import type { SqliteWriter } from "./sqlite-writer.js";

const COLUMNS = `key, name, args, status, outcome, ns, checkpoint_id, task_id, node, attempt,
  token, started_at, finished_at`;

const SQL = {
  // Inserts the intent, or takes over a `started` entry when `retake` is set; RETURNING yields a
  // row only when this statement wrote one.
  begin: `INSERT INTO rewind_effects (tid, ${COLUMNS})
    VALUES (@tid, @key, @name, @args, 'started', NULL, @ns, @checkpointId, @taskId, @node,
      @attempt, @token, @startedAt, NULL)
    ON CONFLICT (tid, key) DO UPDATE SET attempt = rewind_effects.attempt + 1,
      token = excluded.token, started_at = excluded.started_at, ns = excluded.ns,
      checkpoint_id = excluded.checkpoint_id, task_id = excluded.task_id, node = excluded.node
    WHERE @retake AND rewind_effects.status = 'started'
    RETURNING ${COLUMNS}`,
  // The first outcome for the attempt still running wins; anything later changes nothing.
  finish: `UPDATE rewind_effects SET status = @status, outcome = @outcome, token = @token,
      finished_at = @finishedAt
    WHERE tid = @tid AND key = @key AND status = 'started' AND attempt = @attempt
    RETURNING ${COLUMNS}`,
  one: `SELECT ${COLUMNS} FROM rewind_effects WHERE tid = ? AND key = ?`,
  list: `SELECT ${COLUMNS} FROM rewind_effects
    WHERE tid = (SELECT tid FROM rewind_threads WHERE thread_id = @threadId)
      AND (@keys IS NULL OR key IN (SELECT value FROM json_each(@keys)))
    ORDER BY started_at, key`,
};

/** The ledger's three operations, on the writer's transactions and the client's statements. */
export class SqliteEffects {
  readonly #writer: SqliteWriter;
  readonly #client: SqliteClient;

  constructor(writer: SqliteWriter, client: SqliteClient) {
    this.#writer = writer;
    this.#client = client;
  }

  begin(intent: EffectIntent): { effect: StoredEffect; recorded: boolean } {
    const e = intent.effect;
    return this.#client.synced(() =>
      this.#writer.writeThread(e.threadId, intent.fence, (tid) => {
        const written = this.#stmt(SQL.begin).get({
          tid,
          key: e.key,
          name: e.name,
          args: e.args,
          ns: e.ns,
          checkpointId: e.checkpointId,
          taskId: e.taskId,
          node: e.node,
          attempt: e.attempt,
          token: e.token,
          startedAt: e.startedAt,
          retake: intent.retake === true ? 1 : 0,
        }) as EffectRow | undefined;
        if (written) return { effect: effectFromRow(e.threadId, written), recorded: true };
        return { effect: effectFromRow(e.threadId, this.#one(tid, e.key)!), recorded: false };
      }),
    );
  }

  finish(outcome: EffectOutcome): { effect: StoredEffect; recorded: boolean } | undefined {
    const { threadId } = outcome;
    return this.#writer.writeThread(threadId, outcome.fence, (tid) => {
      const written = this.#stmt(SQL.finish).get({
        tid,
        key: outcome.key,
        status: outcome.status,
        outcome: outcome.outcome,
        token: outcome.token,
        finishedAt: outcome.finishedAt,
        attempt: outcome.attempt,
      }) as EffectRow | undefined;
      if (written) return { effect: effectFromRow(threadId, written), recorded: true };
      const stored = this.#one(tid, outcome.key);
      return stored && { effect: effectFromRow(threadId, stored), recorded: false };
    });
  }

  /** The thread's entries (those in `keys` when given), oldest intent first. */
  list(threadId: string, keys: readonly string[] | undefined): StoredEffect[] {
    const rows = this.#stmt(SQL.list).all({
      threadId,
      keys: keys === undefined ? null : JSON.stringify(keys),
    }) as EffectRow[];
    return rows.map((row) => effectFromRow(threadId, row));
  }

  #one(tid: number, key: string): EffectRow | undefined {
    return this.#stmt(SQL.one).get(tid, key) as EffectRow | undefined;
  }

  #stmt(sql: string): SqliteStatementLike {
    return this.#client.stmt(sql);
  }
}
