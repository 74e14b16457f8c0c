/**
 * Damage as a bad disk or a bad copy does it: one byte of one stored column flipped at a time
 * (seeded: random column, random row, random byte and bit), then every checkpoint of two threads
 * read back. Each read must return exactly what was written or raise a CorruptionError naming
 * that checkpoint; never wrong data, and the other thread is never affected. Keys (thread,
 * namespace, checkpoint id, channel, version) are not flipped: a damaged key makes a row
 * unreachable, which the chain checks report, rather than wrong.
 *
 * Smoke size by default; `REWIND_FLIP_RUNS=150` (or `REWIND_SOAK=1`) for the full count.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import type { Checkpointer, CheckpointTuple } from "../../src/checkpoint/checkpointer.js";
import { isRewindError } from "../../src/index.js";
import { adminPool, freshSchema, PG_URL } from "../support/postgres.js";
import { chatGraph } from "./damage-support.js";

const RUNS = Number(process.env.REWIND_FLIP_RUNS ?? (process.env.REWIND_SOAK ? 150 : 24));
const SEED = Number(process.env.REWIND_FLIP_SEED ?? 20261201);

/** A stored cell: read it, write a value back. */
interface Cell {
  readonly where: string;
  read(): Promise<unknown>;
  write(value: unknown): Promise<void>;
}

/** A storage engine as the test sees it: its checkpointer and its damageable cells. */
interface Engine {
  readonly checkpointer: Checkpointer;
  cells(): Promise<Cell[]>;
  close(): Promise<void>;
}

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `value` with one bit of one byte flipped; `undefined` when there is nothing to flip. */
function flipped(value: unknown, rand: () => number, textSafe: boolean): unknown {
  const bit = 1 << Math.floor(rand() * (textSafe ? 7 : 8));
  if (typeof value === "number") return value ^ bit;
  if (typeof value === "bigint") return value ^ BigInt(bit);
  const bytes = typeof value === "string" ? Buffer.from(value) : Buffer.from(value as Uint8Array);
  if (bytes.length === 0) return undefined;
  const at = Math.floor(rand() * bytes.length);
  // PostgreSQL refuses text that is not UTF-8: there, flip within ASCII only.
  if (textSafe && typeof value === "string" && bytes[at]! >= 0x80) return undefined;
  bytes[at] = bytes[at]! ^ bit;
  if (textSafe && typeof value === "string" && bytes[at] === 0) return undefined;
  return typeof value === "string" ? bytes : bytes;
}

/** Two threads: long appended message lists, a large compressible value, pending writes. */
async function fill(checkpointer: Checkpointer): Promise<void> {
  const app = chatGraph(checkpointer);
  for (const threadId of ["flip-a", "flip-b"]) {
    for (let turn = 0; turn < 6; turn++) {
      await app.invoke(
        { messages: { role: "user", content: `${threadId} turn ${turn}` } },
        { threadId },
      );
    }
    const head = (await checkpointer.get(threadId))!;
    await checkpointer.put({
      threadId,
      id: `${head.checkpoint.id}-big`,
      parentId: head.checkpoint.id,
      channelVersions: { ...head.checkpoint.channelVersions, notes: `${head.checkpoint.id}-big` },
      versionsSeen: {},
      metadata: { source: "update", step: 99, note: "big" },
      updates: [
        {
          channel: "notes",
          version: `${head.checkpoint.id}-big`,
          value: "a long note ".repeat(400),
        },
      ],
    });
    await checkpointer.putWrites({ threadId, checkpointId: `${head.checkpoint.id}-big` }, [
      { taskId: "task-1", taskPath: "~reply", idx: 0, channel: "messages", value: { x: 1 } },
      { taskId: "task-1", taskPath: "~reply", idx: -1, channel: "__error__", value: "boom" },
    ]);
  }
}

async function snapshot(checkpointer: Checkpointer): Promise<Map<string, CheckpointTuple>> {
  const out = new Map<string, CheckpointTuple>();
  for (const threadId of ["flip-a", "flip-b"]) {
    for await (const tuple of checkpointer.list({ threadId })) {
      out.set(`${threadId}\0${tuple.checkpoint.id}`, tuple);
    }
  }
  return out;
}

async function flipTrials(engine: Engine, label: string): Promise<void> {
  await fill(engine.checkpointer);
  const expected = await snapshot(engine.checkpointer);
  expect(expected.size).toBeGreaterThan(20);
  const cells = await engine.cells();
  const rand = random(SEED);
  let applied = 0;
  let detected = 0;
  for (let attempt = 0; applied < RUNS && attempt < RUNS * 20; attempt++) {
    const cell = cells[Math.floor(rand() * cells.length)]!;
    const original = await cell.read();
    const damaged = flipped(original, rand, label === "postgres");
    if (damaged === undefined) continue;
    try {
      await cell.write(damaged);
    } catch {
      continue; // The database refused the damaged value (not valid JSON for jsonb, ...).
    }
    applied++;
    try {
      for (const [key, want] of expected) {
        const [threadId, checkpointId] = key.split("\0") as [string, string];
        let got: CheckpointTuple | undefined;
        try {
          got = await engine.checkpointer.get(threadId, { checkpointId });
        } catch (error) {
          const named =
            isRewindError(error, "CORRUPTED") &&
            error.threadId === threadId &&
            error.checkpointId === checkpointId;
          if (!named) throw new Error(`flip of ${cell.where}: ${checkpointId} raised ${error}`);
          detected++;
          continue;
        }
        if (!isDeepStrictEqual(got, want)) {
          throw new Error(`flip of ${cell.where}: ${checkpointId} read back wrong data`);
        }
      }
    } finally {
      await cell.write(original);
    }
  }
  expect(applied).toBe(RUNS);
  expect(detected).toBeGreaterThan(0);
  // Restored, everything reads back as written.
  expect(isDeepStrictEqual(await snapshot(engine.checkpointer), expected)).toBe(true);
}

const temp: string[] = [];
afterAll(() => {
  for (const dir of temp.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Every non-key cell of SQLite's checkpoint tables. */
const SQLITE_COLUMNS: Record<string, { key: string[]; columns: string[] }> = {
  rewind_checkpoints: {
    key: ["tid", "ns", "id"],
    columns: ["parent_id", "created_at", "versions", "metadata", "body", "vals"],
  },
  rewind_blobs: {
    key: ["tid", "ns", "channel", "version"],
    columns: ["kind", "prev_version", "depth", "tag", "value", "value_ref"],
  },
  rewind_writes: {
    key: ["tid", "ns", "checkpoint_id", "task_id", "idx"],
    columns: ["task_path", "channel", "tag", "value", "value_ref"],
  },
  rewind_values: { key: ["id"], columns: ["codec", "bytes"] },
};

async function sqliteEngine(): Promise<Engine> {
  const dir = mkdtempSync(join(tmpdir(), "rewind-flip-"));
  temp.push(dir);
  const file = join(dir, "flip.sqlite");
  const checkpointer = createSqliteCheckpointer(file);
  let raw: Database.Database | undefined;
  return {
    checkpointer,
    cells: async () => {
      raw = new Database(file);
      const db = raw;
      const cells: Cell[] = [];
      for (const [table, { key, columns }] of Object.entries(SQLITE_COLUMNS)) {
        const rows = db.prepare(`SELECT ${key.join(", ")} FROM ${table}`).all() as any[];
        for (const row of rows) {
          const match = key.map((k) => `${k} = ?`).join(" AND ");
          const params = key.map((k) => row[k]);
          for (const column of columns) {
            const current = db
              .prepare(`SELECT ${column} AS v FROM ${table} WHERE ${match}`)
              .get(...params) as { v: unknown };
            if (current.v === null) continue;
            const text = typeof current.v === "string";
            cells.push({
              where: `${table}.${column}`,
              read: async () =>
                (
                  db
                    .prepare(`SELECT ${column} AS v FROM ${table} WHERE ${match}`)
                    .get(...params) as {
                    v: unknown;
                  }
                ).v,
              write: async (value) => {
                // Damaged text keeps its type: the bytes go in as TEXT, valid UTF-8 or not.
                const set = text && Buffer.isBuffer(value) ? "CAST(? AS TEXT)" : "?";
                db.prepare(`UPDATE ${table} SET ${column} = ${set} WHERE ${match}`).run(
                  value,
                  ...params,
                );
              },
            });
          }
        }
      }
      return cells;
    },
    close: async () => {
      raw?.close();
      await checkpointer.close();
    },
  };
}

const PG_COLUMNS: Record<string, { key: string[]; columns: [string, string][] }> = {
  rewind_checkpoints: {
    key: ["thread_id", "ns", "id"],
    columns: [
      ["parent_id", "text"],
      ["created_at", "text"],
      ["versions", "jsonb"],
      ["metadata", "jsonb"],
      ["metadata_text", "text"],
      ["body", "text"],
    ],
  },
  rewind_blobs: {
    key: ["thread_id", "ns", "channel", "version"],
    columns: [
      ["kind", "smallint"],
      ["prev_version", "text"],
      ["depth", "int"],
      ["tag", "text"],
      ["value", "bytea"],
    ],
  },
  rewind_writes: {
    key: ["thread_id", "ns", "checkpoint_id", "task_id", "idx"],
    columns: [
      ["task_path", "text"],
      ["channel", "text"],
      ["tag", "text"],
      ["value", "bytea"],
    ],
  },
};

async function postgresEngine(): Promise<Engine> {
  const schema = freshSchema("rewind_flip");
  const checkpointer = createPostgresCheckpointer(PG_URL, { schema, maxConnections: 2 });
  const admin = adminPool();
  return {
    checkpointer,
    cells: async () => {
      const cells: Cell[] = [];
      for (const [table, { key, columns }] of Object.entries(PG_COLUMNS)) {
        const { rows } = await admin.query(`SELECT ${key.join(", ")} FROM "${schema}".${table}`);
        for (const row of rows) {
          const match = key.map((k, i) => `${k} = $${i + 2}`).join(" AND ");
          const params = key.map((k) => row[k]);
          for (const [column, type] of columns) {
            const read = async () => {
              const select = type === "jsonb" ? `${column}::text` : column;
              const { rows: found } = await admin.query(
                `SELECT ${select} AS v FROM "${schema}".${table} WHERE ${match.replaceAll(/\$(\d+)/g, (_, n) => `$${Number(n) - 1}`)}`,
                params,
              );
              return found[0].v;
            };
            if ((await read()) === null) continue;
            cells.push({
              where: `${table}.${column}`,
              read,
              write: async (value) => {
                const text = Buffer.isBuffer(value) && type !== "bytea";
                const arg = text ? (value as Buffer).toString("utf8") : value;
                const cast = type === "jsonb" ? "::jsonb" : type === "bytea" ? "::bytea" : "";
                await admin.query(
                  `UPDATE "${schema}".${table} SET ${column} = $1${cast} WHERE ${match}`,
                  [arg, ...params],
                );
              },
            });
          }
        }
      }
      return cells;
    },
    close: () => checkpointer.close(),
  };
}

async function trialsOn(open: () => Promise<Engine>, label: string): Promise<void> {
  const engine = await open();
  try {
    await flipTrials(engine, label);
  } finally {
    await engine.close();
  }
}

// Room for the soak count on a busy machine (the trial count is what is asserted, not speed).
const TIMEOUT_MS = 60_000 + RUNS * 5_000;

describe(`random byte flips in stored rows (${RUNS} per engine, seed ${SEED})`, () => {
  it(
    "on SQLite: every read is the data written or a CorruptionError naming the checkpoint",
    () => trialsOn(sqliteEngine, "sqlite"),
    TIMEOUT_MS,
  );

  it(
    "on PostgreSQL: every read is the data written or a CorruptionError naming the checkpoint",
    () => trialsOn(postgresEngine, "postgres"),
    TIMEOUT_MS,
  );
});
