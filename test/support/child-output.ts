/** What a spawned process printed and how it ended, for tests that run the `rewind` binary. */
import type { ChildProcess } from "node:child_process";

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's output until it closes. */
export function wait(child: ChildProcess): Promise<Ran> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
