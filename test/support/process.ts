/** Runs a TypeScript file in its own OS process, so a crash there is seen as a crash here. */
import { spawn } from "node:child_process";

/** What a worker process did: its exit code, what it printed, and its last line parsed as JSON. */
export interface WorkerRun {
  readonly code: number | null;
  readonly stderr: string;
  readonly result: any;
}

/** Runs `file` under tsx with `args` and waits for it to exit. */
export function runWorker(file: string, ...args: string[]): Promise<WorkerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const last = out.trim().split("\n").at(-1);
      let result: unknown;
      try {
        result = last ? JSON.parse(last) : undefined;
      } catch {
        result = undefined;
      }
      resolve({ code, stderr, result });
    });
  });
}
