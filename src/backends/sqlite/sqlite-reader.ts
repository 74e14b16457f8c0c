/**
 * The read side of the SQLite backend: one checkpoint with its blob chains and writes, and
 * listings streamed in pages with keyset pagination (never a query over the whole history).
 */

import { compareWrites, MAX_CHAIN } from "../../checkpoint/blob-chain.js";
import type {
  CheckpointQuery,
  LoadedCheckpoint,
  StoredBlob,
  StoredCheckpoint,
} from "../../checkpoint/checkpoint-backend.js";
import { CorruptionError, isRewindError } from "../../errors.js";
import { compareCodePoints } from "../../store/namespace-path.js";
import type { ChangeStamp, SqliteClient } from "./sqlite-client.js";
import { metadataFilterSql } from "./sqlite-filter.js";
import { copyChain, type HeldChains, type SqliteHeadCache } from "./sqlite-head-cache.js";
import { decodeInline, type InlineValue } from "./sqlite-inline.js";
import {
  type BlobRow,
  type CheckpointRow,
  CONCAT_APPEND,
  idText,
  inlineOrSpilled,
  KIND_CODES,
  packId,
  rawId,
  seedOf,
  toStoredBlob,
  toStoredCheckpoint,
  toValue,
  type WriteRow,
} from "./sqlite-rows.js";
import type { SqliteStatementLike } from "./sqlite-types.js";

/** Rows fetched per page of a listing. */
export const LIST_PAGE_SIZE = 100;
/**
 * A delta that can join a merged run: one the codec declared concatenable (a JSON array, see
 * `StoredBlob.concat`), kept inline. A run also keeps to one base tag (`mtag`, its newest
 * link's): the tag without the checksum seal in front (`~` + 8 hex digits + `~`, see
 * checksum.ts), so sealed deltas, whose tags all differ, still merge.
 */
const MERGEABLE = `(b.kind = ${CONCAT_APPEND} AND b.value_ref IS NULL)`;
const APPENDS = `(${KIND_CODES.append}, ${CONCAT_APPEND})`;
const BASE_TAG = `(CASE WHEN substr(b.tag, 1, 1) = '~' AND substr(b.tag, 10, 1) = '~' THEN substr(b.tag, 11) ELSE b.tag END)`;

const COLUMNS = `c.tid, c.ns, c.id, ${idText("c.parent_id")} AS parent_id, c.created_at, c.versions, c.metadata, c.body, c.vals`;
/** A headers-only listing leaves the inline values (up to a page of bytes per row) unread. */
const HEADER_COLUMNS = COLUMNS.replace("c.vals", "NULL AS vals");
const SPILLED = "LEFT JOIN rewind_values AS v ON v.id = value_ref";

const TID = "SELECT tid FROM rewind_threads WHERE thread_id = ? AND deleted = 0";
// A single read finds the live thread and its row in one statement (nothing for a deleted one).
const LATEST = `SELECT ${COLUMNS} FROM rewind_checkpoints AS c WHERE c.tid = (${TID}) AND c.ns = ? ORDER BY c.id DESC LIMIT 1`;
const BY_ID = `SELECT ${COLUMNS} FROM rewind_checkpoints AS c WHERE c.tid = (${TID}) AND c.ns = ? AND c.id = ?`;
/** Most namespaces of one thread whose listings are merged (see `list`); more are sorted by SQLite. */
const MERGED_NAMESPACES = 8;
const FIRST_NS = "SELECT ns FROM rewind_checkpoints WHERE tid = ? ORDER BY ns LIMIT 1";
const NEXT_NS = "SELECT ns FROM rewind_checkpoints WHERE tid = ? AND ns > ? ORDER BY ns LIMIT 1";
const VALS_OF = "SELECT vals FROM rewind_checkpoints WHERE tid = ? AND ns = ? AND id = ?";

// Seeds with the version each channel names, then follows `prev_version` while the link is an
// append: one statement per checkpoint, one primary-key lookup per link. CROSS JOIN pins the
// seeds as the outer loop; otherwise the planner may scan every blob of the thread. The walk
// carries keys only; values are read once, at the end.
//
// A long conversation's chain is hundreds of one-message deltas; handing each to JavaScript as
// a row of its own (with a Buffer per value) costs far more than walking it. So the newest run
// of inline deltas the codec marked concatenable (`merged`: nearly all of them) comes back as
// one append: their arrays joined, the head's version and depth, and its pieces (each link's
// tag, length, depth, prev_version and position). The links before the run (a spilled or other
// delta, and the base) come back one by one. The reader never looks inside a value: the
// codec's flag is the whole contract.
//
// The run's two aggregates take its links in whatever order SQLite feeds them (the same for
// both): ordering them in SQL (`ORDER BY pos` inside each aggregate, and a lookup of the oldest
// link's prev_version) cost more than the rest of the statement, so `orderRun` (sqlite-rows.ts)
// puts the pieces and their bytes oldest first in JavaScript, and versions travel as raw hex.
//
// `@stops` names, per channel, a version whose chain the reader already holds (see
// sqlite-head-cache.ts): the walk ends at the link appended to it, and the reader puts the chain
// it holds in front.
const SEED = (json: string) =>
  `CASE substr(${json}.value, 1, 2) WHEN 'h:' THEN unhex(substr(${json}.value, 3)) ELSE substr(${json}.value, 3) END`;
const CHAINS = `
WITH RECURSIVE chain (channel, version, kind, prev_version, pos, merged, mtag, stop) AS (
  SELECT b.channel, b.version, b.kind, b.prev_version, 0, ${MERGEABLE}, ${BASE_TAG},
    (SELECT ${SEED("s")} FROM json_each(@stops) AS s WHERE s.key = j.key)
  FROM json_each(@seeds) AS j
  CROSS JOIN rewind_blobs AS b ON b.tid = @tid AND b.ns = @ns AND b.channel = j.key
    AND b.version = ${SEED("j")}
  UNION ALL
  SELECT b.channel, b.version, b.kind, b.prev_version, c.pos + 1,
    c.merged AND ${MERGEABLE} AND ${BASE_TAG} = c.mtag, c.mtag, c.stop
  FROM chain AS c
  JOIN rewind_blobs AS b
    ON b.tid = @tid AND b.ns = @ns AND b.channel = c.channel AND b.version = c.prev_version
  WHERE c.kind IN ${APPENDS} AND c.pos < ${MAX_CHAIN} AND c.prev_version IS NOT c.stop
),
links AS MATERIALIZED (SELECT * FROM chain),
runs AS MATERIALIZED (
  SELECT l.channel, max(CASE WHEN l.pos = 0 THEN l.version END) AS version, NULL AS prev_version,
    max(CASE WHEN l.pos = 0 THEN b.depth END) AS depth, max(l.mtag) AS tag,
    CAST('[' || coalesce(group_concat(nullif(substr(b.value, 2, length(b.value) - 2), X''), ','), '') || ']' AS BLOB) AS value,
    max(l.pos) AS pos,
    json_group_array(json_array(b.tag, length(b.value), b.depth, ${rawId("l.prev_version")}, l.pos)) AS pieces
  FROM links AS l
  CROSS JOIN rewind_blobs AS b
    ON b.tid = @tid AND b.ns = @ns AND b.channel = l.channel AND b.version = l.version
  WHERE l.merged
  GROUP BY l.channel
)
SELECT l.channel, ${idText("l.version")} AS version, l.kind, ${idText("l.prev_version")} AS prev_version,
  b.depth, b.tag, b.value, v.bytes AS spilled, v.codec, l.pos, NULL AS pieces
FROM links AS l
CROSS JOIN rewind_blobs AS b
  ON b.tid = @tid AND b.ns = @ns AND b.channel = l.channel AND b.version = l.version
LEFT JOIN rewind_values AS v ON v.id = b.value_ref
WHERE NOT l.merged
UNION ALL
SELECT channel, ${idText("version")}, ${CONCAT_APPEND}, ${idText("prev_version")}, depth,
  tag, value, NULL, NULL, pos, pieces
FROM runs`;

/** Links a read follows one by one from a held chain before the recursive statement walks on. */
const SHORT_WALK = 16;
/** One link of a chain by its key; {@link SqliteReader.#shortWalk} makes it a row of {@link CHAINS}. */
const LINK = `SELECT b.kind, ${idText("b.prev_version")} AS prev_version, b.depth, b.tag, b.value,
  v.bytes AS spilled, v.codec
FROM rewind_blobs AS b ${SPILLED.replace("value_ref", "b.value_ref")}
WHERE b.tid = ? AND b.ns = ? AND b.channel = ? AND b.version = ?`;
type LinkRow = Omit<BlobRow, "channel" | "version" | "pos" | "pieces">;

const WRITES = `SELECT task_id, task_path, idx, channel, tag, value, v.bytes AS spilled, v.codec
FROM rewind_writes ${SPILLED} WHERE tid = ? AND ns = ? AND checkpoint_id = ?`;

/** Reads checkpoints through cached prepared statements. */
export class SqliteReader {
  readonly #stmt: (sql: string) => SqliteStatementLike;
  readonly #inCallerTransaction: () => boolean;
  readonly #cache: SqliteHeadCache;

  /** `cache`: the chains of checkpoints read one by one, reused while their row is unchanged. */
  constructor(client: SqliteClient, cache: SqliteHeadCache) {
    this.#stmt = (sql) => client.stmt(sql);
    this.#inCallerTransaction = () => client.inCallerTransaction;
    this.#cache = cache;
  }

  /** The live thread's integer id, or undefined when it has no row (or is deleted). */
  tid(threadId: string): number | undefined {
    return (this.#stmt(TID).get(threadId) as { tid: number } | undefined)?.tid;
  }

  /**
   * One checkpoint (the head without `checkpointId`). `stamp`: taken just before the snapshot
   * this read runs in (so no newer than what it reads), when the cache wants one; a head read
   * kept in the cache is then answered again while it holds (see
   * {@link SqliteHeadCache.unchanged}).
   */
  get(
    threadId: string,
    ns: string,
    checkpointId?: string,
    stamp?: ChangeStamp,
  ): LoadedCheckpoint | undefined {
    const row = (
      checkpointId === undefined
        ? this.#stmt(LATEST).get(threadId, ns)
        : this.#stmt(BY_ID).get(threadId, ns, checkpointId)
    ) as CheckpointRow | undefined;
    // The head is what is read again and again; a read by id uses what it left, never replaces
    // it. Inside a caller's transaction, which may yet be rolled back, nothing read is kept.
    const keep = checkpointId === undefined && !this.#inCallerTransaction();
    const cache = keep ? "fill" : "use";
    const loaded = row && this.#load(row, threadId, true, cache);
    if (loaded && keep) this.#cache.remember(threadId, row, stamp, loaded.writes);
    return loaded;
  }

  *list(query: CheckpointQuery): Generator<LoadedCheckpoint> {
    let tid: number | undefined;
    if (query.threadId !== undefined) {
      tid = this.tid(query.threadId);
      if (tid === undefined) return;
    }
    const withValues = query.includeValues !== false;
    const columns = withValues ? COLUMNS : HEADER_COLUMNS;
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    // One thread in every namespace. Ordered by id across namespaces, a page cannot use the
    // primary key (tid, ns, id): SQLite sorts all of the thread's rows for every page, so a
    // 2,000-checkpoint history cost 20 sorts of 2,000 rows. With a few namespaces (a thread and
    // its subgraphs' few), each is a range scan of its own, merged here in the same order (id,
    // then namespace, descending); with many (a subgraph task each), the one sorted query.
    const namespaces =
      tid !== undefined && query.ns === undefined ? this.#namespaces(tid) : undefined;
    if (namespaces === undefined || namespaces.length > MERGED_NAMESPACES) {
      for (const row of this.#rows(listShape(query, tid, columns), limit)) {
        yield this.#load(row, query.threadId ?? row.thread_id!, withValues);
      }
      return;
    }
    const streams = namespaces
      .reverse()
      .map((ns) => this.#rows(listShape({ ...query, ns }, tid, columns), limit));
    const heads = streams.map((stream) => stream.next());
    for (let remaining = limit; remaining > 0; remaining--) {
      let pick = -1;
      heads.forEach((head, i) => {
        // Namespaces run from the greatest, so on an equal id the first found comes first.
        if (head.done) return;
        if (
          pick < 0 ||
          compareCodePoints(head.value.id, (heads[pick]!.value as CheckpointRow).id) > 0
        )
          pick = i;
      });
      if (pick < 0) return;
      const row = heads[pick]!.value as CheckpointRow;
      heads[pick] = streams[pick]!.next();
      yield this.#load(row, query.threadId!, withValues);
    }
  }

  /**
   * The namespaces `tid` has checkpoints in, ascending, one primary-key seek each; past
   * {@link MERGED_NAMESPACES} the search stops (one more is returned, saying "too many").
   */
  #namespaces(tid: number): string[] {
    const out: string[] = [];
    let row = this.#stmt(FIRST_NS).get(tid) as { ns: string } | undefined;
    while (row && out.length <= MERGED_NAMESPACES) {
      out.push(row.ns);
      row = this.#stmt(NEXT_NS).get(tid, row.ns) as { ns: string } | undefined;
    }
    return out;
  }

  /** The rows of one listing, at most `limit`, fetched a page at a time (keyset pagination). */
  *#rows(shape: ListShape, limit: number): Generator<CheckpointRow> {
    let remaining = limit;
    let cursor: unknown[] | undefined;
    while (remaining > 0) {
      const pageSize = Math.min(LIST_PAGE_SIZE, remaining);
      const sql = cursor ? shape.nextSql : shape.firstSql;
      const rows = this.#stmt(sql).all(
        ...shape.params,
        ...(cursor ?? []),
        pageSize,
      ) as CheckpointRow[];
      for (const row of rows) {
        remaining--;
        yield row;
      }
      if (rows.length < pageSize) return;
      cursor = shape.cursor(rows.at(-1)!);
    }
  }

  #load(
    row: CheckpointRow,
    threadId: string,
    withValues: boolean,
    cache?: "use" | "fill",
  ): LoadedCheckpoint {
    if (!withValues) {
      return { checkpoint: toStoredCheckpoint(row, threadId), blobs: {}, writes: [] };
    }
    const where = { threadId, checkpointId: row.id };
    try {
      let read = cache ? this.#cache.get(threadId, row) : undefined;
      if (read === undefined) {
        const checkpoint = toStoredCheckpoint(row, threadId);
        const held = cache ? this.#cache.held(threadId, row.ns) : {};
        const chains = this.#chains(row, checkpoint, held);
        // What the cache keeps it checks: the core need not check it again.
        const kept =
          cache === "fill" ? this.#cache.set(threadId, row, checkpoint, chains) : undefined;
        read = kept ?? { checkpoint, chains };
      }
      // Pending writes are read every time: a task's writes land on an unchanged row.
      return { checkpoint: read.checkpoint, blobs: read.chains, writes: this.#writes(row) };
    } catch (cause) {
      if (isRewindError(cause)) throw cause;
      throw new CorruptionError(
        `checkpoint ${row.id} of thread "${threadId}" could not be read: ${(cause as Error).message}`,
        { ...where, cause },
      );
    }
  }

  /**
   * Every channel's chain, oldest first. Values the checkpoint's own row holds come from it;
   * the rest are followed through `rewind_blobs`, and a chain that leads to a version kept
   * inline by an older checkpoint (its start, or the base of an append chain) ends in that
   * checkpoint's row.
   */
  #chains(
    row: CheckpointRow,
    checkpoint: StoredCheckpoint,
    held: HeldChains,
  ): Record<string, StoredBlob[]> {
    const own = decodeInline(row.vals);
    const out: Record<string, StoredBlob[]> = {};
    /** Channels whose links are read here (by lookups, the statement, or both). */
    const followed: string[] = [];
    const seeds: Record<string, string> = {};
    const stops: Record<string, string> = {};
    const byChannel: Record<string, BlobRow[]> = {};
    for (const [channel, version] of Object.entries(checkpoint.channelVersions)) {
      const kept = version === checkpoint.id ? own.get(channel) : undefined;
      const known = held[channel];
      const knownVersion = known?.at(-1)?.version;
      if (kept) {
        out[channel] = [inlineBlob(channel, checkpoint.id, kept)];
        continue;
      }
      if (knownVersion === String(version)) {
        out[channel] = copyChain(known!);
        continue;
      }
      followed.push(channel);
      let seed: string | undefined = String(version);
      if (knownVersion !== undefined) {
        // From a held chain, a read after a run follows the few links it appended one by one.
        const walk = this.#shortWalk(row.tid, checkpoint.ns, channel, seed, knownVersion);
        byChannel[channel] = walk.links;
        seed = walk.rest;
        if (seed !== undefined) stops[channel] = seedOf(knownVersion);
      }
      if (seed !== undefined) seeds[channel] = seedOf(seed);
    }
    if (followed.length === 0) return out;
    if (Object.keys(seeds).length > 0) {
      const rows = this.#stmt(CHAINS).all({
        tid: row.tid,
        ns: checkpoint.ns,
        seeds: JSON.stringify(seeds),
        stops: JSON.stringify(stops),
      }) as BlobRow[];
      for (const blobRow of rows) {
        const chain = byChannel[blobRow.channel];
        if (chain) chain.push(blobRow);
        else byChannel[blobRow.channel] = [blobRow];
      }
    }
    const inlineOf = new Map<string, Map<string, InlineValue>>([[checkpoint.id, own]]);
    const heldBy = (version: string) => {
      let held = inlineOf.get(version);
      if (held === undefined) {
        const found = this.#stmt(VALS_OF).get(row.tid, checkpoint.ns, version) as
          | { vals: Uint8Array | null }
          | undefined;
        held = decodeInline(found?.vals ?? null);
        inlineOf.set(version, held);
      }
      return held;
    };
    for (const channel of followed) {
      const chain = (byChannel[channel] ?? [])
        .sort((a, b) => b.pos - a.pos)
        .map((blobRow) => toStoredBlob(blobRow, checkpoint));
      const oldest = chain[0];
      // The walk ended at a version whose chain is held: that chain goes in front.
      const known = held[channel];
      if (oldest?.kind === "append" && known && oldest.prevVersion === known.at(-1)?.version) {
        out[channel] = [...copyChain(known), ...chain];
        continue;
      }
      const missing =
        oldest === undefined
          ? String(checkpoint.channelVersions[channel])
          : oldest.kind === "append"
            ? oldest.prevVersion
            : null;
      const kept = missing === null ? undefined : heldBy(missing).get(channel);
      if (kept) chain.unshift(inlineBlob(channel, missing!, kept));
      out[channel] = chain;
    }
    return out;
  }

  /**
   * The links of `channel` from `version` back to `stop` (a version whose chain is held), one
   * primary-key lookup each, as rows of the recursive statement: what a read after a run needs
   * (the few links the run appended), at a fraction of that statement's fixed cost (JSON seeds,
   * materialised steps, the run's aggregates). Past {@link SHORT_WALK} links, `rest` is the
   * version the statement walks on from.
   */
  #shortWalk(
    tid: number,
    ns: string,
    channel: string,
    version: string,
    stop: string,
  ): { links: BlobRow[]; rest?: string } {
    const links: BlobRow[] = [];
    let at = version;
    for (let pos = 0; pos < SHORT_WALK; pos++) {
      const link = this.#stmt(LINK).get(tid, ns, channel, packId(at)) as LinkRow | undefined;
      // No row: the chain goes on in an older checkpoint's own row, which the caller reads.
      if (link === undefined) return { links };
      // Positions below the statement's (which start at 0 where a walk hands over): the
      // links a lookup follows are newer than any the statement walks on to.
      links.push({ ...link, channel, version: at, pos: pos - SHORT_WALK, pieces: null });
      if (link.kind !== KIND_CODES.append && link.kind !== CONCAT_APPEND) return { links };
      if (link.prev_version === null || link.prev_version === stop) return { links };
      at = link.prev_version;
    }
    return { links, rest: at };
  }

  #writes(row: CheckpointRow) {
    const rows = this.#stmt(WRITES).all(row.tid, row.ns, packId(row.id)) as WriteRow[];
    return rows
      .map((w) => ({
        taskId: w.task_id,
        taskPath: w.task_path,
        idx: w.idx,
        channel: w.channel,
        value: toValue(w.tag, inlineOrSpilled(w)),
      }))
      .sort(compareWrites);
  }
}

interface ListShape {
  readonly firstSql: string;
  readonly nextSql: string;
  readonly params: unknown[];
  cursor(last: CheckpointRow): unknown[];
}

/**
 * The statements of one listing. Ordered by id, then by what is not fixed (namespace, thread),
 * so the keyset cursor is a total order; with thread and namespace fixed the primary key
 * serves the order and each page is a range scan.
 */
function listShape(query: CheckpointQuery, tid: number | undefined, columns: string): ListShape {
  const where: string[] = [];
  const params: unknown[] = [];
  if (tid !== undefined) {
    where.push("c.tid = ?");
    params.push(tid);
  }
  if (query.ns !== undefined) {
    where.push("c.ns = ?");
    params.push(query.ns);
  }
  if (query.checkpointId !== undefined) {
    where.push("c.id = ?");
    params.push(query.checkpointId);
  }
  if (query.before !== undefined) {
    where.push("c.id < ?");
    params.push(query.before);
  }
  if (query.filter && Object.keys(query.filter).length > 0) {
    const filter = metadataFilterSql(query.filter, "c.metadata");
    where.push(filter.sql);
    params.push(...filter.params);
  }
  const keys = ["c.id"];
  if (tid === undefined) keys.push("c.tid");
  if (query.ns === undefined) keys.push("c.ns");
  const from =
    tid === undefined
      ? `SELECT ${columns}, t.thread_id FROM rewind_checkpoints AS c JOIN rewind_threads AS t ON t.tid = c.tid`
      : `SELECT ${columns} FROM rewind_checkpoints AS c`;
  const order = `ORDER BY ${keys.map((k) => `${k} DESC`).join(", ")} LIMIT ?`;
  const after =
    keys.length === 1 ? "c.id < ?" : `(${keys.join(", ")}) < (${keys.map(() => "?").join(", ")})`;
  const clause = (extra: string[]) => (extra.length ? ` WHERE ${extra.join(" AND ")}` : "");
  return {
    firstSql: `${from}${clause(where)} ${order}`,
    nextSql: `${from}${clause([...where, after])} ${order}`,
    params,
    cursor: (last) =>
      keys.map((k) => (k === "c.id" ? last.id : k === "c.tid" ? last.tid : last.ns)),
  };
}

/** A value kept inline, as the seam's {@link StoredBlob}. */
function inlineBlob(channel: string, version: string, kept: InlineValue): StoredBlob {
  return {
    channel,
    version,
    kind: kept.kind,
    prevVersion: null,
    depth: 0,
    value: kept.tag === null ? null : toValue(kept.tag, kept.bytes),
  };
}
