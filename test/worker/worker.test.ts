/**
 * Runs through the workers on a real PostgreSQL server: submit and wait, pause for a human and
 * resume, submission order on one thread, cancel and list, the per-tenant cap, bad input, and a
 * worker process SIGKILLed mid-run whose run another worker process continues.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { Command, InvalidInputError, ThreadBusyError } from "../../src/index.js";
import {
  createRunClient,
  createWorker,
  type RunClient,
  RunFailedError,
  type Worker,
  type WorkerOptions,
} from "../../src/worker/index.js";
import { openQueue, RUN_QUEUE } from "../../src/worker/worker-queue.js";
import { recoverOnce } from "../../src/worker/worker-recovery.js";
import { adminPool, freshSchema, PG_SERIAL_ONLY, PG_URL } from "../support/postgres.js";
import { expectedSeen, failing, maxByTenant, turnGraph } from "./worker-graph.js";
import { startWorker } from "./worker-spawn.js";

describe.skipIf(PG_SERIAL_ONLY !== "")(
  `workers on PostgreSQL${PG_SERIAL_ONLY ? ` (skipped: ${PG_SERIAL_ONLY})` : ""}`,
  () => {
    const schema = freshSchema("rewind_wk");
    const queue = `${schema}_queue`;
    const checkpointer = createPostgresCheckpointer(PG_URL, { schema });
    const app = turnGraph(checkpointer);
    let worker: Worker;
    let client: RunClient;

    beforeAll(async () => {
      worker = await createWorker({
        database: PG_URL,
        schema: queue,
        graphs: { turns: app },
        concurrency: 4,
        tenantConcurrency: 1,
        pollIntervalMs: 500,
      });
      client = await createRunClient({ database: PG_URL, schema: queue });
    });
    afterAll(async () => {
      await client?.close();
      await worker?.stop();
      await checkpointer.close();
      await adminPool().query(`DROP SCHEMA IF EXISTS "${queue}" CASCADE`);
    });

    /** Holds `thread`'s lease as another owner would, so that a run on it waits. */
    async function heldThread(thread: string, ttlMs: number) {
      const blocker = await checkpointer.acquireLease(thread, "blocker", ttlMs);
      expect(blocker).toBeDefined();
      return blocker!;
    }

    /** Another in-process worker on this file's queue, with `extra` options. */
    const anotherWorker = (extra: Partial<WorkerOptions> = {}) =>
      createWorker({
        database: PG_URL,
        schema: queue,
        graphs: { turns: app },
        pollIntervalMs: 500,
        ...extra,
      });

    it("runs a submitted turn to its end and lists it", async () => {
      const run = await client.submit("turns", { turns: "t1" }, { threadId: "one" });
      const outcome = await run.result();
      expect(outcome.status).toBe("done");
      expect(outcome.values.seen).toEqual(expectedSeen(["t1"]));
      expect(await run.state()).toBe("completed");
      const listed = await client.list({ threadId: "one" });
      expect(listed.map((r) => [r.id, r.state, r.graph])).toEqual([[run.id, "completed", "turns"]]);
    });

    it("resolves when the run pauses for a human, and a submitted answer resumes it", async () => {
      const paused = await (
        await client.submit("turns", { turns: "t1", ask: true }, { threadId: "ask" })
      ).result();
      expect(paused.status).toBe("interrupted");
      expect(paused.interrupts.map((i) => i.value)).toEqual([{ approve: "t1" }]);
      const done = await (
        await client.submit("turns", Command.resume("yes"), { threadId: "ask" })
      ).result();
      expect(done.status).toBe("done");
      expect(done.values.answers).toEqual(["yes"]);
      expect(done.values.seen).toEqual(expectedSeen(["t1"]));
    });

    it("keeps one thread's runs in submission order", async () => {
      const turns = ["a", "b", "c", "d", "e", "f"];
      const runs = [];
      for (const t of turns)
        runs.push(await client.submit("turns", { turns: t }, { threadId: "order" }));
      const outcomes = await Promise.all(runs.map((r) => r.result()));
      expect(outcomes.at(-1)!.values.turns).toEqual(turns);
      expect(outcomes.at(-1)!.values.seen).toEqual(expectedSeen(turns));
      // Each run saw exactly the turns submitted before it.
      expect(outcomes.map((o) => o.values.turns)).toEqual(
        turns.map((_, i) => turns.slice(0, i + 1)),
      );
    });

    it("caps a tenant's concurrent runs while another tenant's runs go through", async () => {
      const big = [];
      for (let i = 0; i < 4; i++)
        big.push(
          await client.submit(
            "turns",
            { turns: "x", slowMs: 300, tenant: "big" },
            {
              threadId: `big-${i}`,
              tenantId: "big",
            },
          ),
        );
      const small = await client.submit(
        "turns",
        { turns: "y", tenant: "small" },
        {
          threadId: "small-0",
          tenantId: "small",
        },
      );
      await small.result();
      const bigStates = await Promise.all(big.map((r) => r.state()));
      // The small tenant finished while the big tenant's runs still waited their turn.
      expect(bigStates.filter((s) => s !== "completed").length).toBeGreaterThan(0);
      await Promise.all(big.map((r) => r.result()));
      expect(maxByTenant.get("big")).toBe(1);
    });

    it("cancels a run not yet started; its result says so", async () => {
      const later = await client.submit(
        "turns",
        { turns: "z" },
        {
          threadId: "later",
          runAt: new Date(Date.now() + 3_600_000),
        },
      );
      expect(await later.cancel()).toBe(true);
      await expect(later.result()).rejects.toBeInstanceOf(RunFailedError);
      expect(await later.state()).toBe("cancelled");
    });

    it("result() with a timeout says the run is still waiting; waits on one run end together", async () => {
      const later = await client.submit(
        "turns",
        { turns: "w" },
        { threadId: "waited", runAt: new Date(Date.now() + 3_600_000) },
      );
      const waited = later.result({ timeoutMs: 300 });
      await expect(waited).rejects.toBeInstanceOf(RunFailedError);
      await expect(waited).rejects.toThrow(/still created after 300 ms/);
      // Two waits on the same run (through two handles) both learn that it was cancelled.
      const both = [later.result(), client.handle(later.id).result()].map((p) =>
        p.then(
          () => "resolved",
          (error: unknown) => (error instanceof RunFailedError ? error.message : String(error)),
        ),
      );
      expect(await later.cancel()).toBe(true);
      for (const message of await Promise.all(both)) expect(message).toMatch(/ended cancelled/);
    });

    it("a client's pollIntervalMs outside a timer's range is refused", async () => {
      for (const pollIntervalMs of [0, -1, Number.POSITIVE_INFINITY, 2 ** 31, Number.NaN]) {
        await expect(
          createRunClient({ database: PG_URL, schema: queue, pollIntervalMs }),
        ).rejects.toBeInstanceOf(InvalidInputError);
      }
    });

    it("result() wakes on notifications; when its listening connection drops, every wait reads again", async () => {
      // Polls ten minutes apart: within this test only a notification or the connection's
      // drop can end a wait.
      const listening = await createRunClient({
        database: PG_URL,
        schema: queue,
        pollIntervalMs: 600_000,
      });
      try {
        const done = await listening.submit("turns", { turns: "n1" }, { threadId: "notified" });
        expect((await done.result()).status).toBe("done");
        // A failed attempt is signalled too: here the run's last one.
        failing.on = true;
        const failed = await listening.submit(
          "turns",
          { turns: "n-f", fail: true },
          { threadId: "notified-failing", maxRetries: 0 },
        );
        await expect(failed.result()).rejects.toMatchObject({ state: "failed" });
        failing.on = false;
        // A run ends with no notification (cancelled in the queue itself, as a client's cancel
        // would but without its signal) while a wait is on.
        const later = await listening.submit(
          "turns",
          { turns: "n2" },
          { threadId: "unnotified", runAt: new Date(Date.now() + 3_600_000) },
        );
        const waiting = later.result().then(
          () => "resolved",
          (error: unknown) => (error instanceof RunFailedError ? error.message : String(error)),
        );
        // The wait has read the job and sleeps (its read finds the run still created).
        await vi.waitFor(async () => expect(await later.state()).toBe("created"));
        const boss = await openQueue({ database: PG_URL, schema: queue }, "test", false);
        try {
          await boss.cancel(RUN_QUEUE, later.id);
        } finally {
          await boss.stop({ graceful: false });
        }
        // Dropping the listening connections (this client's among them): the wait reads again.
        await adminPool().query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN rewind_run_done' AND pid <> pg_backend_pid()",
        );
        expect(await waiting).toMatch(/ended cancelled/);
        // Listening again: the next run's end is heard.
        await vi.waitFor(
          async () => {
            const { rows } = await adminPool().query(
              "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'LISTEN rewind_run_done'",
            );
            expect(rows[0].n).toBeGreaterThan(0);
          },
          { timeout: 10_000 },
        );
        const again = await listening.submit("turns", { turns: "n3" }, { threadId: "notified" });
        expect((await again.result()).status).toBe("done");
      } finally {
        failing.on = false;
        await listening.close();
      }
    });

    it("cancels a running run: it stops at its next checkpoint, the steps it finished kept", async () => {
      const run = await client.submit("turns", { turns: "c", hold: true }, { threadId: "halt" });
      await untilActive(run);
      expect(await run.cancel()).toBe(true);
      await expect(run.result()).rejects.toMatchObject({ state: "cancelled" });
      // "plan" (held until the run's signal was aborted) finished and was saved; nothing after.
      let state = await app.getState({ threadId: "halt" });
      while (!state?.next.includes("left")) {
        await sleep(50);
        state = await app.getState({ threadId: "halt" });
      }
      expect(state.values.seen).toEqual(["plan:c"]);
      expect(await run.state()).toBe("cancelled");
      // The lease is free and the thread continues from there: "plan" does not run again.
      const rest = await (await client.submit("turns", null, { threadId: "halt" })).result();
      expect(rest.values.seen).toEqual(expectedSeen(["c"]));
    });

    it("a worker whose clock runs an hour ahead takes no live run: lease expiry is read on the server's clock", async () => {
      const run = await client.submit("turns", { turns: "c", hold: true }, { threadId: "clock" });
      await untilActive(run);
      // Older than the recovery's minimum age and than the lease lifetime it is given.
      await sleep(1_500);
      const boss = await openQueue({ database: PG_URL, schema: queue }, "test", false);
      const ahead = vi.spyOn(Date, "now").mockReturnValue(Date.now() + 3_600_000);
      try {
        expect(await recoverOnce(boss, queue, { turns: app }, 500)).toEqual([]);
      } finally {
        ahead.mockRestore();
        await boss.stop({ graceful: false });
      }
      expect(await run.state()).toBe("active");
      expect((await client.list({ threadId: "clock" }))[0]!.retries).toBe(0);
      expect(await run.cancel()).toBe(true);
      await expect(run.result()).rejects.toMatchObject({ state: "cancelled" });
    });

    it("a run that keeps failing is dead after its retries: listed with its error, retried from the dead-letter queue", async () => {
      failing.on = true;
      failing.attempts = 0;
      const run = await client.submit(
        "turns",
        { turns: "f", fail: true },
        { threadId: "dead", maxRetries: 2 },
      );
      await expect(run.result()).rejects.toMatchObject({ state: "failed" });
      // The first attempt and two retries, then no more: the node throws every time.
      expect(failing.attempts).toBe(3);
      const [dead] = await client.list({ state: "failed", threadId: "dead" });
      expect(dead).toMatchObject({ id: run.id, state: "failed", retries: 2, deadLetter: true });
      expect(dead!.error).toContain("the plan fails");
      const { rows } = await adminPool().query(
        `SELECT count(*)::int AS n FROM "${queue}".job WHERE name = 'rewind-runs-dead' AND source_id = $1`,
        [run.id],
      );
      expect(rows[0].n).toBe(1);
      // Fixed, it is retried from there: the same run, resumed, out of the dead-letter queue.
      failing.on = false;
      expect(await run.retry()).toBe(true);
      const outcome = await run.result();
      expect(outcome.values.seen).toEqual(expectedSeen(["f"]));
      const [retried] = await client.list({ threadId: "dead" });
      expect(retried).toMatchObject({ state: "completed", deadLetter: false });
      expect(await run.retry()).toBe(false);
      await expect(
        client.submit("turns", {}, { threadId: "dead", maxRetries: -1 }),
      ).rejects.toBeInstanceOf(InvalidInputError);
    });

    it("refuses bad input with named errors, and a busy thread under onBusy reject", async () => {
      await expect(
        client.submit("turns", { turns: 1n }, { threadId: "bad" }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await expect(client.submit("turns", [1], { threadId: "bad" })).rejects.toBeInstanceOf(
        InvalidInputError,
      );
      await expect(client.submit("turns", {}, { threadId: "" })).rejects.toBeInstanceOf(
        InvalidInputError,
      );
      await expect(
        client.submit("turns", {}, { threadId: "bad", priority: 1.5 }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await expect(
        createWorker({ database: PG_URL, schema: queue, graphs: {} }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      const held = await client.submit(
        "turns",
        { turns: "h" },
        {
          threadId: "busy",
          runAt: new Date(Date.now() + 3_600_000),
        },
      );
      await expect(
        client.submit("turns", { turns: "i" }, { threadId: "busy", onBusy: "reject" }),
      ).rejects.toBeInstanceOf(ThreadBusyError);
      await held.cancel();
    });

    it("continues a SIGKILLed worker process's run in another worker process, within the bound", async () => {
      // The in-process worker steps aside so that only the two processes claim.
      await worker.stop();
      const ttl = 3_000;
      const children = [startWorker(PG_URL, schema, ttl), startWorker(PG_URL, schema, ttl)];
      try {
        await Promise.all(children.map((c) => c.ready));
        const run = await client.submit(
          "turns",
          { turns: "k", slowMs: 4_000 },
          { threadId: "kill" },
        );
        const holder = await leaseHolderPid(schema, "kill");
        const victim = children.find((c) => c.child.pid === holder);
        expect(victim, "the run's lease is held by one of the worker processes").toBeDefined();
        const killedAt = await serverNow();
        victim!.child.kill("SIGKILL");
        const outcome = await run.result();
        expect(outcome.status).toBe("done");
        expect(outcome.values.turns).toEqual(["k"]);
        expect(outcome.values.seen).toEqual(expectedSeen(["k"]));
        const [job] = await client.list({ threadId: "kill" });
        expect(job!.retries).toBeGreaterThanOrEqual(1);
        // The takeover (the retry's start, on the server's clock) came within the bound.
        const restarted = await jobStartedOn(queue, run.id);
        expect(restarted - killedAt).toBeLessThan(ttl + 2_000);
        // The survivor stops gracefully on SIGTERM.
        const survivor = children.find((c) => c !== victim)!;
        survivor.child.kill("SIGTERM");
        expect(await survivor.exit).toBe(0);
      } finally {
        for (const c of children) c.child.kill("SIGKILL");
      }
    }, 60_000);

    it("on SIGTERM a worker stops its run at the next checkpoint; another continues it, nothing redone", async () => {
      const children = [startWorker(PG_URL, schema, 30_000), startWorker(PG_URL, schema, 30_000)];
      try {
        await Promise.all(children.map((c) => c.ready));
        const run = await client.submit(
          "turns",
          { turns: "s", slowMs: 1_500 },
          { threadId: "term" },
        );
        const holder = await leaseHolderPid(schema, "term");
        const stopping = children.find((c) => c.child.pid === holder)!;
        expect(stopping, "the run's lease is held by one of the worker processes").toBeDefined();
        // Mid "plan": the step finishes and is saved, then the run stops, releases its lease
        // (30 s: not left to expire) and its job goes back to the queue.
        stopping.child.kill("SIGTERM");
        expect(await stopping.exit).toBe(0);
        const { rows } = await adminPool().query(
          `SELECT lease_pid FROM "${schema}".rewind_threads
           WHERE thread_id = 'term' AND lease_expires_at > (extract(epoch FROM now()) * 1000)`,
        );
        expect(rows.map((r) => Number(r.lease_pid))).not.toContain(holder);
        const outcome = await run.result();
        expect(outcome.status).toBe("done");
        // "plan" ran once: the other worker continued from the saved step.
        expect(outcome.values.seen).toEqual(expectedSeen(["s"]));
        const [job] = await client.list({ threadId: "term" });
        expect(job!.retries).toBeGreaterThanOrEqual(1);
      } finally {
        for (const c of children) c.child.kill("SIGKILL");
      }
    }, 60_000);

    it("a job sent back to the queue while its first attempt still waits for the lease is applied once", async () => {
      // Recovery sends a job back when its thread's lease looks abandoned; its first attempt may
      // still be alive, waiting for that lease (its connection was cut before it took it). The
      // retry takes the lease first here, deterministically: the first attempt's process is
      // paused (SIGSTOP) until the retry has finished.
      await worker.stop();
      const thread = "twice";
      const blocker = await heldThread(thread, 60_000);
      const first = startWorker(PG_URL, schema, 30_000);
      let second: Worker | undefined;
      const boss = await openQueue({ database: PG_URL, schema: queue }, "test", false);
      try {
        await first.ready;
        const run = await client.submit("turns", { turns: "d" }, { threadId: thread });
        await untilActive(run);
        first.child.kill("SIGSTOP");
        // What recovery does with a job whose worker it judges gone.
        await boss.fail(RUN_QUEUE, { id: run.id, retryCount: 0 }, { error: "judged gone" });
        second = await anotherWorker();
        while ((await client.list({ threadId: thread }))[0]?.retries !== 1) await sleep(50);
        await untilActive(run);
        await checkpointer.releaseLease(blocker);
        const outcome = await run.result();
        expect(outcome.values.turns).toEqual(["d"]);
        // The first attempt goes on: it takes the lease (a newer token) and gives it back.
        const token = await leaseToken(schema, thread);
        first.child.kill("SIGCONT");
        while ((await leaseToken(schema, thread, true)) <= token) await sleep(50);
        const state = await app.getState({ threadId: thread });
        expect(state?.values.turns).toEqual(["d"]);
        expect(state?.values.seen).toEqual(expectedSeen(["d"]));
      } finally {
        first.child.kill("SIGKILL");
        await second?.stop();
        await boss.stop({ graceful: false });
      }
    }, 60_000);

    it("a stopping worker sends back at once a job still waiting for its thread's lease", async () => {
      await worker.stop();
      const thread = "waiting";
      const blocker = await heldThread(thread, 120_000);
      // The stop's bound is longer than this test's timeout: stop() resolves only because the
      // waiting run gives up its wait, not because the bound ran out.
      const stopping = await anotherWorker({ shutdownTimeoutMs: 300_000 });
      let next: Worker | undefined;
      try {
        const run = await client.submit("turns", { turns: "w" }, { threadId: thread });
        await untilActive(run);
        await stopping.stop();
        expect(await leaseToken(schema, thread)).toBe(blocker.token);
        expect(await run.state()).toBe("retry");
        await checkpointer.releaseLease(blocker);
        next = await anotherWorker();
        const outcome = await run.result();
        expect(outcome.values.turns).toEqual(["w"]);
      } finally {
        await stopping.stop();
        await next?.stop();
      }
    }, 60_000);
  },
);

async function leaseHolderPid(schema: string, threadId: string): Promise<number> {
  for (;;) {
    const { rows } = await adminPool().query(
      `SELECT lease_pid FROM "${schema}".rewind_threads WHERE thread_id = $1 AND lease_expires_at IS NOT NULL`,
      [threadId],
    );
    if (rows[0]?.lease_pid) return Number(rows[0].lease_pid);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The thread's latest lease token; with `released`, only once no lease is held (else 0). */
async function leaseToken(schema: string, threadId: string, released = false): Promise<number> {
  const { rows } = await adminPool().query(
    `SELECT lease_token FROM "${schema}".rewind_threads
     WHERE thread_id = $1 AND ($2::boolean IS FALSE OR lease_expires_at IS NULL)`,
    [threadId, released],
  );
  return Number(rows[0]?.lease_token ?? 0);
}

async function serverNow(): Promise<number> {
  const { rows } = await adminPool().query(
    "SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS now",
  );
  return Number(rows[0].now);
}

async function jobStartedOn(queue: string, id: string): Promise<number> {
  const { rows } = await adminPool().query(
    `SELECT (extract(epoch from started_on) * 1000)::float8 AS t FROM "${queue}".job WHERE id = $1`,
    [id],
  );
  return Number(rows[0].t);
}

/** Waits until the queue has started the run (claimed its job). */
async function untilActive(run: { state(): Promise<string> }): Promise<void> {
  while ((await run.state()) !== "active") await sleep(50);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
