/**
 * The `rewind` binary for command-line tests: built from src with the package's build settings
 * (into a scratch folder of the repo, so it resolves the same dependencies) before the file's
 * tests, removed after them, and spawned with node.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { beforeAll } from "vitest";
import { ROOT } from "../docs/type-check.js";
import { atFileEnd } from "../support/file-cleanup.js";

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** What a child process printed, and its exit code, once it closed. */
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

/** Builds the binary before the calling file's tests; `bin` is its entry, `rewind` runs it. */
export function builtCli(): { bin: string; rewind: (...args: string[]) => Promise<Ran> } {
  const build = mkdtempSync(join(ROOT, ".scratch-cli-"));
  atFileEnd(() => rmSync(build, { recursive: true, force: true }));
  beforeAll(async () => {
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const built = await wait(
      spawn(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", build], {
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    if (built.code !== 0) throw new Error(`build failed: ${built.stdout}${built.stderr}`);
  }, 300_000);
  const bin = join(build, "cli", "main.js");
  return {
    bin,
    rewind: (...args) =>
      wait(spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] })),
  };
}
