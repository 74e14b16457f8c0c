/**
 * The last value chains read for each thread's checkpoint, kept in memory so that reading an
 * unchanged checkpoint again skips its chain walk (the recursive statement over every delta of
 * a long conversation, most of a latest read's time).
 *
 * An entry is used only when the checkpoint's row just read (in the reader's snapshot) is the
 * row it was read with, column for column. That is enough, whoever wrote since and from
 * whichever process: a row names each channel's version, a stored (channel, version) is never
 * replaced by another value (the first write wins), and what rewrites change in place (a
 * rebased chain after a prune, values sealed again under a new key) still decodes to the same
 * value. Each read gets bytes of its own (nothing a caller does to a value reaches the cache),
 * still sealed and layered as stored, so the core decodes them on every read as on a first one
 * (a shredded value is refused the same way). Their checksums are checked once, when a read
 * keeps them (a chain with a damaged value is not kept), and what was checked is handed out
 * marked `verified`, so the core does not compute them again on every read; the row's
 * checkpoint is kept and checked the same way, and each read gets its own copy. What a put
 * stored is taken as checked only when this process sealed it (`sealedHere`: its checksum was
 * computed here from those very bytes); anything else is checked as it joins (a put may carry
 * bytes as an export held them, damage included).
 *
 * A committed put's values join its thread's entry ({@link SqliteHeadCache.learn}): only those
 * stored exactly as given (a write of a stored (channel, version) is ignored by the table, and
 * so here), by the same rule, so the read after this process's own run walks none of them; and
 * when they complete every chain of the row the put inserted, the entry stands for that row, as
 * the writer hands it over (column for column what a read returns), so that read is answered
 * from memory like any read of an unchanged head.
 *
 * A head read again (a state polled between runs) also leaves its pending writes beside the
 * entry, with the stamp taken just before the snapshot it read, so never newer than what it
 * read ({@link SqliteHeadCache.remember}): until a row of the file changes (the stamp says so,
 * whoever wrote, from whichever process), the same read is answered from memory whole
 * ({@link SqliteHeadCache.unchanged}) after that one statement, outside any transaction, and
 * costs its stamp, its copies and its decoding. A put whose row the entry stands for leaves
 * the stamp its transaction ends at, with no pending writes, so the read after this process's
 * own run (LangGraph's and the runtime's first read of the next one) is answered the same way.
 *
 * Bounded by the bytes it holds (least recently used first out); entries larger than a quarter
 * of the bound are not kept.
 */
import type {
  BlobPiece,
  LoadedCheckpoint,
  StoredBlob,
  StoredCheckpoint,
  StoredWrite,
} from "../../checkpoint/checkpoint-backend.js";
import {
  sealedHere,
  verifyBlob,
  verifyCheckpoint,
  withoutSeal,
} from "../../checkpoint/checksum.js";
import { extended } from "../../extended.js";
import type { ChangeStamp } from "./sqlite-client.js";
import { type CheckpointRow, joinArrayTexts } from "./sqlite-rows.js";

/** Default bound of a backend's cache, in bytes of stored values. */
export const HEAD_CACHE_BYTES = 32 * 1024 * 1024;

type Chains = Record<string, StoredBlob[]>;

/** Chains held for one (thread, ns), by channel: read-only, copied before they are handed out. */
export type HeldChains = Readonly<Record<string, readonly StoredBlob[]>>;

interface Entry {
  /** The row the chains were read with; null once a write taught them more (never the same). */
  readonly row: CheckpointRow | null;
  /**
   * That row as the seam's checkpoint, null with `row`: its checksum checked (`verified`) or
   * computed by this process, or, when a put wrote a row sealed elsewhere, checked by the first
   * read that finds it.
   */
  readonly checkpoint: StoredCheckpoint | null;
  readonly chains: Chains;
  readonly size: number;
  /** Appends learned one by one since the chains were last joined (see {@link JOIN_AFTER}). */
  readonly loose: number;
}

/** A row a put inserted, as a read returns it, and the checkpoint it holds. */
export interface WrittenRow {
  readonly row: CheckpointRow;
  readonly checkpoint: StoredCheckpoint;
}

/**
 * Appends learned from puts before a read joins the held chains' runs again: each read copies
 * and decodes a loose append as a blob of its own, while joining copies every run it joins.
 */
const JOIN_AFTER = 16;

/** What a read of an unchanged row gets from the cache: the row's checkpoint and its chains. */
export interface HeldRead {
  readonly checkpoint: StoredCheckpoint;
  readonly chains: Chains;
}

/** A head read's pending writes and the stamp the read began at (beside its entry). */
interface Seen {
  readonly stamp: ChangeStamp;
  readonly writes: readonly StoredWrite[];
  readonly size: number;
}

export class SqliteHeadCache {
  readonly #limit: number;
  readonly #entries = new Map<string, Entry>();
  /**
   * Kept only beside an entry, and dropped with it (every change to an entry drops it first);
   * null: the entry was read once since it changed, without a stamp.
   */
  readonly #seen = new Map<string, Seen | null>();
  #size = 0;

  /** `limit`: bytes of stored values held at most; 0 keeps nothing. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /**
   * The checkpoint and chains read with `row` of (threadId, ns), copied and marked `verified`;
   * undefined unless the row is the same.
   */
  get(threadId: string, row: CheckpointRow): HeldRead | undefined {
    const key = keyOf(threadId, row.ns);
    let entry = this.#entries.get(key);
    if (entry?.checkpoint == null || !sameRow(entry.row!, row)) return undefined;
    this.#drop(key);
    entry = readied(entry);
    if (entry === undefined) return undefined;
    this.#entries.set(key, entry);
    this.#size += entry.size;
    return { checkpoint: heldCopy(entry.checkpoint!, true), chains: copyChains(entry.chains) };
  }

  /** Whether anything is kept (a bound of 0 keeps nothing). */
  get keeps(): boolean {
    return this.#limit > 0;
  }

  /**
   * Whether a head read of (threadId, ns) takes the file's stamp: once its entry was read since
   * it last changed. The read after a write does not (a statement on the coldest read of all,
   * for a state seldom read twice before the next write); the read after it does, and from then
   * on polling is answered from memory.
   */
  wantsStamp(threadId: string, ns: string): boolean {
    return this.#seen.has(keyOf(threadId, ns));
  }

  /**
   * The last head read of (threadId, ns) once more, when `stamp` (the file's, taken just now) is
   * the one that read had: no row of the file changed since, so a new read would find the same
   * row, chains and pending writes. Copied as {@link get} copies; undefined otherwise.
   */
  unchanged(threadId: string, ns: string, stamp: ChangeStamp): LoadedCheckpoint | undefined {
    const key = keyOf(threadId, ns);
    const seen = this.#seen.get(key);
    if (!seen || seen.stamp.others !== stamp.others || seen.stamp.own !== stamp.own) {
      return undefined;
    }
    const entry = readied(this.#entries.get(key)!);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return {
      checkpoint: heldCopy(entry.checkpoint!, true),
      blobs: copyChains(entry.chains),
      writes: seen.writes.map(copyWrite),
    };
  }

  /**
   * Notes a head read of the entry of (threadId, row.ns): without a stamp, that it was read (see
   * {@link wantsStamp}); with one (taken just before the snapshot the read ran in), its pending
   * writes beside the entry, so that the next read at the same stamp is {@link unchanged}. Only
   * for an entry that stands for `row`, checked.
   */
  remember(
    threadId: string,
    row: CheckpointRow,
    stamp: ChangeStamp | undefined,
    writes: readonly StoredWrite[],
  ): void {
    const key = keyOf(threadId, row.ns);
    if (stamp === undefined) {
      if (this.#entries.has(key) && !this.#seen.has(key)) this.#seen.set(key, null);
      return;
    }
    const entry = this.#entries.get(key);
    if (entry?.row == null || !entry.checkpoint?.verified) return;
    if (entry.row !== row && !sameRow(entry.row, row)) return;
    this.#forget(key);
    let size = 0;
    for (const write of writes) size += 64 + write.value.bytes.byteLength;
    if (entry.size + size > this.#limit / 4) return;
    this.#seen.set(key, { stamp, writes: writes.map(copyWrite), size });
    this.#size += size;
    this.#trim();
  }

  /**
   * The chains held for (threadId, ns), whatever checkpoint they were read with: a channel's
   * chain to a version is the same from any checkpoint, so a read of another checkpoint reuses
   * it for that version and walks only the links appended since.
   */
  held(threadId: string, ns: string): HeldChains {
    return this.#entries.get(keyOf(threadId, ns))?.chains ?? {};
  }

  /**
   * Keeps `checkpoint` (as read from `row`) and the chains just read with it, in place of what
   * (threadId, ns) held. When it kept them, returns them marked `verified` for the read at hand
   * (the read's own objects, just checked: the cache keeps copies of its own), so the core does
   * not check them a second time.
   */
  set(
    threadId: string,
    row: CheckpointRow,
    checkpoint: StoredCheckpoint,
    chains: Chains,
  ): HeldRead | undefined {
    if (this.#limit === 0) return undefined;
    const key = keyOf(threadId, row.ns);
    this.#drop(key);
    const size = sizeOf(row, chains);
    if (size > this.#limit / 4) return undefined;
    // Anything damaged is not kept: the core refuses it, and the next read reads it again.
    if (!verifyCheckpoint(checkpoint)) return undefined;
    const scope = { threadId, checkpointId: row.id };
    for (const chain of Object.values(chains)) {
      if (!chain.every((blob) => blob.verified || verifyBlob(blob, scope))) return undefined;
    }
    this.#entries.set(key, {
      row,
      checkpoint: heldCopy(checkpoint, true),
      chains: compactChains(chains),
      size,
      loose: 0,
    });
    this.#size += size;
    this.#trim();
    const checked: Chains = {};
    for (const [channel, chain] of Object.entries(chains)) {
      checked[channel] = chain.map((blob) =>
        blob.verified || blob.value === null ? blob : withMark(blob),
      );
    }
    return { checkpoint: withMark(checkpoint), chains: checked };
  }

  /** Drops the least recently used entries until the bound holds. */
  #trim(): void {
    for (const [oldest] of this.#entries) {
      if (this.#size <= this.#limit) break;
      this.#drop(oldest);
    }
  }

  /**
   * What a committed put of (threadId, ns) stored, exactly as given: each value becomes the
   * held chain of its channel (a full or empty value alone, an append after the held chain it
   * extends), so the read after a run finds every chain held and walks none. An append onto a
   * version not held is left out (the next read walks to the chain held). Values this process
   * did not seal are checked as they join (a put may carry an export's bytes, damage included:
   * a damaged one drops the entry). `written`: the row the put inserted and its checkpoint;
   * when every channel's chain now ends at the version that row names, the entry stands for it,
   * so the read after this process's own run is answered from memory. Otherwise the entry no
   * longer stands for a row, and the next read reads its row and keeps it with these chains. A row
   * this process did not seal is checked by the first read that finds it: its checksum covers
   * the metadata, which costs a parse and a sort to check, more than a put stores on most steps.
   */
  learn(
    threadId: string,
    ns: string,
    stored: readonly StoredBlob[],
    written?: WrittenRow,
    stamp?: ChangeStamp,
  ): void {
    const key = keyOf(threadId, ns);
    const entry = this.#entries.get(key);
    if (entry === undefined || (stored.length === 0 && written === undefined)) return;
    // The entry's own arrays, changed in place: a put costs what it stored, not the thread's
    // length. Its size is settled before any byte is copied, so a put that outgrows the bound
    // drops the entry without copying what it wrote (a put is the write path).
    const chains = entry.chains;
    const joining = stored.filter(
      (blob) =>
        blob.kind !== "append" || chains[blob.channel]?.at(-1)?.version === blob.prevVersion,
    );
    let size = entry.size - rowSize(entry.row);
    for (const blob of joining) {
      const replaced = blob.kind === "append" ? undefined : chains[blob.channel];
      size += blobSize(blob) - (replaced ? chainSize(replaced) : 0);
    }
    this.#drop(key);
    const scope = { threadId, checkpointId: written?.checkpoint.id };
    const checked = (blob: StoredBlob) => sealedHere(blob) || verifyBlob(blob, scope);
    if (size > this.#limit / 4 || !joining.every(checked)) return;
    let loose = entry.loose;
    for (const blob of joining) {
      if (blob.kind === "append") {
        chains[blob.channel]!.push(copyBlob(blob));
        loose++;
      } else chains[blob.channel] = [copyBlob(blob)];
    }
    const stands =
      written !== undefined &&
      Object.entries(written.checkpoint.channelVersions).every(
        ([channel, version]) => chains[channel]?.at(-1)?.version === String(version),
      );
    const row = stands ? written.row : null;
    const checkpoint = stands ? heldCopy(written.checkpoint, sealedHere(written.checkpoint)) : null;
    size += rowSize(row);
    this.#entries.set(key, { row, checkpoint, chains, size, loose });
    this.#size += size;
    // A new checkpoint has no pending writes yet: until a row of the file changes, its head
    // read is this row, these chains and no writes.
    if (stands && stamp) this.#seen.set(key, { stamp, writes: [], size: 0 });
    this.#trim();
  }

  /**
   * Whether a put of (threadId, ns) may leave its head answered from memory ({@link learn} with
   * a stamp): only when an entry is held for the thread, which the put's values can complete.
   */
  holds(threadId: string, ns: string): boolean {
    return this.#entries.has(keyOf(threadId, ns));
  }

  /** Forgets everything (after maintenance that moves or rewrites rows in this process). */
  clear(): void {
    this.#entries.clear();
    this.#seen.clear();
    this.#size = 0;
  }

  #drop(key: string): void {
    this.#forget(key);
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#size -= entry.size;
  }

  /** Drops what a head read left beside the entry of `key`. */
  #forget(key: string): void {
    const seen = this.#seen.get(key);
    this.#seen.delete(key);
    if (seen) this.#size -= seen.size;
  }
}

function keyOf(threadId: string, ns: string): string {
  return `${threadId}\u0000${ns}`;
}

function sameRow(a: CheckpointRow, b: CheckpointRow): boolean {
  return (
    a.tid === b.tid &&
    a.id === b.id &&
    a.parent_id === b.parent_id &&
    a.created_at === b.created_at &&
    a.versions === b.versions &&
    a.metadata === b.metadata &&
    sameBytes(a.body, b.body) &&
    sameBytes(a.vals, b.vals)
  );
}

function sameBytes(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  return a === b;
}

function sizeOf(row: CheckpointRow, chains: Chains): number {
  let size = rowSize(row);
  for (const chain of Object.values(chains)) size += chainSize(chain);
  return size;
}

function rowSize(row: CheckpointRow | null): number {
  return row ? row.versions.length + row.metadata.length + String(row.body).length : 0;
}

function chainSize(chain: readonly StoredBlob[]): number {
  let size = 0;
  for (const blob of chain) size += blobSize(blob);
  return size;
}

function blobSize(blob: StoredBlob): number {
  return 64 + (blob.value?.bytes.byteLength ?? 0);
}

/**
 * The chains with bytes of their own, each run of consecutive `concat` appends of one base tag
 * joined into one append, as the reader's statement hands a run over (see `StoredBlob.concat`):
 * a chain learned link by link is held as few blobs, so each later read copies, verifies and
 * decodes one array instead of one per turn.
 */
function compactChains(chains: HeldChains): Chains {
  const out: Chains = {};
  for (const [channel, chain] of Object.entries(chains)) {
    const compact: StoredBlob[] = [];
    let run: StoredBlob[] = [];
    const flush = () => {
      if (run.length === 1) compact.push(copyBlob(run[0]!));
      else if (run.length > 1) compact.push(joinRun(run));
      run = [];
    };
    for (const blob of chain) {
      const base = joinable(blob);
      if (base === undefined || (run.length > 0 && joinable(run[0]!) !== base)) flush();
      if (base === undefined) compact.push(copyBlob(blob));
      else run.push(blob);
    }
    flush();
    out[channel] = compact;
  }
  return out;
}

/** The base tag of a blob that may join a run (a `concat` append, or a run already joined). */
function joinable(blob: StoredBlob): string | undefined {
  if (blob.kind !== "append" || blob.concat !== true || blob.value === null) return undefined;
  return blob.pieces !== undefined ? blob.value.tag : withoutSeal(blob.value.tag);
}

/** Consecutive joinable blobs of one base tag as one append (see {@link compactChains}). */
function joinRun(run: readonly StoredBlob[]): StoredBlob {
  const pieces: BlobPiece[] = [];
  const inners: Uint8Array[] = [];
  for (const blob of run) {
    const bytes = blob.value!.bytes;
    pieces.push(
      ...(blob.pieces ?? [
        {
          tag: blob.value!.tag,
          length: bytes.byteLength,
          depth: blob.depth,
          prevVersion: blob.prevVersion!,
        },
      ]),
    );
    inners.push(bytes.subarray(1, bytes.byteLength - 1));
  }
  const newest = run.at(-1)!;
  return {
    channel: newest.channel,
    version: newest.version,
    kind: "append",
    prevVersion: pieces[0]!.prevVersion,
    depth: newest.depth,
    value: { tag: joinable(newest)!, bytes: joinArrayTexts(inners) },
    concat: true,
    pieces,
    verified: true,
  };
}

/**
 * An entry that stands for a row, as a read hands it out: its row checked if a put wrote it
 * sealed elsewhere (the first read that finds it checks it, not the write path), and the
 * appends learned one by one joined once there are enough of them; undefined when the row is
 * damaged.
 */
function readied(entry: Entry): Entry | undefined {
  let ready = entry;
  if (!ready.checkpoint!.verified) {
    if (!verifyCheckpoint(ready.checkpoint!)) return undefined;
    // The held checkpoint is the entry's own already (see `learn`): only the mark changes.
    ready = { ...ready, checkpoint: withMark(ready.checkpoint!) };
  }
  if (ready.loose >= JOIN_AFTER) {
    ready = { ...ready, chains: compactChains(ready.chains), loose: 0 };
  }
  return ready;
}

/**
 * A checkpoint with channel versions of its own (the one held is never the caller's: a read's
 * is handed on to the application, a put's stays the caller's), marked `verified` or not.
 */
function heldCopy(checkpoint: StoredCheckpoint, verified: boolean): StoredCheckpoint {
  const channelVersions = { ...checkpoint.channelVersions };
  return extended(checkpoint, { channelVersions, verified: verified || undefined });
}

/** A copy of `stored` marked `verified` (see extended.ts for why not a spread). */
function withMark<T extends StoredBlob | StoredCheckpoint>(stored: T): T {
  return extended(stored, VERIFIED);
}

const VERIFIED = { verified: true } as const;

/** The chains with bytes of their own. */
function copyChains(chains: HeldChains): Chains {
  const out: Chains = {};
  for (const [channel, chain] of Object.entries(chains)) out[channel] = copyChain(chain);
  return out;
}

/** One held chain with bytes of its own (the blobs' other fields are never changed by readers). */
export function copyChain(chain: readonly StoredBlob[]): StoredBlob[] {
  return chain.map(copyBlob);
}

/** A pending write with bytes of its own (a plain Uint8Array, as the reader hands them over). */
function copyWrite(write: StoredWrite): StoredWrite {
  const { taskId, taskPath, idx, channel, value } = write;
  return {
    taskId,
    taskPath,
    idx,
    channel,
    value: { tag: value.tag, bytes: new Uint8Array(value.bytes) },
  };
}

/**
 * One blob with bytes of its own, marked `verified`: the cache copies only what it checked (a
 * chain a read keeps, a value a put stored) or holds.
 */
function copyBlob(blob: StoredBlob): StoredBlob {
  if (blob.value === null) return blob;
  const value = { tag: blob.value.tag, bytes: Buffer.from(blob.value.bytes) };
  return extended(blob, { value, verified: true as const });
}
