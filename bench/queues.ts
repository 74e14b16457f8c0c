/**
 * The two PostgreSQL job queues Rewind's workers could sit on, measured side by side in one run
 * on the same server: pg-boss and graphile-worker. For each: enqueue-to-start latency (one job
 * at a time, p50/p99) and throughput (a backlog of jobs drained by one process with 8 concurrent
 * handlers, jobs/s). `npx tsx bench/queues.ts [--jobs N] [--samples N]`.
 */
import { makeWorkerUtils, run } from "graphile-worker";
import pg from "pg";
import { PgBoss } from "pg-boss";

const url = process.env.REWIND_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const JOBS = arg("jobs", 2000);
const SAMPLES = arg("samples", 100);
const CONCURRENCY = 8;

interface Queue {
  name: string;
  /** Enqueues one job; resolves when enqueued. */
  send(data: { at: number }): Promise<void>;
  /** Enqueues `count` jobs in bulk. */
  sendMany(count: number): Promise<void>;
  /** Starts handling; `onJob` is called at each job's start. */
  work(onJob: (data: { at: number }) => void): Promise<void>;
  stop(): Promise<void>;
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

async function pgBoss(): Promise<Queue> {
  const schema = "rewind_bench_pgboss";
  await dropSchema(schema);
  const boss = new PgBoss({ connectionString: url, schema, useListenNotify: true, max: 10 });
  boss.on("error", () => undefined);
  await boss.start();
  await boss.createQueue("q", { notify: true } as never);
  return {
    name: "pg-boss 12",
    send: async (data) => void (await boss.send("q", data)),
    sendMany: async (count) => {
      for (let i = 0; i < count; i += 500)
        await boss.insert(
          "q",
          Array.from({ length: Math.min(500, count - i) }, () => ({ data: { at: 0 } })),
        );
    },
    work: async (onJob) => {
      await boss.work(
        "q",
        {
          localConcurrency: CONCURRENCY,
          pollingIntervalSeconds: 0.5,
          batchSize: 20,
          burstWhenBatchFull: true,
        },
        async (jobs) => {
          for (const job of jobs) onJob(job.data as { at: number });
        },
      );
    },
    stop: () => boss.stop({ graceful: false }),
  };
}

async function graphileWorker(): Promise<Queue> {
  const schema = "rewind_bench_graphile";
  await dropSchema(schema);
  const utils = await makeWorkerUtils({ connectionString: url, schema });
  await utils.migrate();
  let runner: Awaited<ReturnType<typeof run>> | undefined;
  return {
    name: "graphile-worker 0.17",
    send: async (data) => void (await utils.addJob("q", data)),
    sendMany: async (count) => {
      for (let i = 0; i < count; i += 500)
        await utils.addJobs(
          Array.from({ length: Math.min(500, count - i) }, () => ({
            identifier: "q",
            payload: { at: 0 },
          })),
        );
    },
    work: async (onJob) => {
      runner = await run({
        connectionString: url,
        schema,
        concurrency: CONCURRENCY,
        pollInterval: 500,
        noHandleSignals: true,
        logger: new (await import("graphile-worker")).Logger(() => () => undefined),
        taskList: { q: async (payload) => onJob(payload as { at: number }) },
      });
    },
    stop: async () => {
      await runner?.stop();
      await utils.release();
    },
  };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function measure(make: () => Promise<Queue>) {
  const q = await make();
  let waiting: ((at: number) => void) | undefined;
  let done = 0;
  let drained: (() => void) | undefined;
  await q.work((data) => {
    if (data.at > 0) waiting?.(data.at);
    else if (++done === JOBS) drained?.();
  });
  const latencies: number[] = [];
  for (let i = 0; i < SAMPLES + 5; i++) {
    const started = new Promise<number>((resolve) => {
      waiting = resolve;
    });
    const at = performance.now();
    await q.send({ at });
    await started;
    if (i >= 5) latencies.push(performance.now() - at);
  }
  latencies.sort((a, b) => a - b);
  const all = new Promise<void>((resolve) => {
    drained = resolve;
  });
  const t0 = performance.now();
  await q.sendMany(JOBS);
  await all;
  const seconds = (performance.now() - t0) / 1000;
  await q.stop();
  return {
    queue: q.name,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    jobsPerSecond: JOBS / seconds,
  };
}

const rows = [await measure(pgBoss), await measure(graphileWorker)];
console.log(
  `enqueue->start over ${SAMPLES} single jobs; throughput: ${JOBS} jobs, ${CONCURRENCY} handlers`,
);
for (const r of rows)
  console.log(
    `${r.queue.padEnd(22)} p50 ${r.p50.toFixed(1).padStart(7)} ms  p99 ${r.p99.toFixed(1).padStart(7)} ms  ${r.jobsPerSecond.toFixed(0).padStart(6)} jobs/s (enqueue + drain)`,
  );
process.exit(0);
