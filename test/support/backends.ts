/**
 * The storage backends every test area runs on (runtime, LangGraph adapter, checkpoint and store
 * conformance), from one list. `BACKENDS=memory,sqlite` runs only those (default: all three).
 * Everything a backend hands out lives on storage of its own (a temp SQLite file, a PostgreSQL
 * schema) and is closed and removed when the test file ends, or by the harness's `destroy`.
 */
import { describe, it } from "vitest";
import type { CheckpointBackend } from "../../src/checkpoint/checkpoint-backend.js";
import type { CheckpointerOptions } from "../../src/checkpoint/checkpoint-types.js";
import type { Checkpointer } from "../../src/index.js";
import type { Store, StoreOptions } from "../../src/store/store.js";
import type { CheckpointBackendHarness, StoreBackendHarness } from "../../src/testing/index.js";
import { memoryEngine } from "./memory-engine.js";
import { postgresEngine } from "./postgres-engine.js";
import { sqliteEngine } from "./sqlite-engine.js";

export type BackendName = "memory" | "sqlite" | "postgres";

/**
 * Fresh storage for a LangGraph saver (`savers.ts` builds the saver on it, so that test files
 * without one never load LangGraph).
 */
export interface SaverStorage {
  readonly backend: CheckpointBackend;
  /** Another backend on the same storage: a process restart (memory shares the live backend). */
  reopen(): CheckpointBackend;
  /**
   * Bytes of the values stored for one channel of a thread, read from the engine's own tables,
   * where reads do not show every stored value as it is (SQLite merges append runs).
   */
  storedValueBytes?(threadId: string, channel: string): number;
}

/** One storage engine, seen from every test area. */
export interface TestBackend {
  readonly name: BackendName;
  /** The checkpoint conformance harness: a fresh backend per `create`, removed by `destroy`. */
  readonly checkpoints: CheckpointBackendHarness;
  /** The store conformance harness, likewise. */
  readonly stores: StoreBackendHarness;
  /** A checkpointer on fresh storage. */
  checkpointer(options?: CheckpointerOptions): Checkpointer;
  /** Fresh storage for a LangGraph saver (see `saverOn` in savers.ts). */
  saverStorage(): SaverStorage;
  /** A store on fresh storage. */
  store(options?: StoreOptions): Store;
}

const ALL: readonly TestBackend[] = [memoryEngine, sqliteEngine, postgresEngine];

/** The backends `BACKENDS` selects, in a fixed order (all when it is unset or empty). */
export const BACKENDS: readonly TestBackend[] = select(process.env.BACKENDS);

/**
 * Registers `tests` for the backend named `name` if `BACKENDS` selects it; otherwise one skipped
 * test says why, so a file about one engine never ends up with no tests at all.
 */
export function describeOn(name: BackendName, tests: (backend: TestBackend) => void): void {
  const backend = BACKENDS.find((b) => b.name === name);
  if (backend) {
    tests(backend);
    return;
  }
  describe.skip(`${name} (left out by BACKENDS=${process.env.BACKENDS})`, () => {
    it(`runs when BACKENDS includes ${name}`, () => {});
  });
}

function select(filter: string | undefined): readonly TestBackend[] {
  const names = (filter ?? "")
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  if (names.length === 0) return ALL;
  for (const name of names) {
    // A typo must not quietly run no backend at all.
    if (!ALL.some((b) => b.name === name)) {
      throw new Error(
        `BACKENDS names "${name}", which is not one of ${ALL.map((b) => b.name).join(", ")}`,
      );
    }
  }
  return ALL.filter((b) => names.includes(b.name));
}
