/**
 * The `rewind` binary for command-line tests: the package built once per run
 * (`test/support/built-package.ts`), spawned with node.
 */
import { spawn } from "node:child_process";
import { beforeAll } from "vitest";
import { builtBin } from "../support/built-package.js";
import { type Ran, wait } from "../support/child-output.js";

export type { Ran };
export { wait };

/**
 * The binary for the calling file's tests, built (or waited for) before them: `bin()` is its
 * entry, `rewind` runs it.
 */
export function builtCli(): { bin: () => string; rewind: (...args: string[]) => Promise<Ran> } {
  let entry: string | undefined;
  beforeAll(async () => {
    entry = await builtBin();
  }, 600_000);
  const bin = () => {
    if (entry === undefined) throw new Error("the rewind binary is used before it was built");
    return entry;
  };
  return {
    bin,
    rewind: (...args) =>
      wait(spawn(process.execPath, [bin(), ...args], { stdio: ["ignore", "pipe", "pipe"] })),
  };
}
