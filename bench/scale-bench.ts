/**
 * Scale: `threads` threads of one 10-node linear run each (10 super-steps) in one SQLite file and
 * one PostgreSQL schema; the per-step cost over the last tenth of the threads against the first
 * tenth (target: within 1.2x), and bytes stored per thread. Default 2,000 threads;
 * BENCH_SCALE_THREADS=100000 for the full size (minutes per engine);
 * BENCH_ENGINES=sqlite (or postgres) runs one engine alone.
 */
import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import pg from "pg";
import { createPostgresCheckpointer } from "../src/backends/postgres/index.js";
import { createSqliteCheckpointer } from "../src/backends/sqlite/index.js";
import type { Checkpointer } from "../src/index.js";
import { type Row, tempDb } from "./sqlite-bench.js";
import { linearGraph, NODES } from "./workloads.js";

const THREADS = Number(process.env.BENCH_SCALE_THREADS ?? 2000);
const PG_URL = process.env.REWIND_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const ENGINES = (process.env.BENCH_ENGINES ?? "sqlite,postgres").split(",").map((e) => e.trim());

/** ms per super-step over the first and the last tenth of the threads. */
async function fill(checkpointer: Checkpointer): Promise<{ start: number; end: number }> {
  const app = linearGraph(checkpointer);
  const tenth = Math.max(1, Math.floor(THREADS / 10));
  let start = 0;
  let end = 0;
  for (let t = 0; t < THREADS; t++) {
    const begin = process.hrtime.bigint();
    await app.invoke({}, { threadId: `scale-${t}` });
    const ms = Number(process.hrtime.bigint() - begin) / 1e6;
    if (t < tenth) start += ms;
    if (t >= THREADS - tenth) end += ms;
  }
  return { start: start / (tenth * NODES), end: end / (tenth * NODES) };
}

function rows(engine: string, figures: { start: number; end: number }, bytes: number): Row[] {
  return [
    {
      metric: `${engine} scale ${THREADS} threads x ${NODES} steps: step cost, end vs start (ms)`,
      rewind: figures.end,
      reference: figures.start,
      unit: "ms",
      target: "<= 1.2x",
    },
    {
      metric: `${engine} scale: bytes per thread (reference: 1)`,
      rewind: bytes / THREADS,
      reference: 1,
      unit: "B",
      target: "(reported)",
    },
  ];
}

export async function scaleRun(): Promise<Row[]> {
  const out: Row[] = [];
  if (ENGINES.includes("sqlite")) out.push(...(await sqliteScale()));
  if (ENGINES.includes("postgres")) out.push(...(await postgresScale()));
  return out;
}

async function sqliteScale(): Promise<Row[]> {
  const tmp = tempDb("scale.sqlite");
  const sqlite = createSqliteCheckpointer(tmp.path);
  const sqliteFigures = await fill(sqlite);
  await sqlite.close();
  const sqliteBytes = statSync(tmp.path).size;
  tmp.done();
  return rows("SQLite", sqliteFigures, sqliteBytes);
}

async function postgresScale(): Promise<Row[]> {
  const schema = `rewind_scale_${randomBytes(5).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  try {
    const postgres = createPostgresCheckpointer(pool, { schema });
    const figures = await fill(postgres);
    const { rows: size } = await pool.query(
      `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint AS n
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind = 'r'`,
      [schema],
    );
    await postgres.close();
    return rows("PostgreSQL", figures, Number(size[0].n));
  } catch (error) {
    console.log(`(PostgreSQL scale skipped: ${(error as Error).message})`);
    return [];
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.end();
  }
}
