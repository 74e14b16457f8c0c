/**
 * SQLite: checkpoint cost per super-step against the floor (a raw better-sqlite3 transaction
 * inserting the same number of bytes), net of the same runs on a checkpointer that stores
 * nothing (`noCheckpointing`: the runtime's own work is not checkpointing's cost; the row after
 * it keeps that work in, net of plain async calls only), bytes stored for a 500-turn chat against the raw message
 * bytes, and the latest-state read against the work it cannot avoid (one indexed row read and a
 * JSON.parse of the state's bytes) at turns 10 and 500 (and 5,000 with BENCH_LONG_TURNS=1).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createSqliteCheckpointer } from "../src/backends/sqlite/index.js";
import {
  chatGraph,
  interleavedMedians,
  linearGraph,
  linearPlain,
  median,
  NODES,
  rawMessageBytes,
  runtimeAlone,
  threadRounds,
  timeMs,
  userMessage,
} from "./workloads.js";

const THREADS = 200;

export interface Row {
  readonly metric: string;
  readonly rewind: number;
  readonly reference: number;
  readonly unit: string;
  readonly target: string;
}

export function tempDb(name: string): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "rewind-bench-"));
  return { path: join(dir, name), done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Bytes of every row Rewind stored, summed over its tables. */
function storedBytes(path: string): number {
  const db = new Database(path, { readonly: true });
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rewind_%'")
    .all() as { name: string }[];
  let total = 0;
  for (const { name } of tables) {
    const cols = (db.prepare(`PRAGMA table_info(${name})`).all() as { name: string }[]).map(
      (c) => `COALESCE(length(CAST(${c.name} AS BLOB)), 0)`,
    );
    total += (
      db.prepare(`SELECT COALESCE(SUM(${cols.join(" + ")}), 0) AS n FROM ${name}`).get() as {
        n: number;
      }
    ).n;
  }
  db.close();
  return total;
}

function fileBytes(path: string): number {
  const db = new Database(path);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.exec("VACUUM");
  db.close();
  return statSync(path).size;
}

/** Checkpoint cost per super-step in each synchronous mode, each against a floor in that mode. */
export async function sqliteStepCost(): Promise<Row[]> {
  return [...(await stepCost("full")), ...(await stepCost("normal"))];
}

/** Timed rounds of each subject, interleaved (see {@link stepCost}). */
const STEP_ROUNDS = 5;

async function stepCost(synchronous: "full" | "normal"): Promise<Row[]> {
  const tmp = tempDb("steps.sqlite");
  const checkpointer = createSqliteCheckpointer(tmp.path, { synchronous });
  const app = linearGraph(checkpointer);
  const rewind = threadRounds(app, THREADS);
  // A first round warms up and sizes the floor's rows like Rewind's.
  await rewind();
  const bytesPerRun = storedBytes(tmp.path) / THREADS;

  // The floor: one raw transaction per checkpoint inserting the same bytes.
  const floorDb = tempDb("floor.sqlite");
  const db = new Database(floorDb.path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  db.exec(
    "CREATE TABLE t (thread TEXT, id INTEGER, data BLOB, PRIMARY KEY (thread, id)) WITHOUT ROWID",
  );
  const insert = db.prepare("INSERT INTO t VALUES (?, ?, ?)");
  const perCheckpoint = Buffer.alloc(Math.round(bytesPerRun / (NODES + 1)), 7);
  const tx = db.transaction((thread: string, id: number) => insert.run(thread, id, perCheckpoint));
  let floorRound = 0;
  const floor = async () => {
    floorRound++;
    for (let t = 0; t < THREADS; t++)
      for (let i = 0; i <= NODES; i++) tx(`r${floorRound}-t${t}`, i);
  };
  const alone = async () => {
    for (let t = 0; t < THREADS; t++) await runtimeAlone();
  };
  const plain = async () => {
    for (let t = 0; t < THREADS; t++) await linearPlain();
  };
  const [aloneMs, plainMs, rewindMs, floorMs] = (await interleavedMedians(
    [alone, plain, rewind, floor],
    STEP_ROUNDS,
  )) as [number, number, number, number];
  await checkpointer.close();
  tmp.done();
  db.close();
  floorDb.done();
  const steps = THREADS * NODES;
  const floorPerStep = floorMs / steps;
  return [
    {
      metric: `SQLite checkpoint cost per super-step, synchronous=${synchronous} (ms)`,
      rewind: (rewindMs - aloneMs) / steps,
      reference: floorPerStep,
      unit: "ms",
      target: "<= 2x the raw-insert floor",
    },
    {
      metric: `  the same with the runtime's own work, synchronous=${synchronous} (ms)`,
      rewind: (rewindMs - plainMs) / steps,
      reference: floorPerStep,
      unit: "ms",
      target: "(net of plain calls only)",
    },
  ];
}

/** Turns at which the latest read is compared with its floor; 5,000 with BENCH_LONG_TURNS=1. */
const READ_MARKS = process.env.BENCH_LONG_TURNS === "1" ? [10, 500, 5000] : [10, 500];

export async function sqliteGrowth(turns = 500): Promise<Row[]> {
  const tmp = tempDb("chat.sqlite");
  const checkpointer = createSqliteCheckpointer(tmp.path);
  const app = chatGraph(checkpointer);
  const other = createSqliteCheckpointer(tmp.path, { headCacheBytes: 0 });
  const uncached = chatGraph(other);
  const marks = READ_MARKS.filter((m) => m !== turns);
  const last = Math.max(turns, ...marks);
  const reads: Row[] = [];
  let stored = 0;
  // The first read after each of the (up to 21) turns before a mark, in the writing process,
  // warmed up first on a thread of its own (turn 10's reads would otherwise be the process's first).
  for (let turn = 0; turn < 30; turn++) {
    await app.invoke({ messages: userMessage(turn) }, { threadId: "warm-up" });
    await app.getState({ threadId: "warm-up" });
    await uncached.getState({ threadId: "warm-up" });
  }
  let afterWrite: number[] = [];
  for (let turn = 0; turn < last; turn++) {
    await app.invoke({ messages: userMessage(turn) }, { threadId: "chat" });
    const at = turn + 1;
    if (at === turns) stored = storedBytes(tmp.path);
    if (READ_MARKS.some((mark) => at > mark - 21 && at <= mark)) {
      afterWrite.push(await timeMs(() => app.getState({ threadId: "chat" }), 1));
    }
    if (READ_MARKS.includes(at)) {
      // Repeated reads of the unchanged head (a state polled between runs) reuse its held
      // chains whole; the first read after a write walks only the links the run appended;
      // another process (a second connection with no head cache) walks the whole chain.
      const readMs = await timeMs(() => app.getState({ threadId: "chat" }), 21);
      const state = await app.getState({ threadId: "chat" });
      const floor = readFloorMs(JSON.stringify(state?.values));
      const uncachedMs = await timeMs(() => uncached.getState({ threadId: "chat" }), 21);
      const afterWriteMs = median(afterWrite);
      afterWrite = [];
      reads.push(
        {
          metric: `latest-state read ÷ (JSON.parse + indexed read), turn ${at} (ms)`,
          rewind: readMs,
          reference: floor,
          unit: "ms",
          target: "<= 2x",
        },
        {
          metric: `  the same, first read after each write, turn ${at} (ms)`,
          rewind: afterWriteMs,
          reference: floor,
          unit: "ms",
          target: "<= 2x",
        },
        {
          metric: `  the same, from another process (no head cache), turn ${at} (ms)`,
          rewind: uncachedMs,
          reference: floor,
          unit: "ms",
          target: "(no target)",
        },
      );
    }
  }
  await checkpointer.close();
  await other.close();
  const raw = rawMessageBytes(turns);
  const file = last === turns ? fileBytes(tmp.path) : undefined;
  tmp.done();
  return [
    {
      metric: `bytes stored, ${turns}-turn thread (row bytes)`,
      rewind: stored,
      reference: raw,
      unit: "B",
      target: "<= 2x raw message bytes",
    },
    ...(file === undefined
      ? []
      : [
          {
            metric: `bytes stored, ${turns}-turn thread (file after VACUUM)`,
            rewind: file,
            reference: raw,
            unit: "B",
            target: "(file incl. indexes and pages)",
          },
        ]),
    ...reads,
  ];
}

/**
 * The work a latest read cannot avoid: one indexed row read of the state's bytes (stored as one
 * row in a WAL database of its own) and one JSON.parse of them. Median of 21, ms.
 */
function readFloorMs(json: string): number {
  const tmp = tempDb("floor-read.sqlite");
  const db = new Database(tmp.path);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, data BLOB) WITHOUT ROWID");
  db.prepare("INSERT INTO t VALUES (?, ?)").run("chat", Buffer.from(json));
  const select = db.prepare("SELECT data FROM t WHERE k = ?");
  const samples: number[] = [];
  for (let i = 0; i < 21; i++) {
    const start = process.hrtime.bigint();
    const row = select.get("chat") as { data: Buffer };
    JSON.parse(row.data.toString("utf8"));
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  db.close();
  tmp.done();
  return samples.sort((a, b) => a - b)[10]!;
}
