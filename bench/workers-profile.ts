/**
 * `npx tsx bench/workers-profile.ts [--runs N]`: where a worker's time goes, on a throwaway
 * cluster (port 55492, fsync on) with everything in this one process: the run's timeline on the
 * server's clock (enqueue to start, start to completion, against the same run invoked directly;
 * how busy the worker's slots were; enqueue to start on an idle worker), and super-steps/s at 4 and 8 runs at once against one-row insert transactions/s at
 * the same number of connections. For a CPU profile of a worker, run `bench:workers` with
 * `BENCH_WORKER_CPU_PROF=dir`.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { createPostgresCheckpointer } from "../src/backends/postgres/index.js";
import { createRunClient, createWorker } from "../src/worker/index.js";
import { startCluster } from "../test/worker/throwaway-cluster.js";
import { linearGraph, NODES, noCheckpointing } from "./workloads.js";

const cluster = startCluster(55492, { fsync: true });
const url = cluster.url;
const i = process.argv.indexOf("--runs");
const RUNS = i > 0 ? Number(process.argv[i + 1]) : 200;
const admin = new pg.Pool({ connectionString: url, max: 10 });
const fresh = (prefix: string) => `${prefix}_${randomBytes(4).toString("hex")}`;

async function rawInserts(connections: number, count: number) {
  const schema = fresh("raw");
  await admin.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.t (id bigserial, v text)`);
  const t0 = performance.now();
  let left = count;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = await admin.connect();
      try {
        while (left-- > 0)
          await c.query(`INSERT INTO ${schema}.t (v) VALUES ($1)`, ["x".repeat(200)]);
      } finally {
        c.release();
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: count / seconds };
}

/**
 * The runs invoked directly, `concurrency` at once: super-steps/s, the median run, and this
 * process's CPU (user and system time) per super-step; with `stored: false`, the same graph on
 * a checkpointer that stores nothing (the runtime's own share of that CPU).
 */
async function direct(concurrency: number, stored = true) {
  const checkpointer = stored
    ? createPostgresCheckpointer(url, { schema: fresh("direct"), maxConnections: concurrency + 2 })
    : noCheckpointing();
  const app = linearGraph(checkpointer);
  for (let w = 0; w < 40; w++) await app.invoke({}, { threadId: `warm${w}` });
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const durations: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < RUNS) {
        const r = next++;
        const s = performance.now();
        await app.invoke({}, { threadId: `t${r}` });
        durations.push(performance.now() - s);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  await checkpointer.close();
  return {
    stepsPerSecond: (RUNS * NODES) / seconds,
    runMs: median(durations),
    cpuMsPerStep: (used.user + used.system) / 1000 / (RUNS * NODES),
  };
}

async function viaWorker(concurrency: number) {
  const schema = fresh("wk");
  const checkpointer = createPostgresCheckpointer(url, { schema, maxConnections: concurrency + 2 });
  const app = linearGraph(checkpointer);
  const queue = `${schema}_queue`;
  const worker = await createWorker({
    database: url,
    schema: queue,
    graphs: { linear: app },
    concurrency,
    pollIntervalMs: 500,
  });
  const client = await createRunClient({ database: url, schema: queue });
  await (await client.submit("linear", {}, { threadId: "warm" })).result();
  const t0 = performance.now();
  const handles = [];
  for (let r = 0; r < RUNS; r++)
    handles.push(await client.submit("linear", {}, { threadId: `t${r}` }));
  const submitted = performance.now() - t0;
  await Promise.all(handles.map((h) => h.result()));
  const seconds = (performance.now() - t0) / 1000;
  const jobs = `"${queue}".job WHERE name = 'rewind-runs' AND data->>'threadId' <> 'warm'`;
  const { rows } = await admin.query(
    `SELECT extract(epoch from (started_on - created_on)) * 1000 AS wait,
            extract(epoch from (completed_on - started_on)) * 1000 AS run FROM ${jobs}`,
  );
  // Slots busy: the runs' time over the window first start to last completion, times the slots.
  const { rows: busy } = await admin.query(
    `SELECT sum(extract(epoch from (completed_on - started_on)))
            / extract(epoch from (max(completed_on) - min(started_on))) AS busy FROM ${jobs}`,
  );
  // An idle worker: one run at a time, each submitted once the previous one finished.
  const idle: number[] = [];
  for (let r = 0; r < 20; r++) {
    const h = await client.submit("linear", {}, { threadId: `idle${r}` });
    await h.result();
    const { rows: one } = await admin.query(
      `SELECT extract(epoch from (started_on - created_on)) * 1000 AS wait FROM "${queue}".job WHERE id = $1`,
      [h.id],
    );
    idle.push(Number(one[0].wait));
  }
  await client.close();
  await worker.stop();
  await checkpointer.close();
  return {
    stepsPerSecond: (RUNS * NODES) / seconds,
    submitMs: submitted,
    waitMs: median(rows.map((r) => Number(r.wait))),
    runMs: median(rows.map((r) => Number(r.run))),
    slotsBusy: Number(busy[0].busy) / concurrency,
    idleWaitMs: median(idle),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const f = (n: number) => n.toFixed(1);
for (const c of [4, 8]) {
  const raw = await rawInserts(c, RUNS * NODES);
  const d = await direct(c);
  const alone = await direct(c, false);
  const w = await viaWorker(c);
  console.log(`${c} at once, ${RUNS} runs of ${NODES} nodes:`);
  console.log(`  raw one-row inserts: ${f(raw.perSecond)} tx/s`);
  console.log(
    `  invoke directly:     ${f(d.stepsPerSecond)} steps/s (${f((100 * d.stepsPerSecond) / raw.perSecond)}% of raw), run ${f(d.runMs)} ms, this process's CPU ${d.cpuMsPerStep.toFixed(3)} ms per super-step (${alone.cpuMsPerStep.toFixed(3)} ms storing nothing)`,
  );
  console.log(
    `  through a worker:    ${f(w.stepsPerSecond)} steps/s (${f((100 * w.stepsPerSecond) / raw.perSecond)}% of raw), submit all ${f(w.submitMs)} ms, enqueue->start p50 ${f(w.waitMs)} ms, start->complete p50 ${f(w.runMs)} ms, slots busy ${f(100 * w.slotsBusy)}%, idle worker enqueue->start p50 ${f(w.idleWaitMs)} ms`,
  );
}
await admin.end();
cluster.stop();
process.exit(0);
