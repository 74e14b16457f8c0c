import { MemoryBackend } from "../../src/index.js";
import { describeCheckpointBackend } from "../../src/testing/index.js";

describeCheckpointBackend("memory", { create: () => new MemoryBackend() });
