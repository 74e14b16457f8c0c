/**
 * LangGraph savers on the test engines' storage (backends.ts). Kept apart from the engines so
 * that only the test files that use a saver load LangGraph.
 */
import type { CheckpointBackend } from "../../src/checkpoint/checkpoint-backend.js";
import { RewindSaver, type RewindSaverOptions } from "../../src/langgraph/index.js";
import type { TestBackend } from "./backends.js";
import { closedAtFileEnd } from "./file-cleanup.js";

/** A saver on fresh storage, as the LangGraph adapter tests use it. */
export interface SaverOnStorage {
  readonly saver: RewindSaver;
  readonly backend: CheckpointBackend;
  /** Another saver on the same storage: a process restart (memory shares the live backend). */
  reopen(options?: RewindSaverOptions): RewindSaver;
  /** See `SaverStorage.storedValueBytes` (backends.ts). */
  storedValueBytes?(threadId: string, channel: string): number;
}

/** A saver on fresh storage of `engine`, closed when the test file ends. */
export function saverOn(engine: TestBackend, options?: RewindSaverOptions): SaverOnStorage {
  const storage = engine.saverStorage();
  return {
    saver: closedAtFileEnd(new RewindSaver(storage.backend, options)),
    backend: storage.backend,
    reopen: (again) => closedAtFileEnd(new RewindSaver(storage.reopen(), again)),
    ...(storage.storedValueBytes ? { storedValueBytes: storage.storedValueBytes } : {}),
  };
}
