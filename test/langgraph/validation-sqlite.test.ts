import "./vitest-globals.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import { RewindSaver } from "../../src/langgraph/index.js";
import { SqliteBackend } from "../../src/storage/sqlite/index.js";

// One file per checkpointer: the suite's list tests count rows across all threads.
const dir = mkdtempSync(join(tmpdir(), "rewind-lg-validation-"));
let files = 0;

const initializer = {
  checkpointerName: "rewind-sqlite",
  createCheckpointer: () => new RewindSaver(new SqliteBackend(join(dir, `${files++}.sqlite`))),
  destroyCheckpointer: (saver: RewindSaver) => saver.close(),
  afterAll: () => rmSync(dir, { recursive: true, force: true }),
};

validate(initializer);
deltaChannelHistoryTests(initializer);
