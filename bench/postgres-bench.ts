/**
 * PostgreSQL: checkpoint cost per super-step against the floor (a raw `pg` transaction, BEGIN;
 * INSERT; COMMIT, of the same bytes per checkpoint over loopback), and super-steps per second
 * with 8 concurrent workers, each with its own connection, as worker threads and as async loops
 * on one thread. Every measurement uses a throwaway schema, dropped after. Server:
 * REWIND_TEST_PG_URL or the local one.
 */
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import pg from "pg";
import { createPostgresCheckpointer } from "../src/backends/postgres/index.js";
import type { Row } from "./sqlite-bench.js";
import { interleavedMedians, linearGraph, NODES, runtimeAlone, threadRounds } from "./workloads.js";

const PG_URL = process.env.REWIND_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const THREADS = Number(process.env.BENCH_THREADS ?? 200);
const CONCURRENCY = Number(process.env.BENCH_WORKERS ?? 8);
/** Timed graph runs per worker loop; both layouts do the same total work. */
const WORKER_RUNS = Number(process.env.BENCH_WORKER_RUNS ?? 200);
/** Untimed runs per loop first: each worker thread compiles and optimizes the code on its own. */
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 30);

/** Runs `fn` with a fresh schema name, dropping the schema afterwards whatever happens. */
async function withSchema<T>(fn: (schema: string) => Promise<T>): Promise<T> {
  const schema = `rewind_bench_${randomBytes(5).toString("hex")}`;
  try {
    return await fn(schema);
  } finally {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
}

/** Bytes of every row Rewind stored in `schema` (column data, no tuple headers), and the checkpoint count. */
async function storedBytes(schema: string): Promise<{ bytes: number; checkpoints: number }> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT table_name, string_agg(format('COALESCE(octet_length(%I%s), 0)', column_name,
         CASE WHEN data_type = 'bytea' THEN '' ELSE '::text' END), ' + ') AS expr
       FROM information_schema.columns
       WHERE table_schema = $1 AND table_name LIKE 'rewind\\_%' AND table_name <> 'rewind_migrations'
       GROUP BY table_name`,
      [schema],
    );
    let bytes = 0;
    for (const { table_name, expr } of rows) {
      const sum = await client.query(
        `SELECT COALESCE(SUM(${expr}), 0)::bigint AS n FROM "${schema}"."${table_name}"`,
      );
      bytes += Number(sum.rows[0].n);
    }
    const count = await client.query(
      `SELECT count(*)::int AS n FROM "${schema}".rewind_checkpoints`,
    );
    return { bytes, checkpoints: count.rows[0].n };
  } finally {
    await client.end();
  }
}

/** Timed rounds of each subject of the step cost, interleaved (see {@link postgresStepCost}). */
const STEP_ROUNDS = 5;

/**
 * (a) Checkpoint cost per super-step: the linear graph on 200 threads, net of the same runs on a
 * checkpointer that stores nothing (`noCheckpointing`), against the floor. Rounds of the three
 * are interleaved in a rotating order, so that a change of load on the shared server falls on
 * every side alike rather than on whichever ran last; medians of each.
 */
export async function postgresStepCost(): Promise<Row[]> {
  return withSchema((schema) =>
    withSchema(async (floorSchema) => {
      const checkpointer = createPostgresCheckpointer(PG_URL, { schema, maxConnections: 2 });
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        const app = linearGraph(checkpointer);
        const rewind = threadRounds(app, THREADS);
        // A first round migrates, opens the connections, warms up and sizes the floor's rows.
        await rewind();
        const stored = await storedBytes(schema);
        const perCheckpoint = Math.round(stored.bytes / stored.checkpoints);
        await createFloorTable(client, floorSchema);
        const write = floorWriter(client, floorSchema, perCheckpoint);
        let floorRound = 0;
        const floor = async () => {
          floorRound++;
          for (let t = 0; t < THREADS; t++) {
            for (let i = 0; i <= NODES; i++) await write(`r${floorRound}-t${t}`, i);
          }
        };
        const alone = async () => {
          for (let t = 0; t < THREADS; t++) await runtimeAlone();
        };
        const [aloneMs, rewindMs, floorMs] = (await interleavedMedians(
          [alone, rewind, floor],
          STEP_ROUNDS,
        )) as [number, number, number];
        const steps = THREADS * NODES;
        return [
          {
            metric: "PostgreSQL checkpoint cost per super-step (ms)",
            rewind: (rewindMs - aloneMs) / steps,
            reference: floorMs / steps,
            unit: "ms",
            target: `<= 1.3x raw BEGIN/INSERT/COMMIT of ${perCheckpoint} B`,
          },
        ];
      } finally {
        await checkpointer.close();
        await client.end();
      }
    }),
  );
}

/**
 * (b) Super-steps per second with `CONCURRENCY` workers running the linear graph on threads of
 * their own, each with its own checkpointer and connection: as `CONCURRENCY` worker threads (one
 * loop each), and as `CONCURRENCY` async loops on one worker thread (how LangGraph's reference
 * figure was measured). The reference is the 2,500/s target.
 */
export async function postgresThroughput(): Promise<Row[]> {
  const rows: Row[] = [];
  const measured: number[] = [];
  let perCheckpoint = 0;
  for (const [threads, loops, label] of [
    [CONCURRENCY, 1, `${CONCURRENCY} worker threads`],
    [1, CONCURRENCY, `${CONCURRENCY} loops on one thread`],
  ] as const) {
    const perSecond = await withSchema(async (schema) => {
      const figure = await stepsPerSecond(schema, threads, loops);
      const stored = await storedBytes(schema);
      perCheckpoint = Math.round(stored.bytes / stored.checkpoints);
      return figure;
    });
    measured.push(perSecond);
    rows.push({
      metric: `PostgreSQL super-steps/s, ${label}`,
      rewind: perSecond,
      reference: 2500,
      unit: "/s",
      target: ">= 1x (2,500/s)",
    });
  }
  // What this machine's server allows at all: the same number of connections doing nothing but
  // the floor's raw one-row transactions, each the bytes of one checkpoint.
  const raw = await withSchema((schema) =>
    rawTransactionsPerSecond(schema, CONCURRENCY, perCheckpoint),
  );
  rows.push({
    metric: `PostgreSQL super-steps/s, best of the above vs raw floor`,
    rewind: Math.max(...measured),
    reference: raw,
    unit: "/s",
    target: `(raw BEGIN/INSERT/COMMIT of ${perCheckpoint} B on ${CONCURRENCY} connections)`,
  });
  return rows;
}

/** Raw floor transactions per second over `connections` connections. */
async function rawTransactionsPerSecond(
  schema: string,
  connections: number,
  bytes: number,
): Promise<number> {
  const clients = Array.from(
    { length: connections },
    () => new pg.Client({ connectionString: PG_URL }),
  );
  await Promise.all(clients.map((c) => c.connect()));
  try {
    await createFloorTable(clients[0]!, schema);
    const perConnection = WORKER_RUNS * (NODES + 1);
    const loop = async (client: pg.Client, c: number, count: number, prefix: string) => {
      const write = floorWriter(client, schema, bytes);
      for (let i = 0; i < count; i++) await write(`${prefix}${c}`, i);
    };
    await Promise.all(clients.map((client, c) => loop(client, c, 50, "warm")));
    const start = process.hrtime.bigint();
    await Promise.all(clients.map((client, c) => loop(client, c, perConnection, "run")));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return (connections * perConnection) / seconds;
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

/** The floor's table: one row per checkpoint, keyed by thread and position. */
async function createFloorTable(client: pg.Client, schema: string): Promise<void> {
  await client.query(`CREATE SCHEMA "${schema}"`);
  await client.query(
    `CREATE TABLE "${schema}".t (thread TEXT, id INTEGER, data BYTEA, PRIMARY KEY (thread, id))`,
  );
}

/** The floor's unit of work: one raw BEGIN/INSERT/COMMIT of about `bytes` bytes. */
function floorWriter(client: pg.Client, schema: string, bytes: number) {
  const insert = `INSERT INTO "${schema}".t VALUES ($1, $2, $3)`;
  const data = Buffer.alloc(Math.max(1, bytes - 8), 7);
  return async (thread: string, id: number) => {
    await client.query("BEGIN");
    await client.query(insert, [thread, id, data]);
    await client.query("COMMIT");
  };
}

async function stepsPerSecond(schema: string, threads: number, loops: number): Promise<number> {
  // Migrate once up front, so that the timed part measures steps only.
  const setup = createPostgresCheckpointer(PG_URL, { schema, maxConnections: 1 });
  await setup.ready();
  await setup.close();
  // The worker is TypeScript: its bootstrap registers tsx first (a Node 20 worker given a .ts
  // file directly fails, whatever execArgv it inherits).
  const worker = JSON.stringify(new URL("./postgres-worker.ts", import.meta.url).href);
  const bootstrap = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))})
    .then((tsx) => { tsx.register(); return import(${worker}); })`;
  const workers = Array.from(
    { length: threads },
    (_, w) =>
      new Worker(bootstrap, {
        eval: true,
        workerData: {
          url: PG_URL,
          schema,
          worker: w,
          runs: WORKER_RUNS,
          loops,
          warmRuns: WARM_RUNS,
        },
      }),
  );
  const message = (w: Worker) =>
    new Promise<{ steps: number }>((resolve, reject) => {
      w.once("message", resolve);
      w.once("error", reject);
    });
  try {
    await Promise.all(workers.map(message)); // each warmed up and ready
    const done = workers.map(message);
    const start = process.hrtime.bigint();
    for (const w of workers) w.postMessage("go");
    const results = await Promise.all(done);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return results.reduce((n, r) => n + r.steps, 0) / seconds;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
