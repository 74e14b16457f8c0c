/**
 * The statements that write checkpoints through `rewind_put_checkpoint` and tasks' pending writes
 * through `rewind_put_writes` (postgres-functions.ts): one call per statement, or many in one
 * statement (postgres-write-batch.ts), which calls the function once per write in the order
 * given and answers their statuses in that order.
 */
import type {
  CheckpointKey,
  CheckpointPut,
  LeaseFence,
  StoredWrite,
} from "../../checkpoint/checkpoint-backend.js";
import { jsonbSafe } from "./postgres-metadata.js";
import { kindCode, packValues } from "./postgres-values.js";

/** A write's part of the array parameter `$n` of a batch: its slice `[b0:b1]`. */
const slice = (n: number, type: string) => `($${n}::${type}[])[p.b0:p.b1]`;

/** One write: `SELECT schema.rewind_put_checkpoint(...) AS status`. */
export function putStatement(quoted: string): string {
  return `SELECT ${quoted}.rewind_put_checkpoint($1,$2,$3,$4,$5,$6::jsonb,$7::jsonb,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22) AS status`;
}

/**
 * Many writes: the checkpoints' own arguments as parallel arrays (one element per write), and
 * their values' arguments as arrays of every write's values one after another, each write taking
 * the slice `[b0:b1]` (empty when it has none); the values' bytes are one string for all.
 */
export function putBatchStatement(quoted: string): string {
  return `SELECT s.status FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
    $6::text[], $7::text[], $8::text[], $9::text[], $10::boolean[], $11::text[], $12::bigint[],
    $13::integer[], $14::integer[], $15::boolean[]) WITH ORDINALITY
    AS p(thread, ns, id, parent, created, versions, metadata, metadata_text, body, cas, expected,
      fence, b0, b1, release, n)
  CROSS JOIN LATERAL ${quoted}.rewind_put_checkpoint(p.thread, p.ns, p.id, p.parent, p.created,
    p.versions::jsonb, p.metadata::jsonb, p.metadata_text, p.body, p.cas, p.expected, p.fence,
    ${slice(16, "text")}, ${slice(17, "text")}, ${slice(18, "smallint")}, ${slice(19, "text")},
    ${slice(20, "integer")}, ${slice(21, "text")}, $22::bytea, ${slice(23, "integer")},
    ${slice(24, "integer")}, p.release) AS s(status)
  ORDER BY p.n`;
}

/** The arguments of {@link putStatement}. */
export function putValues(put: CheckpointPut): unknown[] {
  const values = packValues(put.blobs.map((x) => x.value));
  return [
    ...ownArguments(put),
    ...valueArguments([put]),
    values.bytes,
    values.starts,
    values.lengths,
    put.release === true,
  ];
}

/** The arguments of {@link putBatchStatement} for `puts`, in their order. */
export function putBatchValues(puts: readonly CheckpointPut[]): unknown[] {
  const own: unknown[][] = Array.from({ length: 15 }, () => []);
  let next = 1;
  for (const put of puts) {
    const row = [...ownArguments(put), next, next + put.blobs.length - 1, put.release === true];
    for (const [i, value] of row.entries()) own[i]!.push(value);
    next += put.blobs.length;
  }
  const values = packValues(puts.flatMap((put) => put.blobs.map((x) => x.value)));
  return [...own, ...valueArguments(puts), values.bytes, values.starts, values.lengths];
}

/** A write's checkpoint and checks: thread, ns, id, parent, time, versions, metadata, body, CAS, fence. */
function ownArguments(put: CheckpointPut): unknown[] {
  const c = put.checkpoint;
  const doc = jsonbSafe(c.metadata);
  return [
    c.threadId,
    c.ns,
    c.id,
    c.parentId,
    c.createdAt,
    JSON.stringify(c.channelVersions),
    doc,
    doc === c.metadata ? null : c.metadata,
    c.body,
    put.expectedHead !== undefined,
    put.expectedHead ?? null,
    put.fence?.token ?? null,
  ];
}

/** The writes' values, one after another: channel, version, kind, previous version, depth, tag. */
function valueArguments(puts: readonly CheckpointPut[]): unknown[][] {
  const blobs = puts.flatMap((put) => put.blobs);
  return [
    blobs.map((x) => x.channel),
    blobs.map((x) => x.version),
    blobs.map((x) => kindCode(x.kind)),
    blobs.map((x) => x.prevVersion),
    blobs.map((x) => x.depth),
    blobs.map((x) => x.value?.tag ?? null),
  ];
}

/** A task's pending writes as the backend hands them over. */
export interface WritesPut {
  readonly key: CheckpointKey;
  readonly writes: readonly StoredWrite[];
  readonly fence: LeaseFence | undefined;
}

/** One task's writes: `SELECT schema.rewind_put_writes(...) AS status`. */
export function writesStatement(quoted: string): string {
  return `SELECT ${quoted}.rewind_put_writes($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) AS status`;
}

/**
 * Many tasks' writes: their keys and fences as parallel arrays, their writes as arrays of every
 * task's writes one after another, each task taking the slice `[b0:b1]` (the way
 * {@link putBatchStatement} passes values); the values' bytes are one string for all.
 */
export function writesBatchStatement(quoted: string): string {
  return `SELECT s.status FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],
    $5::integer[], $6::integer[]) WITH ORDINALITY AS p(thread, ns, checkpoint, fence, b0, b1, n)
  CROSS JOIN LATERAL ${quoted}.rewind_put_writes(p.thread, p.ns, p.checkpoint, p.fence,
    ${slice(7, "text")}, ${slice(8, "text")}, ${slice(9, "integer")}, ${slice(10, "text")},
    ${slice(11, "text")}, $12::bytea, ${slice(13, "integer")}, ${slice(14, "integer")})
    AS s(status)
  ORDER BY p.n`;
}

/** The arguments of {@link writesStatement}. */
export function writesValues(put: WritesPut): unknown[] {
  const values = packValues(put.writes.map((w) => w.value));
  return [
    put.key.threadId,
    put.key.ns,
    put.key.checkpointId,
    put.fence?.token ?? null,
    ...writeArguments(put.writes),
    values.bytes,
    values.starts,
    values.lengths,
  ];
}

/** The arguments of {@link writesBatchStatement} for `puts`, in their order. */
export function writesBatchValues(puts: readonly WritesPut[]): unknown[] {
  const own: unknown[][] = Array.from({ length: 6 }, () => []);
  let next = 1;
  for (const put of puts) {
    const row = [
      put.key.threadId,
      put.key.ns,
      put.key.checkpointId,
      put.fence?.token ?? null,
      next,
      next + put.writes.length - 1,
    ];
    for (const [i, value] of row.entries()) own[i]!.push(value);
    next += put.writes.length;
  }
  const writes = puts.flatMap((put) => put.writes);
  const values = packValues(writes.map((w) => w.value));
  return [...own, ...writeArguments(writes), values.bytes, values.starts, values.lengths];
}

/** The writes' own columns: task, task path, index, channel, tag. */
function writeArguments(writes: readonly StoredWrite[]): unknown[][] {
  return [
    writes.map((w) => w.taskId),
    writes.map((w) => w.taskPath),
    writes.map((w) => w.idx),
    writes.map((w) => w.channel),
    writes.map((w) => w.value.tag),
  ];
}

/** The bytes of a put's values (a batch keeps its statements' bytes bounded). */
export function putBytes(put: CheckpointPut): number {
  let bytes = 0;
  for (const blob of put.blobs) bytes += blob.value?.bytes.byteLength ?? 0;
  return bytes;
}

/** The bytes of a task's write values. */
export function writesBytes(put: WritesPut): number {
  let bytes = 0;
  for (const w of put.writes) bytes += w.value.bytes.byteLength;
  return bytes;
}
