/**
 * `npm run bench:retention [-- --threads N] [-- --engine sqlite|postgres]`: N threads (default
 * 10,000) of about 100 checkpoints each, with forks and interrupts sprinkled in, written through
 * the runtime; then `prune` with keep-last-10. Reports prune throughput, stored bytes before and
 * after (target: at least 85% freed), the p99 latency of `invoke`s on other threads while the
 * prune runs against the same without it (target: at most 2x), and the storage's size before and
 * after reclaiming space (SQLite file with incremental vacuum; PostgreSQL tables with VACUUM).
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPostgresCheckpointer } from "../src/backends/postgres/index.js";
import { createSqliteCheckpointer } from "../src/backends/sqlite/index.js";
import {
  appendChannel,
  type Checkpointer,
  Command,
  END,
  interrupt,
  lastValue,
  prune,
  START,
  StateGraph,
} from "../src/index.js";

const arg = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const THREADS = Number(arg("threads") ?? 10_000);
const ENGINES = (arg("engine") ?? "sqlite,postgres").split(",");
const TURNS = 33; // 3 checkpoints per turn: about 100 per thread
const LIVE = 8;

function graph(checkpointer: Checkpointer) {
  return new StateGraph({
    log: appendChannel<string>(),
    turns: lastValue<number>(() => 0),
    ask: lastValue<boolean>(() => false),
  })
    .addNode("work", (s) => ({
      log: `turn ${s.turns}: ${"lorem ipsum ".repeat(8)}`,
      turns: s.turns + 1,
    }))
    .addNode("review", (s) => {
      if (!s.ask) return {};
      return { log: `answer ${interrupt<string>("ok?")}`, ask: false };
    })
    .addEdge(START, "work")
    .addEdge("work", "review")
    .addEdge("review", END)
    .compile({ checkpointer });
}

async function seed(checkpointer: Checkpointer): Promise<void> {
  const app = graph(checkpointer);
  const started = Date.now();
  for (let t = 0; t < THREADS; t++) {
    const threadId = `thread-${t}`;
    for (let turn = 0; turn < TURNS; turn++) {
      const ask = t % 7 === 0 && turn === 20;
      const run = await app.invoke({ ask }, { threadId });
      if (run.status === "interrupted" && turn < TURNS - 1)
        await app.invoke(Command.resume("yes"), { threadId });
      // A fork from an older checkpoint on every 5th thread (a second branch head).
      if (t % 5 === 0 && turn === 15) {
        let n = 0;
        for await (const s of app.getStateHistory({ threadId }, { limit: 10 })) {
          if (++n === 10)
            await app.updateState({ threadId, checkpointId: s.checkpointId }, { turns: 1000 });
        }
      }
    }
    if ((t + 1) % 500 === 0)
      console.error(
        `  seeded ${t + 1}/${THREADS} threads (${Math.round((Date.now() - started) / 1000)} s)`,
      );
  }
  for (let i = 0; i < LIVE; i++) await app.invoke({}, { threadId: `live-${i}` });
}

async function storedBytes(
  checkpointer: Checkpointer,
): Promise<{ threads: number; checkpoints: number; bytes: number }> {
  let after: string | undefined;
  const sum = { threads: 0, checkpoints: 0, bytes: 0 };
  for (;;) {
    const page = await checkpointer.door.listThreads({ after, limit: 1000 });
    for (const t of page) {
      sum.threads++;
      sum.checkpoints += t.checkpoints;
      sum.bytes += t.bytes;
    }
    if (page.length < 1000) return sum;
    after = page.at(-1)!.threadId;
  }
}

const p99 = (samples: number[]) =>
  [...samples].sort((a, b) => a - b)[Math.floor(samples.length * 0.99)] ?? 0;

/** Latencies of invokes on the live threads, until `until` settles (or `count` of them). */
async function invokeLatencies(
  checkpointer: Checkpointer,
  until: Promise<unknown> | number,
): Promise<number[]> {
  const app = graph(checkpointer);
  const samples: number[] = [];
  let done = false;
  if (typeof until !== "number") void until.finally(() => (done = true));
  for (let i = 0; typeof until === "number" ? i < until : !done; i++) {
    const started = performance.now();
    await app.invoke({}, { threadId: `live-${i % LIVE}` });
    samples.push(performance.now() - started);
    // An app serves requests from I/O: let the prune's batches (and timers) have their turn.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return samples;
}

async function bench(engine: string, checkpointer: Checkpointer, size: () => Promise<number>) {
  console.error(`${engine}: seeding ${THREADS} threads x ~${TURNS * 3} checkpoints`);
  await seed(checkpointer);
  const before = await storedBytes(checkpointer);
  await checkpointer.door.reclaimSpace();
  const sizeBefore = await size();
  const quiet = await invokeLatencies(checkpointer, 200);
  // The live threads are the app's "other threads": the policy leaves them alone.
  const threads = Object.fromEntries(
    Array.from({ length: LIVE }, (_, i) => [`live-${i}`, { keepLast: 1_000_000 }]),
  );
  const policy = { keepLast: 10, threads };
  const started = performance.now();
  const pruning = prune(checkpointer, policy, {
    dryRun: false,
    reclaimSpace: false,
    signal: new AbortController().signal,
  });
  const busy = await invokeLatencies(checkpointer, pruning);
  const report = await pruning;
  const seconds = (performance.now() - started) / 1000;
  const after = await storedBytes(checkpointer);
  const space = await checkpointer.door.reclaimSpace();
  const sizeAfter = await size();
  const freed = 1 - after.bytes / before.bytes;
  console.log(`\n${engine}, ${THREADS} threads (${before.checkpoints} checkpoints), keep-last-10`);
  console.log(
    `  prune: ${report.total.checkpoints} checkpoints, ${report.total.rows} rows in ${seconds.toFixed(1)} s = ${Math.round(report.total.checkpoints / seconds)} checkpoints/s`,
  );
  console.log(
    `  stored bytes: ${before.bytes} -> ${after.bytes} (${(freed * 100).toFixed(1)}% freed; target >= 85%)`,
  );
  console.log(
    `  invoke p99 on other threads: ${p99(quiet).toFixed(1)} ms without prune, ${p99(busy).toFixed(1)} ms during it (${(p99(busy) / p99(quiet)).toFixed(2)}x, ${busy.length} invokes; target <= 2x)`,
  );
  console.log(`  storage size: ${sizeBefore} -> ${sizeAfter} bytes after ${space.method}`);
  await checkpointer.close();
}

if (ENGINES.includes("sqlite")) {
  const dir = mkdtempSync(join(tmpdir(), "rewind-bench-retention-"));
  const file = join(dir, "bench.sqlite");
  // synchronous=normal: a commit survives a process crash without an fsync per step (seeding).
  const checkpointer = createSqliteCheckpointer(file, { synchronous: "normal" });
  await bench("SQLite", checkpointer, async () => statSync(file).size);
  rmSync(dir, { recursive: true, force: true });
}
if (ENGINES.includes("postgres")) {
  const url = process.env.REWIND_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const schema = `rewind_bench_retention_${process.pid}`;
  const checkpointer = createPostgresCheckpointer(url, { schema });
  const tables = ["rewind_checkpoints", "rewind_blobs", "rewind_writes", "rewind_heads"];
  const size = async () => {
    const { PostgresClient } = await import("../src/backends/postgres/postgres-client.js");
    const client = new PostgresClient(url, {}, "bench");
    const sql = tables.map((t) => `pg_total_relation_size('"${schema}".${t}')`).join(" + ");
    const { rows } = await client.query(`SELECT (${sql})::bigint AS n`, [], false);
    await client.close();
    return Number(rows[0].n);
  };
  await bench("PostgreSQL", checkpointer, size);
  const { PostgresClient } = await import("../src/backends/postgres/postgres-client.js");
  const client = new PostgresClient(url, {}, "bench");
  await client.query(`DROP SCHEMA "${schema}" CASCADE`, [], false);
  await client.close();
}
