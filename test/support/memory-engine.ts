/** The in-memory backends, as every test area uses them (see backends.ts). */
import { MemoryBackend } from "../../src/backends/memory/index.js";
import { MemoryStoreBackend } from "../../src/backends/memory/memory-store.js";
import { createCheckpointer } from "../../src/index.js";
import { createStore } from "../../src/store/store.js";
import type { TestBackend } from "./backends.js";

export const memoryEngine: TestBackend = {
  name: "memory",
  checkpoints: { create: () => new MemoryBackend() },
  stores: { create: () => new MemoryStoreBackend() },
  checkpointer: (options) => createCheckpointer(new MemoryBackend(), options),
  saverStorage() {
    const backend = new MemoryBackend();
    // Memory does not survive a restart; "reopen" shares the live backend instead.
    return { backend, reopen: () => backend };
  },
  store: (options) => createStore(new MemoryStoreBackend(), options),
};
