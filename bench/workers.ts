/**
 * `npm run bench:workers`: runs of the 10-node linear graph through 1, 2, 4 and 8 worker
 * processes on one PostgreSQL server (runs/s, super-steps/s, enqueue-to-start p50/p99 on the
 * server's clock), the recovery time after SIGKILLing the worker holding a run, and, in the same
 * run, the queue's raw job throughput (pg-boss, no-op jobs) and the server's raw transactions/s
 * (one-row inserts from 8 connections), as ceilings, all on a throwaway cluster the bench
 * starts (port 55491). `--runs N` runs per worker count;
 * `--processes 1,4` only these worker counts.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { PgBoss } from "pg-boss";
import { createRunClient } from "../src/worker/index.js";
import { startCluster } from "../test/worker/throwaway-cluster.js";
import { NODES } from "./workloads.js";

// A cluster of its own (fsync on), so that 8 workers' connections never crowd a shared server.
const cluster = startCluster(55491, { fsync: true });
const url = cluster.url;
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg("runs", 200);
const countsArg = process.argv.indexOf("--processes");
const COUNTS = countsArg > 0 ? process.argv[countsArg + 1]!.split(",").map(Number) : [1, 2, 4, 8];
const TTL = 5_000;
const WORKER = new URL("./workers-process.ts", import.meta.url).pathname;
const admin = new pg.Pool({ connectionString: url, max: 10 });
const schemas: string[] = [];
const fresh = (prefix: string) => {
  const s = `${prefix}_${randomBytes(4).toString("hex")}`;
  schemas.push(s, `${s}_queue`);
  return s;
};
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

/** Raw ceiling: one-row insert transactions from 8 connections for 3 s. */
async function rawTransactions(): Promise<number> {
  const schema = fresh("rewind_bench_raw");
  await admin.query(
    `CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.t (id bigserial primary key, v text)`,
  );
  let count = 0;
  const until = performance.now() + 3_000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      const c = await admin.connect();
      try {
        while (performance.now() < until) {
          await c.query(`INSERT INTO ${schema}.t (v) VALUES ($1)`, ["x".repeat(200)]);
          count++;
        }
      } finally {
        c.release();
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

/** Raw queue ceiling: no-op pg-boss jobs drained by 8 handlers in one process. */
async function rawQueue(jobs = 2000): Promise<number> {
  const boss = new PgBoss({ connectionString: url, schema: fresh("rewind_bench_boss"), max: 10 });
  boss.on("error", () => undefined);
  await boss.start();
  await boss.createQueue("q");
  let done = 0;
  let drained!: () => void;
  const all = new Promise<void>((r) => {
    drained = r;
  });
  await boss.work(
    "q",
    { localConcurrency: 8, batchSize: 20, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
    async (batch) => {
      done += batch.length;
      if (done >= jobs) drained();
    },
  );
  const t0 = performance.now();
  for (let i = 0; i < jobs; i += 500)
    await boss.insert(
      "q",
      Array.from({ length: Math.min(500, jobs - i) }, () => ({ data: {} })),
    );
  await all;
  const rate = jobs / ((performance.now() - t0) / 1000);
  await boss.stop({ graceful: false });
  return rate;
}

type Storage = "postgres" | "memory";

function startWorker(schema: string, storage: Storage) {
  // BENCH_WORKER_CPU_PROF=dir writes each worker process's CPU profile there (at its SIGTERM).
  const prof = process.env.BENCH_WORKER_CPU_PROF;
  const flags = prof ? ["--cpu-prof", "--cpu-prof-dir", prof] : [];
  const child = spawn(
    process.execPath,
    [...flags, "--import", "tsx", WORKER, url, schema, String(TTL), storage],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d) => String(d).includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`worker exited ${code}`)));
  });
  return { child, ready };
}

async function throughput(processes: number, storage: Storage = "postgres") {
  const schema = fresh("rewind_bench_wk");
  // The first process migrates; the others start once it is ready.
  const first = startWorker(schema, storage);
  await first.ready;
  const rest = Array.from({ length: processes - 1 }, () => startWorker(schema, storage));
  await Promise.all(rest.map((w) => w.ready));
  const children = [first, ...rest];
  const client = await createRunClient({ database: url, schema: `${schema}_queue` });
  const t0 = performance.now();
  // Submitted side by side (a submission is a transaction of its own), as a fleet's clients would.
  const handles = await Promise.all(
    Array.from({ length: RUNS }, (_, i) => client.submit("linear", {}, { threadId: `r${i}` })),
  );
  await Promise.all(handles.map((h) => h.result()));
  const seconds = (performance.now() - t0) / 1000;
  const job = `"${schema}_queue".job WHERE name = 'rewind-runs'`;
  const { rows } = await admin.query(
    `SELECT extract(epoch from (started_on - created_on)) * 1000 AS ms FROM ${job}`,
  );
  const latencies = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
  // The workers' own window on the server's clock: first start to last completion.
  const { rows: window } = await admin.query(
    `SELECT extract(epoch from (max(completed_on) - min(started_on))) AS s FROM ${job}`,
  );
  const busySeconds = Number(window[0].s);
  let recovery: number | undefined;
  if (processes >= 2 && storage === "postgres")
    recovery = await killAndRecover(schema, client, children);
  await client.close();
  const alive = children.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  const exited = alive.map((w) => new Promise((r) => w.child.once("exit", r)));
  for (const w of alive) w.child.kill("SIGTERM");
  await Promise.all(exited);
  return {
    processes,
    runsPerSecond: RUNS / seconds,
    stepsPerSecond: (RUNS * NODES) / seconds,
    busyStepsPerSecond: (RUNS * NODES) / busySeconds,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    recovery,
  };
}

/** SIGKILLs the process holding a slow run; ms (server clock) until the run restarted elsewhere. */
async function killAndRecover(
  schema: string,
  client: Awaited<ReturnType<typeof createRunClient>>,
  children: { child: ReturnType<typeof spawn> }[],
): Promise<number> {
  const run = await client.submit("slow", { ms: 3_000 }, { threadId: "victim" });
  let pid: number | undefined;
  while (pid === undefined) {
    const { rows } = await admin.query(
      `SELECT lease_pid FROM "${schema}".rewind_threads WHERE thread_id = 'victim' AND lease_expires_at IS NOT NULL`,
    );
    pid = rows[0]?.lease_pid ?? undefined;
    if (pid === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  const victim = children.find((c) => c.child.pid === pid)!;
  const { rows: now } = await admin.query(
    "SELECT extract(epoch from clock_timestamp()) * 1000 AS t",
  );
  victim.child.kill("SIGKILL");
  await run.result();
  const { rows } = await admin.query(
    `SELECT extract(epoch from started_on) * 1000 AS t FROM "${schema}_queue".job WHERE id = $1`,
    [run.id],
  );
  return Number(rows[0].t) - Number(now[0].t);
}

const raw = await rawTransactions();
const queue = await rawQueue();
const rows: Awaited<ReturnType<typeof throughput>>[] = [];
for (const n of COUNTS) rows.push(await throughput(n));
// The ceiling of the ratio with this queue on this machine: the same runs with checkpoints kept
// in each worker's memory (no checkpoint, lease or history reaches PostgreSQL; only the queue's
// claims and completions do), at the largest worker count.
const ceiling = await throughput(Math.max(...COUNTS), "memory");
console.log(`raw PostgreSQL: ${raw.toFixed(0)} one-row insert transactions/s (8 connections)`);
console.log(`raw pg-boss:    ${queue.toFixed(0)} no-op jobs/s (8 handlers, one process)`);
console.log(`${RUNS} runs of the ${NODES}-node graph per row; 4 runs at once per worker process`);
const line = (r: (typeof rows)[number], label = "") =>
  console.log(
    `${String(r.processes).padStart(2)} workers${label}: ${r.runsPerSecond.toFixed(1).padStart(6)} runs/s ${r.stepsPerSecond.toFixed(0).padStart(6)} super-steps/s (${((100 * r.stepsPerSecond) / raw).toFixed(0)}% of raw tx/s; ${r.busyStepsPerSecond.toFixed(0)} = ${((100 * r.busyStepsPerSecond) / raw).toFixed(0)}% first start to last completion)  enqueue->start p50 ${r.p50.toFixed(0)} ms p99 ${r.p99.toFixed(0)} ms${r.recovery === undefined ? "" : `  recovery after SIGKILL ${r.recovery.toFixed(0)} ms`}`,
  );
for (const r of rows) line(r);
line(ceiling, ", checkpoints in memory (ceiling)");
await admin.end();
cluster.stop();
process.exit(0);
