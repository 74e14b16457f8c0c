/**
 * The Rewind backends the LangGraph adapter tests run on. Each `create()` gives a saver on fresh,
 * unshared storage; `reopen()` a second saver on the same storage (a process restart).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { RewindSaver, type RewindSaverOptions } from "../../src/langgraph/index.js";
import { MemoryBackend } from "../../src/storage/memory/index.js";
import { SqliteBackend } from "../../src/storage/sqlite/index.js";
import type { CheckpointBackend } from "../../src/storage/types.js";

export interface LangGraphTestBackend {
  readonly name: string;
  /** A saver on new storage, and a way to open another saver on that same storage. */
  create(options?: RewindSaverOptions): {
    saver: RewindSaver;
    backend: CheckpointBackend;
    reopen(options?: RewindSaverOptions): RewindSaver;
  };
}

const dir = mkdtempSync(join(tmpdir(), "rewind-lg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const memory: LangGraphTestBackend = {
  name: "memory",
  create(options) {
    const backend = new MemoryBackend();
    // Memory does not survive a restart; "reopen" shares the live backend instead.
    return {
      saver: new RewindSaver(backend, options),
      backend,
      reopen: (again) => new RewindSaver(backend, again),
    };
  },
};

const sqlite: LangGraphTestBackend = {
  name: "sqlite",
  create(options) {
    const file = join(dir, `${files++}.sqlite`);
    const backend = new SqliteBackend(file);
    return {
      saver: new RewindSaver(backend, options),
      backend,
      reopen: (again) => new RewindSaver(new SqliteBackend(file), again),
    };
  },
};

export const LG_BACKENDS: readonly LangGraphTestBackend[] = [memory, sqlite];
