/**
 * `npx tsx bench/statements.ts`: SQL statements and transactions per super-step, on SQLite and
 * PostgreSQL, for the 10-node linear graph through the native runtime and through LangGraph
 * (`RewindSaver`, and on SQLite LangGraph's own `SqliteSaver` beside it), and per `saver.put`
 * of W5 (a 1 KB state) on SQLite, on both savers. Counts what the engine is
 * asked to run (every `run/get/all/iterate` of a prepared statement on SQLite, every `query` on
 * PostgreSQL): the breakdown says where a step's round trips go. On SQLite, whose calls are
 * synchronous, each statement is also timed (the native call: binding, the engine's work and its
 * locks, the commit's writes), beside the wall time of the counted loop, so that what is left is
 * JavaScript; the wrapper that times them adds about 0.3 us per statement (a trivial statement:
 * 0.27-0.38 us called directly, 0.56-0.65 us through it). Setup and migrations are excluded
 * (counting starts after a warm-up).
 */
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import Database from "better-sqlite3";
import pg from "pg";
import type { CheckpointBackend } from "../src/backend.js";
import { SqliteBackend } from "../src/backends/sqlite/index.js";
import { createCheckpointer } from "../src/index.js";
import { RewindSaver } from "../src/langgraph/index.js";
import { openedSaver, PG_URL } from "./langgraph-savers.js";
import { linearGraph as lgLinear, runPuts, STEPS_PER_RUN } from "./langgraph-workloads.js";
import { tempDb } from "./sqlite-bench.js";
import { linearGraph, NODES } from "./workloads.js";

const RUNS = Number(process.env.BENCH_STATEMENT_RUNS ?? 200);

/**
 * Statement counts by verb and the first Rewind table or function named (`SELECT rewind_put`,
 * `INSERT rewind_blobs`, `BEGIN`...), and transactions: explicit ones plus each statement run
 * outside one (autocommit; on PostgreSQL a stored-function call is one of these).
 */
class Tally {
  readonly counts = new Map<string, number>();
  /** Nanoseconds spent in each statement key's calls, where they are timed (SQLite). */
  readonly nanos = new Map<string, number>();
  transactions = 0;
  /** Nanoseconds of every timed statement so far. */
  timedNanos = 0;
  on = false;
  #inTransaction = false;
  #started = 0;
  #wallMs = 0;
  /** Counts from now on (and times the loop's wall clock until {@link stop}). */
  start(): void {
    this.on = true;
    this.#started = performance.now();
  }
  stop(): void {
    this.on = false;
    this.#wallMs += performance.now() - this.#started;
  }
  add(sql: string, nanos?: number): void {
    if (!this.on) return;
    const text = sql.trim().replace(/\s+/g, " ");
    const verb = text.split(" ")[0]!.toUpperCase();
    if (verb === "BEGIN") this.#inTransaction = true;
    else if (verb === "COMMIT" || verb === "ROLLBACK") this.#inTransaction = false;
    else if (!this.#inTransaction && verb !== "SAVEPOINT" && verb !== "RELEASE")
      this.transactions++;
    if (verb === "BEGIN") this.transactions++;
    const name =
      /\brewind_\w+/.exec(text)?.[0] ?? /\b(?:INTO|FROM|UPDATE)\s+"?(\w+)/i.exec(text)?.[1] ?? "";
    const key = `${verb} ${name}`.trim();
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    if (nanos === undefined) return;
    this.nanos.set(key, (this.nanos.get(key) ?? 0) + nanos);
    this.timedNanos += nanos;
  }
  report(label: string, steps: number, unit = "super-step"): void {
    const total = [...this.counts.values()].reduce((a, b) => a + b, 0);
    const sqlNanos = [...this.nanos.values()].reduce((a, b) => a + b, 0);
    const µs = (nanos: number) => (nanos / 1000 / steps).toFixed(1);
    const timed =
      this.nanos.size > 0
        ? `; ${µs(this.#wallMs * 1e6)} µs wall, ${µs(sqlNanos)} µs of it in statements`
        : "";
    console.log(
      `${label}: ${(total / steps).toFixed(2)} statements, ${(this.transactions / steps).toFixed(2)} transactions per ${unit}${timed}`,
    );
    for (const [k, n] of [...this.counts.entries()].sort((a, b) => b[1] - a[1])) {
      const time = this.nanos.has(k) ? `${µs(this.nanos.get(k)!).padStart(7)} µs  ` : "";
      console.log(`    ${(n / steps).toFixed(2).padStart(6)}  ${time}${k}`);
    }
  }
}

/** A better-sqlite3 handle whose statements report each execution, and its time, to `tally`. */
function countedSqlite(path: string, tally: Tally): Database.Database {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  // better-sqlite3's own transaction helper (`SqliteSaver.putWrites` uses it) runs BEGIN and
  // COMMIT natively, past `prepare`: counted as one of each, the commit timed as the helper's
  // time less its statements'.
  const transaction = db.transaction.bind(db);
  (db as any).transaction = (fn: (...args: unknown[]) => unknown) => {
    const run = transaction(fn);
    return (...args: unknown[]) => {
      if (!tally.on) return run(...args);
      const inner = tally.timedNanos;
      const start = process.hrtime.bigint();
      tally.add("BEGIN");
      try {
        return run(...args);
      } finally {
        const spent = Number(process.hrtime.bigint() - start);
        tally.add("COMMIT", spent - (tally.timedNanos - inner));
      }
    };
  };
  const prepare = db.prepare.bind(db);
  (db as any).prepare = (sql: string) => {
    const statement = prepare(sql);
    return new Proxy(statement, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop === "run" || prop === "get" || prop === "all" || prop === "iterate") {
          return (...args: unknown[]) => {
            if (!tally.on) return value.apply(target, args);
            const start = process.hrtime.bigint();
            try {
              return value.apply(target, args);
            } finally {
              tally.add(sql, Number(process.hrtime.bigint() - start));
            }
          };
        }
        return value.bind(target);
      },
    });
  };
  return db;
}

/** A pg pool whose queries (on the pool and on checked-out clients) report to `tally`. */
function countedPool(tally: Tally): pg.Pool {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
  const text = (q: unknown) => (typeof q === "string" ? q : String((q as { text: string }).text));
  const query = pool.query.bind(pool);
  (pool as any).query = (q: unknown, ...rest: unknown[]) => {
    tally.add(text(q));
    return (query as any)(q, ...rest);
  };
  // Clients checked out for transactions count too (pg's own `query` uses a callback checkout,
  // which is left alone: its query is already counted above).
  pool.on("connect", (client) => {
    const clientQuery = client.query.bind(client);
    (client as any).query = (q: unknown, ...rest: unknown[]) => {
      if (typeof rest.at(-1) !== "function") tally.add(text(q));
      return (clientQuery as any)(q, ...rest);
    };
  });
  return pool;
}

async function native(backend: CheckpointBackend, tally: Tally, label: string) {
  const checkpointer = createCheckpointer(backend);
  const app = linearGraph(checkpointer);
  for (let r = 0; r < RUNS; r++) await app.invoke({}, { threadId: `warm${r}` });
  tally.start();
  for (let r = 0; r < RUNS; r++) await app.invoke({}, { threadId: `t${r}` });
  tally.stop();
  tally.report(`native ${label}`, RUNS * NODES);
  await checkpointer.close();
}

async function viaLangGraph(saver: BaseCheckpointSaver, tally: Tally, label: string) {
  const app = lgLinear(saver);
  for (let r = 0; r < RUNS; r++) {
    await app.invoke({ count: 0 }, { configurable: { thread_id: `warm${r}` } });
  }
  tally.start();
  for (let r = 0; r < RUNS; r++) {
    await app.invoke({ count: 0 }, { configurable: { thread_id: `t${r}` } });
  }
  tally.stop();
  tally.report(`LangGraph (${saver.constructor.name}) ${label}`, RUNS * STEPS_PER_RUN);
}

/** W5: serial `saver.put`s of a 1 KB state on one thread, counted after `runPuts`'s warm-up. */
async function w5(saver: BaseCheckpointSaver, tally: Tally, label: string) {
  const puts = RUNS * 10;
  await runPuts(openedSaver(saver, label), puts, () => tally.start());
  tally.stop();
  tally.report(`W5 saver.put 1 KB (${saver.constructor.name}) ${label}`, puts, "put");
}

// Through LangGraph, Rewind's saver and LangGraph's own `SqliteSaver` side by side, on handles
// counted alike (both at the handle's synchronous setting, FULL): where each spends a step.
for (const mode of ["native", "langgraph", "w5"] as const) {
  for (const side of mode === "native" ? ["rewind"] : ["rewind", "langgraph"]) {
    const tmp = tempDb("statements.sqlite");
    const tally = new Tally();
    const handle = countedSqlite(tmp.path, tally);
    if (mode === "native") await native(new SqliteBackend(handle), tally, "SQLite");
    else {
      const saver =
        side === "rewind" ? new RewindSaver(new SqliteBackend(handle)) : new SqliteSaver(handle);
      if (mode === "langgraph") await viaLangGraph(saver, tally, "SQLite");
      else await w5(saver, tally, "SQLite");
      // Closed once counting has stopped, so that closing is not counted.
      if (saver instanceof RewindSaver) await saver.close();
      else handle.close();
    }
    tmp.done();
  }
}

const { PostgresBackend } = await import("../src/backends/postgres/index.js");
for (const mode of ["native", "langgraph"] as const) {
  const tally = new Tally();
  const pool = countedPool(tally);
  const schema = `stmtbench_${process.pid}_${mode}`;
  try {
    const backend = new PostgresBackend(pool, { schema });
    if (mode === "native") await native(backend, tally, "PostgreSQL");
    else {
      const saver = new RewindSaver(backend);
      await viaLangGraph(saver, tally, "PostgreSQL");
      await saver.close();
    }
  } catch (error) {
    console.log(`(PostgreSQL ${mode} skipped: ${(error as Error).message})`);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await pool.end();
  }
}
