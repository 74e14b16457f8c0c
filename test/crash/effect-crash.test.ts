/**
 * Effects under SIGKILL: a worker running a graph of effects (see effect-crash-worker.ts) is
 * killed at random points — before an intent, between intent and outcome (mid-call), after an
 * outcome before the task's writes, inside checkpoint writes — then fresh workers run the thread
 * to its end. Every run must end in the uninterrupted run's state, no effect with a recorded
 * outcome may start again, and the charge (asked to a human) and the car (reconciled) must have
 * completed on the remote side exactly once. On SQLite and PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { BACKENDS } from "../support/backends.js";
import { PG_URL } from "../support/postgres.js";
import { type ChildExit, runChild } from "../support/process.js";
import { trialCount } from "../support/trial-count.js";

const WORKER = new URL("./effect-crash-worker.ts", import.meta.url).pathname;
/** Kill points per engine: 6 under `npm test`, 50 under `test:soak`, any by REWIND_CRASH_RUNS. */
const RUNS = trialCount("REWIND_CRASH_RUNS", { smoke: 6, soak: 50 });
const BATCH = 10;
const EXPECTED = {
  receipt: "receipt-42",
  trip: "hotel-7+car-3",
  emailed: "sent",
  log: ["input", "plan", "after"],
};

type Engine = "sqlite" | "postgres";

function runWorker(args: string[]): Promise<ChildExit> {
  return runChild(WORKER, ...args);
}

const schemas: string[] = [];
afterAll(async () => {
  if (schemas.length === 0) return;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

interface Scenario {
  killed: boolean;
  final: unknown;
  side: string;
  events: number | undefined;
  error: string | undefined;
}

/** Kills a worker at event `killAt` (0: never), then runs workers until the thread ends. */
async function scenario(engine: Engine, killAt: number, chargePolicy = "ask"): Promise<Scenario> {
  const dir = mkdtempSync(join(tmpdir(), "rewind-effect-crash-"));
  const side = join(dir, "remote.log");
  writeFileSync(side, "");
  const schema = `rewind_effcrash_${randomBytes(5).toString("hex")}`;
  if (engine === "postgres") schemas.push(schema);
  const target = engine === "postgres" ? PG_URL : join(dir, "effects.sqlite");
  const base = [engine, target, schema, side];
  try {
    let exit = await runWorker([...base, String(killAt), chargePolicy]);
    let killed = false;
    for (let workers = 1; !/^(DONE|ERROR)/m.test(exit.stdout); workers++) {
      if (exit.signal !== "SIGKILL") {
        throw new Error(`worker failed (${exit.code}/${exit.signal}): ${exit.stderr.slice(-2000)}`);
      }
      if (workers > 6) throw new Error("the thread did not end after 6 workers");
      killed = true;
      exit = await runWorker([...base, "0", chargePolicy]);
    }
    const done = /^DONE (\d+) (.*)$/m.exec(exit.stdout);
    const error = /^ERROR (.*)$/m.exec(exit.stdout)?.[1];
    return {
      killed,
      final: done ? JSON.parse(done[2]!) : undefined,
      side: readFileSync(side, "utf8"),
      events: done ? Number(done[1]) : undefined,
      error,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `start <name>` lines after that effect's `outcome <name>` line: effects run again. */
function rerunsAfterOutcome(side: string): string[] {
  const recorded = new Set<string>();
  const reruns: string[] = [];
  for (const line of side.split("\n")) {
    const [kind, name] = line.split(" ");
    if (kind === "outcome") recorded.add(name!);
    if (kind === "start" && recorded.has(name!)) reruns.push(line);
  }
  return reruns;
}

const completions = (side: string, name: string) =>
  side.split("\n").filter((l) => l.startsWith(`finish ${name} `)).length;

for (const engine of ["sqlite", "postgres"] as const) {
  const enabled = BACKENDS.some((b) => b.name === engine);
  describe.skipIf(!enabled)(`effects under SIGKILL on ${engine}`, { timeout: 600_000 }, () => {
    let total = 0;

    it("an uninterrupted run records each effect once", async () => {
      const run = await scenario(engine, 0);
      expect(run.error).toBeUndefined();
      expect(run.final).toEqual(EXPECTED);
      for (const name of ["charge", "hotel", "car", "email"])
        expect(completions(run.side, name)).toBe(1);
      total = run.events ?? 0;
      expect(total).toBeGreaterThan(30);
    });

    it('a charge cut off mid-call under "fail" stops the thread with EFFECT_UNKNOWN', async () => {
      // The uninterrupted run notes the event at which the charge's call starts: kill right
      // after it, so its intent is durable and its outcome never comes.
      const probe = await scenario(engine, 0, "fail");
      expect(probe.final).toEqual(EXPECTED);
      const started = Number(/^start charge \S+ (\d+)$/m.exec(probe.side)?.[1]);
      const failed = await scenario(engine, started + 1, "fail");
      expect(failed.killed).toBe(true);
      expect(failed.error).toMatch(/^EFFECT_UNKNOWN effect "charge" started/);
      expect(completions(failed.side, "charge")).toBe(0);
    });

    for (let first = 1; first <= RUNS; first += BATCH) {
      const runs = Math.min(BATCH, RUNS - first + 1);
      it(`random kill points ${first}-${first + runs - 1} of ${RUNS}: same end state, no recorded effect rerun, charge and car once`, async () => {
        const failures: string[] = [];
        const queue = Array.from({ length: runs }, () => 1 + Math.floor(Math.random() * total));
        const worker = async () => {
          for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
            const run = await scenario(engine, at);
            const problems = [
              !run.killed && "not killed",
              run.error && `error ${run.error}`,
              JSON.stringify(run.final) !== JSON.stringify(EXPECTED) &&
                `final ${JSON.stringify(run.final)}`,
              rerunsAfterOutcome(run.side).length > 0 && `reruns ${rerunsAfterOutcome(run.side)}`,
              completions(run.side, "charge") !== 1 &&
                `charge completed ${completions(run.side, "charge")}x`,
              completions(run.side, "car") !== 1 &&
                `car completed ${completions(run.side, "car")}x`,
            ].filter(Boolean);
            if (problems.length > 0) failures.push(`event ${at}: ${problems.join("; ")}`);
          }
        };
        await Promise.all([worker(), worker()]);
        expect(failures).toEqual([]);
      });
    }
  });
}
