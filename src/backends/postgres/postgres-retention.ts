/**
 * Retention on PostgreSQL: threads listed with their sizes, a thread's footprint, pins, prune
 * batches (one call of `rewind_prune_checkpoints`, which checks and deletes under the thread
 * row's lock) and reclaiming space with plain `VACUUM`, measured with `pg_total_relation_size`.
 */
import type {
  PruneBatch,
  PruneBatchResult,
  SpaceReport,
  ThreadFootprint,
  ThreadQuery,
  ThreadSummary,
} from "../../checkpoint/checkpoint-backend.js";
import { unsafeReason } from "../../checkpoint/memory-retention.js";
import { ConflictError, NotFoundError, ThreadDeletedError } from "../../errors.js";
import { packValues } from "./postgres-values.js";

type Query = (text: string, values: unknown[], named?: boolean) => Promise<{ rows: any[] }>;

/** The tables a prune shrinks, whose sizes {@link PostgresRetention.reclaimSpace} reports. */
const TABLES = [
  "rewind_checkpoints",
  "rewind_blobs",
  "rewind_writes",
  "rewind_heads",
  "rewind_pins",
];

const ROW_BYTES =
  "pg_column_size(c.ns) + pg_column_size(c.id) + coalesce(pg_column_size(c.parent_id), 0) + pg_column_size(c.created_at) + pg_column_size(c.versions) + pg_column_size(c.metadata) + coalesce(pg_column_size(c.metadata_text), 0) + pg_column_size(c.body)";
const BLOB_BYTES =
  "pg_column_size(b.channel) + pg_column_size(b.version) + coalesce(pg_column_size(b.tag), 0) + coalesce(pg_column_size(b.value), 0)";
const WRITE_BYTES =
  "pg_column_size(w.task_id) + pg_column_size(w.task_path) + pg_column_size(w.tag) + pg_column_size(w.value)";

/** The retention methods of the PostgreSQL backend; `s` is the quoted schema. */
export class PostgresRetention {
  readonly #query: Query;
  readonly #s: string;

  constructor(query: Query, s: string) {
    this.#query = query;
    this.#s = s;
  }

  async listThreads(query: ThreadQuery): Promise<ThreadSummary[]> {
    const s = this.#s;
    const { rows } = await this.#query(
      `SELECT t.thread_id,
         (SELECT count(*) FROM ${s}.rewind_checkpoints c WHERE c.thread_id = t.thread_id) AS checkpoints,
         (SELECT c.created_at FROM ${s}.rewind_checkpoints c WHERE c.thread_id = t.thread_id
           ORDER BY c.id DESC LIMIT 1) AS updated_at,
         (SELECT coalesce(sum(${ROW_BYTES}), 0) FROM ${s}.rewind_checkpoints c WHERE c.thread_id = t.thread_id)
         + (SELECT coalesce(sum(${BLOB_BYTES}), 0) FROM ${s}.rewind_blobs b WHERE b.thread_id = t.thread_id)
         + (SELECT coalesce(sum(${WRITE_BYTES}), 0) FROM ${s}.rewind_writes w WHERE w.thread_id = t.thread_id) AS bytes
       FROM ${s}.rewind_threads t
       WHERE NOT t.deleted AND t.thread_id COLLATE "C" > $1 AND left(t.thread_id, length($2)) = $2
         AND EXISTS (SELECT 1 FROM ${s}.rewind_heads hd WHERE hd.thread_id = t.thread_id)
       ORDER BY t.thread_id COLLATE "C" LIMIT $3`,
      [query.after ?? "", query.prefix ?? "", query.limit],
    );
    return rows.map((r) => ({
      threadId: r.thread_id,
      checkpoints: Number(r.checkpoints),
      bytes: Number(r.bytes),
      updatedAt: r.updated_at,
    }));
  }

  async footprint(threadId: string): Promise<ThreadFootprint | undefined> {
    const s = this.#s;
    const { rows } = await this.#query(
      `SELECT 'c' AS k, c.ns, c.id, c.parent_id, c.created_at, c.versions::text AS versions,
         COALESCE(c.metadata_text, c.metadata::text) AS metadata, ${ROW_BYTES} AS bytes,
         NULL::text AS channel, 0::bigint AS n, NULL::text AS channels
       FROM ${s}.rewind_checkpoints c
       WHERE c.thread_id = $1 AND NOT EXISTS (SELECT 1 FROM ${s}.rewind_threads t
         WHERE t.thread_id = $1 AND t.deleted)
       UNION ALL
       SELECT 'b', b.ns, b.version, NULL, NULL, NULL, NULL, ${BLOB_BYTES}, b.channel, 0, NULL
       FROM ${s}.rewind_blobs b WHERE b.thread_id = $1
       UNION ALL
       SELECT 'w', w.ns, w.checkpoint_id, NULL, NULL, NULL, NULL, sum(${WRITE_BYTES}), NULL, count(*),
         json_agg(DISTINCT w.channel)::text
       FROM ${s}.rewind_writes w WHERE w.thread_id = $1 GROUP BY w.ns, w.checkpoint_id
       UNION ALL
       SELECT 'p', '', p.checkpoint_id, NULL, NULL, NULL, NULL, 0, NULL, 0, NULL
       FROM ${s}.rewind_pins p WHERE p.thread_id = $1`,
      [threadId],
    );
    const rowsOf = (k: string) => rows.filter((r) => r.k === k);
    const checkpointRows = rowsOf("c");
    if (checkpointRows.length === 0) return undefined;
    const writes = new Map(rowsOf("w").map((w) => [`${w.ns}\0${w.id}`, w]));
    const checkpoints = checkpointRows
      .sort((a, b) => (a.ns === b.ns ? (a.id < b.id ? -1 : 1) : a.ns < b.ns ? -1 : 1))
      .map((r) => {
        const w = writes.get(`${r.ns}\0${r.id}`);
        return {
          ns: r.ns as string,
          id: r.id as string,
          parentId: (r.parent_id as string | null) ?? null,
          createdAt: r.created_at as string,
          channelVersions: JSON.parse(r.versions),
          metadata: r.metadata as string,
          bytes: Number(r.bytes),
          writes: Number(w?.n ?? 0),
          writeBytes: Number(w?.bytes ?? 0),
          writeChannels: w ? (JSON.parse(w.channels) as string[]).sort() : [],
        };
      });
    const blobs = rowsOf("b").map((b) => ({
      ns: b.ns as string,
      channel: b.channel as string,
      version: b.id as string,
      bytes: Number(b.bytes),
    }));
    const pins = rowsOf("p")
      .map((p) => p.id as string)
      .sort();
    return { threadId, checkpoints, blobs, pins };
  }

  async prune(batch: PruneBatch): Promise<PruneBatchResult> {
    const r = batch.rebase;
    const values = packValues(r.map((b) => b.value));
    const { rows } = await this.#query(
      `SELECT ${this.#s}.rewind_prune_checkpoints($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) AS status`,
      [
        batch.threadId,
        batch.ns,
        batch.checkpointIds,
        batch.blobs.map((b) => b.channel),
        batch.blobs.map((b) => b.version),
        r.map((b) => b.channel),
        r.map((b) => b.version),
        r.map((b) => b.value!.tag),
        values.bytes,
        values.starts,
        values.lengths,
      ],
    );
    const status = rows[0].status as string;
    const { threadId } = batch;
    if (status === "deleted") {
      throw new ThreadDeletedError(`thread "${threadId}" was deleted; late writes are refused`, {
        threadId,
      });
    }
    if (status.startsWith("conflict:")) {
      const [, why, checkpointId] = status.split(":", 3) as [string, string, string];
      const reason = unsafeReason(why === "head", why === "pinned", why === "leaf" ? 0 : 2);
      throw new ConflictError(
        `checkpoint ${checkpointId} of thread "${threadId}" cannot be pruned: ${reason}`,
        { threadId, checkpointId },
      );
    }
    const [, checkpoints, blobs, writes] = status.split(":").map(Number) as number[];
    return { checkpoints: checkpoints!, blobs: blobs!, writes: writes! };
  }

  async setPin(threadId: string, checkpointId: string, pinned: boolean): Promise<void> {
    const s = this.#s;
    if (!pinned) {
      await this.#query(
        `DELETE FROM ${s}.rewind_pins WHERE thread_id = $1 AND checkpoint_id = $2`,
        [threadId, checkpointId],
      );
      return;
    }
    const { rows } = await this.#query(
      `INSERT INTO ${s}.rewind_pins (thread_id, checkpoint_id, pinned_at)
       SELECT $1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT
       WHERE EXISTS (SELECT 1 FROM ${s}.rewind_checkpoints c WHERE c.thread_id = $1 AND c.id = $2)
         AND NOT EXISTS (SELECT 1 FROM ${s}.rewind_threads t WHERE t.thread_id = $1 AND t.deleted)
       ON CONFLICT DO NOTHING RETURNING 1 AS pinned`,
      [threadId, checkpointId],
    );
    if (rows.length > 0) return;
    const { rows: held } = await this.#query(
      `SELECT 1 FROM ${s}.rewind_pins WHERE thread_id = $1 AND checkpoint_id = $2`,
      [threadId, checkpointId],
    );
    if (held.length === 0) {
      throw new NotFoundError(`thread "${threadId}" has no checkpoint ${checkpointId} to pin`, {
        threadId,
        checkpointId,
      });
    }
  }

  /**
   * Plain `VACUUM` of the checkpoint tables: deleted rows' space becomes reusable by new rows
   * (and empty pages at a table's end go back to the file system); the tables' size is
   * measured before and after. `VACUUM FULL` would shrink them further but locks them.
   */
  async reclaimSpace(): Promise<SpaceReport> {
    const s = this.#s;
    const size = async () => {
      const list = TABLES.map((t) => `pg_total_relation_size('${s}.${t}')`).join(" + ");
      const { rows } = await this.#query(`SELECT (${list})::bigint AS bytes`, [], false);
      return Number(rows[0].bytes);
    };
    const bytesBefore = await size();
    for (const table of TABLES) await this.#query(`VACUUM (ANALYZE) ${s}.${table}`, [], false);
    return { bytesBefore, bytesAfter: await size(), method: "VACUUM" };
  }
}
