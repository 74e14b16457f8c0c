import { MemoryStoreBackend } from "../../src/storage/memory/memory-store.js";
import { storeConformance } from "../../src/testing/store-conformance.js";

storeConformance({ name: "memory", createBackend: () => new MemoryStoreBackend() });
