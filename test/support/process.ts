/** Runs a TypeScript file in its own OS process, so a crash there is seen as a crash here. */
import { spawn } from "node:child_process";
import { nodeArgs } from "./ts-entry.js";

/** How a child process ended and what it printed. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** What a worker process did: its exit code, what it printed, and its last line parsed as JSON. */
export interface WorkerRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly result: any;
}

/** Runs `file` (TypeScript, bundled once per test run) with `args` and waits for it to end. */
export function runChild(file: string, ...args: string[]): Promise<ChildExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs(file, ...args), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `file` with `args`; its last line of output is its result, as JSON. */
export async function runWorker(file: string, ...args: string[]): Promise<WorkerRun> {
  const { code, stdout, stderr } = await runChild(file, ...args);
  const last = stdout.trim().split("\n").at(-1);
  let result: unknown;
  try {
    result = last ? JSON.parse(last) : undefined;
  } catch {
    result = undefined;
  }
  return { code, stderr, result };
}
