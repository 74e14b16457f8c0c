import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Finds PostgreSQL (or starts embedded PGlite off CI) and provides its URL to the tests; names
    // the folder the package is built into once for every test that runs the `rewind` binary.
    globalSetup: ["test/setup/postgres.ts", "test/setup/build-dir.ts"],
    // Vitest's default (one file at a time on 2 cores) leaves the CPU idle while tests wait on
    // child processes, fsync and PostgreSQL; three files at once cut the soak's wall time by a
    // fifth on a loaded 2-core machine, with the same results.
    maxWorkers: Math.max(availableParallelism() - 1, 3),
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
