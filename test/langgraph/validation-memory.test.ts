import "./vitest-globals.js";
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import { RewindSaver } from "../../src/langgraph/index.js";
import { MemoryBackend } from "../../src/storage/memory/index.js";

const initializer = {
  checkpointerName: "rewind-memory",
  createCheckpointer: () => new RewindSaver(new MemoryBackend()),
  destroyCheckpointer: (saver: RewindSaver) => saver.close(),
};

validate(initializer);
deltaChannelHistoryTests(initializer);
