/**
 * Chaos: worker processes on a throwaway PostgreSQL cluster (port 55490 or the next free one,
 * started by the test) run many threads of turns, some pausing for a human whom a driver process
 * answers, while a chaos loop SIGKILLs workers (and starts replacements), terminates every database
 * connection, and restarts the cluster. Every run must end exactly once, completed; every thread
 * must hold each of its turns once, in order, with each node's output once per turn and each answer
 * once; no finished task may run again and the recorded side effect must be called once per turn
 * (both counted outside the checkpoint store: chaos-audit.ts); and each killed worker's runs must
 * be continued by another worker within the takeover bound, on the server's clock. Smoke size here;
 * REWIND_SOAK=1 runs 8 workers and a few hundred runs.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { createRunClient, type RunOutcome } from "../../src/worker/index.js";
import { nodeArgs } from "../support/ts-entry.js";
import { AUDIT, auditSetup, CALLED_AFTER_RECORDED, REDONE } from "./chaos-audit.js";
import { type Cluster, clusterUnavailable, startCluster } from "./throwaway-cluster.js";
import { expectedSeen, turnGraph } from "./worker-graph.js";
import { startWorker, type WorkerChild } from "./worker-spawn.js";

const SOAK = process.env.REWIND_SOAK === "1";
const WORKERS = SOAK ? 8 : 3;
const THREADS = SOAK ? 60 : 8;
const TURNS = SOAK ? 4 : 3;
const SLOW_MS = SOAK ? 300 : 700;
const RESTARTS = SOAK ? 3 : 1;
// The cluster takes the next free port when this one is held (another checkout, a client socket);
// REWIND_CHAOS_PORT moves where it starts looking.
const PORT = Number(process.env.REWIND_CHAOS_PORT ?? 55490);
const TTL = 2_000;
/** The workers' recovery look and idle polling (worker-process.ts). */
const RECOVERY_MS = 250;
const POLL_MS = 500;
/**
 * The takeover bound: a killed worker's run continues elsewhere once its lease has expired
 * (TTL; on one machine recovery sees the holder is gone sooner) and a recovery look has seen
 * it, then the retried job is claimed at the next poll. The slack is generous on purpose: the
 * chaos loop may restart the cluster or cut every connection inside that window (a restart
 * alone takes seconds on a loaded machine), and the bound is a property of the system, read
 * from the server's timestamps, not a measure of this machine's speed.
 */
const TAKEOVER_BOUND_MS = TTL + RECOVERY_MS + POLL_MS + 15_000;
const DRIVER = new URL("./chaos-driver.ts", import.meta.url).pathname;
const why = clusterUnavailable();

describe.skipIf(why !== "")(
  `chaos on a throwaway cluster${why ? ` (skipped: ${why})` : ""}`,
  () => {
    let cluster: Cluster | undefined;
    const workers: WorkerChild[] = [];
    const dir = mkdtempSync(join(tmpdir(), "rewind-chaos-"));
    afterAll(() => {
      for (const w of workers) w.child.kill("SIGKILL");
      cluster?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it(`${WORKERS} workers, ${THREADS * TURNS} turns on ${THREADS} threads, kills, cut connections and ${RESTARTS} restart(s)`, async () => {
      cluster = startCluster(PORT);
      const url = cluster.url;
      const schema = "chaos";
      const admin = new pg.Pool({ connectionString: url, max: 2 });
      admin.on("error", () => undefined);
      // The store is migrated first, so that the audit's triggers can sit on its tables.
      const checkpointer = createPostgresCheckpointer(url, { schema });
      const app = turnGraph(checkpointer);
      await app.getState({ threadId: "migrate" });
      await admin.query(auditSetup(schema));

      const spawnWorker = () => {
        const w = startWorker(url, schema, TTL, true);
        workers.push(w);
        return w;
      };
      for (let i = 0; i < WORKERS; i++) spawnWorker();
      await Promise.all(workers.map((w) => w.ready));
      const client = await createRunClient({ database: url, schema: `${schema}_queue` });
      const threads = Array.from({ length: THREADS }, (_, t) => `thread-${t}`);
      const asks = new Set(threads.filter((_, t) => t % 2 === 0));
      const turnsOf = (thread: string) => Array.from({ length: TURNS }, (_, i) => `${thread}/${i}`);

      // Every turn is submitted before the chaos starts; one thread's turns run in this order.
      const runs: { thread: string; last: boolean; id: string }[] = [];
      for (const thread of threads)
        for (const [i, turn] of turnsOf(thread).entries()) {
          const last = i === TURNS - 1;
          const input = { turns: turn, slowMs: SLOW_MS, ask: last && asks.has(thread) };
          const { id } = await client.submit("turns", input, { threadId: thread });
          runs.push({ thread, last, id });
        }

      // The driver, a process of its own, waits for every run and answers each pause.
      const runsFile = join(dir, "runs.json");
      writeFileSync(runsFile, JSON.stringify(runs.map(({ id, thread }) => ({ id, thread }))));
      const driver = spawn(process.execPath, nodeArgs(DRIVER, url, `${schema}_queue`, runsFile), {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let driverOut = "";
      let driverErr = "";
      driver.stdout!.on("data", (d) => (driverOut += d));
      driver.stderr!.on("data", (d) => (driverErr += d));
      const driverDone = new Promise<number | null>((r) => driver.once("exit", r));

      let chaosOn = true;
      const done = { kills: 0, cuts: 0, restarts: 0 };
      // Each kill: the victim's pid, the server's time just before, and the threads it held.
      const kills: { pid: number; at: number; jobs: { id: string; thread: string }[] }[] = [];
      const chaos = (async () => {
        for (let round = 0; chaosOn; round++) {
          await sleep(round === 0 ? 300 : 600 + Math.random() * 600);
          if (!chaosOn) break;
          // Rounds go kill, restart, cut, then again (while restarts remain).
          const action = [0, 2, 1][round % 3]!;
          if (action === 0) {
            // A worker that is claiming is killed, and its replacement is waited for: the bound
            // is about other workers continuing a dead one's runs, so some must be up.
            // One holding a run is preferred, so that there is a run to take over.
            const up = workers.filter((w) => w.up && w.child.exitCode === null);
            const holding = await holders(admin, schema);
            const busy = up.filter((w) => holding.has(w.child.pid!));
            const pool = busy.length > 0 ? busy : up;
            const victim = pool[Math.floor(Math.random() * pool.length)];
            const held = victim ? await heldBy(admin, schema, victim.child.pid!) : undefined;
            victim?.child.kill("SIGKILL");
            if (victim && held) kills.push({ pid: victim.child.pid!, ...held });
            done.kills++;
            await spawnWorker().ready.catch(() => undefined);
          } else if (action === 1) {
            await terminateConnections(url).then(
              () => done.cuts++,
              () => undefined,
            );
          } else if (done.restarts < RESTARTS) {
            done.restarts++;
            cluster!.restart(Math.random() < 0.5 ? "fast" : "immediate");
          }
          // Workers that died on their own (say, starting while the cluster restarted) are replaced.
          const alive = workers.filter(
            (w) => w.child.exitCode === null && w.child.signalCode === null,
          );
          for (let i = alive.length; i < WORKERS; i++) spawnWorker();
        }
      })();

      const code = await driverDone;
      chaosOn = false;
      await chaos;
      expect(code, driverErr).toBe(0);
      const outcomes = JSON.parse(driverOut) as RunOutcome[];

      for (const [i, run] of runs.entries()) {
        const outcome = outcomes[i]!;
        expect(outcome.status, run.thread).toBe("done");
        if (run.last) {
          const turns = turnsOf(run.thread);
          expect(outcome.values.turns, run.thread).toEqual(turns);
          expect(outcome.values.seen, run.thread).toEqual(expectedSeen(turns));
          expect(outcome.values.answers, run.thread).toEqual(
            asks.has(run.thread) ? [`ok:${run.thread}`] : [],
          );
          expect(outcome.values.receipts, run.thread).toEqual(turns.map((t) => `receipt:${t}`));
        }
      }
      // What the database holds agrees, and every job ended exactly once, completed.
      for (const thread of threads) {
        const state = await app.getState({ threadId: thread });
        expect(state?.values.turns, thread).toEqual(turnsOf(thread));
        expect(state?.values.seen, thread).toEqual(expectedSeen(turnsOf(thread)));
      }
      await checkpointer.close();
      const jobs = await client.list({ limit: 100_000 });
      expect(jobs.length).toBe(THREADS * TURNS + asks.size);
      expect(jobs.filter((j) => j.state !== "completed")).toEqual([]);

      // No finished task ran again, no recorded effect was called again, and each turn was
      // delivered once (a call cut off before its outcome was recorded may be made again).
      expect((await admin.query(REDONE)).rows).toEqual([]);
      expect((await admin.query(CALLED_AFTER_RECORDED)).rows).toEqual([]);
      const { rows: calls } = await admin.query(
        `SELECT count(*)::int AS n FROM ${AUDIT}.deliveries`,
      );
      expect(calls[0].n).toBe(THREADS * TURNS);

      // Each killed worker's runs went on in another process within the bound: the first sign,
      // on the server's clock, of a node of the thread starting in another process, or of the
      // job completing (a run killed after its last step has no node left to run).
      const takeovers: number[] = [];
      for (const kill of kills)
        for (const job of kill.jobs) {
          const { rows } = await admin.query(
            `SELECT extract(epoch FROM completed_on) * 1000 AS completed,
                    extract(epoch FROM least(completed_on,
                      (SELECT min(at) FROM ${AUDIT}.executions WHERE thread_id = $2 AND pid <> $3
                         AND at > to_timestamp($4 / 1000.0)))) * 1000 AS t
               FROM "${schema}_queue".job WHERE id = $1`,
            [job.id, job.thread, kill.pid, kill.at],
          );
          // Completed by the victim itself between the look and the kill: nothing to take over.
          if (Number(rows[0].completed) <= kill.at) continue;
          takeovers.push(Number(rows[0].t) - kill.at);
        }
      const retried = jobs.filter((j) => j.retries > 0).length;
      const slowest = Math.max(0, ...takeovers).toFixed(0);
      console.log(
        `chaos: ${JSON.stringify(done)}, ${jobs.length} runs, ${retried} retried, ${takeovers.length} runs taken over after ${kills.length} timed kills (${kills.map((k) => k.jobs.length).join(",")}), slowest in ${slowest} ms (bound ${TAKEOVER_BOUND_MS} ms)`,
      );
      expect(takeovers.length, "kills that hit a running run").toBeGreaterThan(0);
      expect(takeovers.filter((ms) => ms > TAKEOVER_BOUND_MS)).toEqual([]);
      await client.close();
      await admin.end();
    }, 600_000);
  },
);

/** The pids holding a live lease. */
async function holders(admin: pg.Pool, schema: string): Promise<Set<number>> {
  const { rows } = await admin
    .query(
      `SELECT DISTINCT lease_pid FROM ${schema}.rewind_threads
        WHERE lease_expires_at > extract(epoch FROM clock_timestamp()) * 1000`,
    )
    .catch(() => ({ rows: [] as { lease_pid: number }[] }));
  return new Set(rows.map((r) => Number(r.lease_pid)));
}

/** The server's time now and the running jobs whose thread's live lease `pid` holds. */
async function heldBy(
  admin: pg.Pool,
  schema: string,
  pid: number,
): Promise<{ at: number; jobs: { id: string; thread: string }[] } | undefined> {
  try {
    const { rows } = await admin.query(
      `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS at, array(
         SELECT json_build_object('id', j.id, 'thread', j.data->>'threadId')
           FROM "${schema}_queue".job j JOIN ${schema}.rewind_threads t
             ON t.thread_id = j.data->>'threadId'
          WHERE j.state = 'active' AND t.lease_pid = $1
            AND t.lease_expires_at > extract(epoch FROM clock_timestamp()) * 1000) AS jobs`,
      [pid],
    );
    return { at: Number(rows[0].at), jobs: rows[0].jobs };
  } catch {
    return undefined; // the cluster is restarting: this kill is not timed
  }
}

async function terminateConnections(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  admin.on("error", () => undefined);
  await admin.connect();
  try {
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
    );
  } finally {
    await admin.end().catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
