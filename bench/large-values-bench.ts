/**
 * Large values, side by side with LangGraph's savers in one run (SQLite, and PostgreSQL when a
 * server answers):
 * - `saver.put` (Rewind's saver) and native `Checkpointer.put` of a state carrying a new 100 KB
 *   or 1 MB file each put, awaited serially: puts per second against LangGraph's `saver.put`;
 * - a thread of `BENCH_LARGE_TURNS` (500) turns whose state carries the same 2 MB file
 *   throughout, written again each turn (a node returning the whole state): puts per second,
 *   bytes stored and the latest-state read time;
 * - the threshold: native puts per second of one new value at 32-512 KiB stored in its row
 *   against stored by hash (the reference column is the row);
 * - store items on SQLite carrying the same 2 MB file: by reference against in their rows.
 * Files are random base64 text, so compression cannot hide their size.
 */
import { randomBytes } from "node:crypto";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import Database from "better-sqlite3";
import { newCheckpointId } from "../src/backend.js";
import { createSqliteCheckpointer, createSqliteStore } from "../src/backends/sqlite/index.js";
import type { Checkpointer } from "../src/index.js";
import type { RewindSaver } from "../src/langgraph/index.js";
import { type OpenSaver, type SaverKind, saverPairs } from "./langgraph-savers.js";
import { type Row, tempDb } from "./sqlite-bench.js";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
const TURNS = Number(process.env.BENCH_LARGE_TURNS ?? 500);
const PUTS = Number(process.env.BENCH_LARGE_PUTS ?? 40);

/** `bytes` of random base64 text, different for each `seed` call. */
function file(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4))
    .toString("base64")
    .slice(0, bytes);
}

/** LangGraph `saver.put` of `state` on `threadId` after `parent`; returns the new checkpoint id. */
async function saverPut(
  saver: BaseCheckpointSaver,
  threadId: string,
  parent: string | undefined,
  state: Record<string, unknown>,
  step: number,
): Promise<string> {
  const checkpoint = emptyCheckpoint();
  checkpoint.id = uuid6(-1);
  checkpoint.channel_values = state;
  const version = step + 1;
  checkpoint.channel_versions = Object.fromEntries(Object.keys(state).map((k) => [k, version]));
  const config = {
    configurable: { thread_id: threadId, checkpoint_ns: "", checkpoint_id: parent },
  };
  const saved = await saver.put(
    config,
    checkpoint,
    { source: "loop", step, parents: {} },
    checkpoint.channel_versions,
  );
  return saved.configurable!.checkpoint_id as string;
}

/** Native `Checkpointer.put` of `state` on `threadId` after `parent`. */
async function nativePut(
  checkpointer: Checkpointer,
  threadId: string,
  parent: string | undefined,
  state: Record<string, unknown>,
  step: number,
): Promise<string> {
  const id = newCheckpointId(parent);
  await checkpointer.put({
    threadId,
    id,
    parentId: parent,
    channelVersions: Object.fromEntries(Object.keys(state).map((k) => [k, id])),
    versionsSeen: {},
    metadata: { source: "loop", step },
    updates: Object.entries(state).map(([channel, value]) => ({ channel, version: id, value })),
  });
  return id;
}

export type Put = (
  threadId: string,
  parent: string | undefined,
  state: Record<string, unknown>,
  step: number,
) => Promise<string>;

/** Puts per second of `count` serial puts, each with a new file of `bytes`. */
export async function putsPerSecond(put: Put, bytes: number, count: number): Promise<number> {
  return (await interleavedRates([put], bytes, count))[0]!;
}

/**
 * Puts per second of each of `puts` (on storage of its own), `count` serial puts each with a new
 * file of `bytes`, taken in `rounds` alternating rounds (the order rotating each round), so that
 * the machine's drift during the run favours none of them.
 */
export async function interleavedRates(
  puts: readonly Put[],
  bytes: number,
  count: number,
  rounds = Math.min(5, count),
): Promise<number[]> {
  const heads: (string | undefined)[] = puts.map(() => undefined);
  const spentMs = puts.map(() => 0);
  for (const put of puts) {
    const parent = await put("warm", undefined, { file: file(bytes), n: 0 }, 0);
    await put("warm", parent, { file: file(bytes), n: 1 }, 1);
  }
  const perRound = Math.ceil(count / rounds);
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < puts.length; i++) {
      const k = (i + round) % puts.length;
      const put = puts[k]!;
      const files = Array.from({ length: perRound }, () => file(bytes));
      const start = performance.now();
      for (let j = 0; j < perRound; j++) {
        const n = round * perRound + j;
        heads[k] = await put("sized", heads[k], { file: files[j], n }, n);
      }
      spentMs[k]! += performance.now() - start;
    }
  }
  return spentMs.map((ms) => (rounds * perRound * 1000) / ms);
}

interface ThreadFigures {
  readonly putsPerSecond: number;
  readonly bytes: number;
  readonly latestReadMs: number;
}

/** The long thread: the same 2 MB file in every turn's state, with a growing list of notes. */
async function longThread(
  opened: OpenSaver,
  put: Put,
  read: () => Promise<unknown>,
  attachment: string,
): Promise<ThreadFigures> {
  const notes: string[] = [];
  let head: string | undefined;
  const start = performance.now();
  for (let turn = 0; turn < TURNS; turn++) {
    notes.push(`turn ${turn}: ${"a short note of what happened ".repeat(3)}`);
    head = await put("long", head, { file: attachment, notes: [...notes], turn }, turn);
  }
  const putsPerSecond = (TURNS * 1000) / (performance.now() - start);
  await read();
  const reads: number[] = [];
  for (let i = 0; i < 5; i++) {
    const at = performance.now();
    await read();
    reads.push(performance.now() - at);
  }
  reads.sort((a, b) => a - b);
  return { putsPerSecond, bytes: await opened.bytes(), latestReadMs: reads[2]! };
}

const config = { configurable: { thread_id: "long", checkpoint_ns: "" } };
export const savePut =
  (saver: BaseCheckpointSaver): Put =>
  (t, p, s, n) =>
    saverPut(saver, t, p, s, n);
export const ownPut =
  (saver: RewindSaver): Put =>
  (t, p, s, n) =>
    nativePut(saver.checkpointer, t, p, s, n);

/** `work` on every kind of `kinds` opened at once (one storage each), all closed after. */
async function withSavers<T>(
  kinds: readonly SaverKind[],
  work: (opened: OpenSaver[]) => Promise<T>,
): Promise<T> {
  const opened: OpenSaver[] = [];
  try {
    for (const kind of kinds) opened.push(await kind.open());
    return await work(opened);
  } finally {
    for (const o of opened) await o.close();
  }
}

async function withSaver<T>(kind: SaverKind, work: (opened: OpenSaver) => Promise<T>): Promise<T> {
  const opened = await kind.open();
  try {
    return await work(opened);
  } finally {
    await opened.close();
  }
}

/** Every large-value row of `npm run bench`. */
export async function largeValueRows(): Promise<Row[]> {
  const rows: Row[] = [];
  const attachment = file(2 * 1024 * 1024);
  for (const { engine, rewind, langgraph } of await saverPairs()) {
    for (const [label, bytes] of [
      ["100 KB", 100 * 1024],
      ["1 MB", 1024 * 1024],
    ] as const) {
      const count = bytes > 500_000 ? PUTS : PUTS * 4;
      const [lg, rw, own] = await withSavers([langgraph, rewind, rewind], ([l, r, o]) =>
        interleavedRates(
          [savePut(l!.saver), savePut(r!.saver), ownPut(o!.saver as RewindSaver)],
          bytes,
          count,
        ),
      );
      rows.push(
        {
          metric: `large ${engine}: saver.put ${label} new file (puts/s)`,
          rewind: rw!,
          reference: lg!,
          unit: "/s",
          target: ">= 1x",
        },
        {
          metric: `large ${engine}: native put ${label} new file (puts/s)`,
          rewind: own!,
          reference: lg!,
          unit: "/s",
          target: ">= 1x",
        },
      );
    }
    const lg = await withSaver(langgraph, (o) =>
      longThread(o, savePut(o.saver), () => o.saver.getTuple(config), attachment),
    );
    const rw = await withSaver(rewind, (o) =>
      longThread(o, savePut(o.saver), () => o.saver.getTuple(config), attachment),
    );
    const own = await withSaver(rewind, (o) => {
      const checkpointer = (o.saver as RewindSaver).checkpointer;
      return longThread(
        o,
        ownPut(o.saver as RewindSaver),
        () => checkpointer.get("long"),
        attachment,
      );
    });
    const thread = `large ${engine}: ${TURNS}-turn thread, same 2 MB file`;
    rows.push(
      {
        metric: `${thread}, saver.put (puts/s)`,
        rewind: rw.putsPerSecond,
        reference: lg.putsPerSecond,
        unit: "/s",
        target: "",
      },
      {
        metric: `${thread}, native put (puts/s)`,
        rewind: own.putsPerSecond,
        reference: lg.putsPerSecond,
        unit: "/s",
        target: "",
      },
      {
        metric: `${thread}, saver.put (bytes stored)`,
        rewind: rw.bytes,
        reference: lg.bytes,
        unit: "B",
        target: "<= 0.2x",
      },
      {
        metric: `${thread}, native put (bytes stored)`,
        rewind: own.bytes,
        reference: lg.bytes,
        unit: "B",
        target: "<= 0.2x",
      },
      {
        metric: `${thread}, getTuple latest (ms)`,
        rewind: rw.latestReadMs,
        reference: lg.latestReadMs,
        unit: "ms",
        target: "",
      },
      {
        metric: `${thread}, native get latest (ms)`,
        rewind: own.latestReadMs,
        reference: lg.latestReadMs,
        unit: "ms",
        target: "",
      },
    );
  }
  rows.push(...(await thresholdRows()));
  rows.push(...(await storeRows(attachment)));
  return rows;
}

const STORE_ITEMS = Number(process.env.BENCH_STORE_ITEMS ?? 200);

/**
 * Store items on SQLite carrying the same 2 MB file, each with a small field of its own: puts
 * per second, bytes stored and the time to read one item back, large values kept by reference
 * (rewind) against every value in its row (reference: `largeValues: false`).
 */
async function storeRows(attachment: string): Promise<Row[]> {
  const measure = async (largeValues: false | undefined) => {
    const db = tempDb("store.sqlite");
    const store = createSqliteStore(db.path, { largeValues, synchronous: "normal" });
    try {
      const docs = store.forTenant("acme");
      await docs.put(["warm"], "w", { n: 0 });
      const start = performance.now();
      for (let i = 0; i < STORE_ITEMS; i++) {
        await docs.put(["docs"], `d${i}`, { title: `document ${i}`, file: attachment });
      }
      const putsPerSecond = (STORE_ITEMS * 1000) / (performance.now() - start);
      const reads: number[] = [];
      for (let i = 0; i < 20; i++) {
        const at = performance.now();
        await docs.get(["docs"], `d${i}`);
        reads.push(performance.now() - at);
      }
      const sql = new Database(db.path, { readonly: true });
      const size = (table: string, column: string) =>
        Number(
          (sql.prepare(`SELECT sum(length(${column})) AS n FROM ${table}`).get() as { n: number })
            .n ?? 0,
        );
      const bytes = size("rewind_store_items", "value") + size("rewind_large_values", "bytes");
      sql.close();
      return { putsPerSecond, bytes, readMs: median(reads) };
    } finally {
      await store.close();
      db.done();
    }
  };
  const inRows = await measure(false);
  const byHash = await measure(undefined);
  const label = `large sqlite store: ${STORE_ITEMS} items, same 2 MB file`;
  return [
    {
      metric: `${label}, by hash vs in rows (puts/s)`,
      rewind: byHash.putsPerSecond,
      reference: inRows.putsPerSecond,
      unit: "/s",
      target: "",
    },
    {
      metric: `${label}, by hash vs in rows (bytes stored)`,
      rewind: byHash.bytes,
      reference: inRows.bytes,
      unit: "B",
      target: "<= 0.2x",
    },
    {
      metric: `${label}, by hash vs in rows (get, ms)`,
      rewind: byHash.readMs,
      reference: inRows.readMs,
      unit: "ms",
      target: "",
    },
  ];
}

/** Native SQLite puts/s of one new value stored by hash (rewind) against in its row (reference). */
async function thresholdRows(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const kib of [32, 64, 128, 256, 512]) {
    const rate = async (largeValues: false | { thresholdBytes: number }) => {
      const db = tempDb("threshold.sqlite");
      const checkpointer = createSqliteCheckpointer(db.path, { largeValues });
      try {
        return await putsPerSecond(
          (t, p, s, n) => nativePut(checkpointer, t, p, s, n),
          kib * 1024,
          PUTS * 4,
        );
      } finally {
        await checkpointer.close();
        db.done();
      }
    };
    // Alternating rounds, the median of each: the machine's drift favours neither.
    const inRows: number[] = [];
    const byHashes: number[] = [];
    for (let round = 0; round < 3; round++) {
      inRows.push(await rate(false));
      byHashes.push(await rate({ thresholdBytes: 1 }));
    }
    const inRow = median(inRows);
    const byHash = median(byHashes);
    rows.push({
      metric: `large sqlite: native put ${kib} KiB new value, by hash vs in row (puts/s)`,
      rewind: byHash,
      reference: inRow,
      unit: "/s",
      target: "",
    });
  }
  return rows;
}
