/**
 * Vitest global setup: names the folder the package is built into once per run, for every test
 * file that runs the `rewind` binary (`test/support/built-package.ts` builds it on first use), and
 * removes it when the run ends. A run that uses no binary builds nothing.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Where this run's build of the package goes (absent until a test file builds it). */
    buildDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const root = join(import.meta.dirname, "..", "..");
  const dir = join(root, `.scratch-build-${process.pid}-${Date.now().toString(36)}`);
  project.provide("buildDir", dir);
  return () => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.lock`, { recursive: true, force: true });
    rmSync(`${dir}-entries`, { recursive: true, force: true });
  };
}
