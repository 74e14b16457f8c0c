/**
 * Runs crash scenarios: a worker process killed at a chosen point, then fresh workers until the
 * graph completes; checks the final state and that no task whose writes were saved ran again.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ChildExit, runChild } from "../support/process.js";
import type { KillPlan } from "./crash-worker.js";

const WORKER = new URL("./crash-worker.ts", import.meta.url).pathname;

export function runWorker(db: string, side: string, plan?: KillPlan): Promise<ChildExit> {
  return runChild(WORKER, db, side, ...(plan ? [JSON.stringify(plan)] : []));
}

export interface ScenarioResult {
  readonly killed: boolean;
  readonly workers: number;
  readonly log: readonly string[];
  /** Task ids that started again after their writes had been saved. */
  readonly rerunAfterSave: readonly string[];
  readonly events?: number;
}

/** Kills one worker per `plan`, then runs workers until one finishes. */
export async function runScenario(
  plan: KillPlan | undefined,
  readLog: (db: string) => Promise<string[]>,
): Promise<ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), "rewind-crash-"));
  const db = join(dir, "agent.sqlite");
  const side = join(dir, "side.log");
  writeFileSync(side, "");
  let killed = false;
  let workers = 0;
  let events: number | undefined;
  let exit = await runWorker(db, side, plan);
  workers++;
  while (!exit.stdout.includes("DONE")) {
    if (exit.signal !== "SIGKILL") {
      throw new Error(
        `worker failed (code ${exit.code}, signal ${exit.signal}): ${exit.stderr.slice(-2000)}`,
      );
    }
    killed = true;
    if (workers > 5) throw new Error("the graph did not complete after 5 workers");
    exit = await runWorker(db, side);
    workers++;
  }
  if (!killed) events = Number(/DONE (\d+)/.exec(exit.stdout)?.[1]);
  return {
    killed,
    workers,
    log: await readLog(db),
    rerunAfterSave: rerunsAfterSave(readFileSync(side, "utf8")),
    events,
  };
}

/** Every `saved T` line must not be followed by a `start <node> T` line. */
export function rerunsAfterSave(side: string): string[] {
  const saved = new Set<string>();
  const reruns: string[] = [];
  for (const line of side.split("\n")) {
    const [kind, a, b] = line.split(" ");
    if (kind === "saved") saved.add(a!);
    if (kind === "start" && saved.has(b!)) reruns.push(`${a} ${b}`);
  }
  return reruns;
}
