#!/usr/bin/env node
/**
 * The `rewind` command line: operations on a Rewind database (an SQLite file or a PostgreSQL
 * URL), and the inspector's views of its threads (`threads`, `history`, `show`, `diff`, `fork`,
 * `resume`, and `inspect` in a browser). Each command lives in its own file under `commands/` and is registered here.
 */
import { Command } from "commander";
import { runProgram } from "./cli-run.js";
import { registerArchive } from "./commands/archive.js";
import { registerDiff } from "./commands/diff.js";
import { registerErase } from "./commands/erase.js";
import { registerExport } from "./commands/export.js";
import { registerFork } from "./commands/fork.js";
import { registerHistory } from "./commands/history.js";
import { registerImport } from "./commands/import.js";
import { registerInspect } from "./commands/inspect.js";
import { registerKeys } from "./commands/keys.js";
import { registerPrune } from "./commands/prune.js";
import { registerRestore } from "./commands/restore.js";
import { registerResume } from "./commands/resume.js";
import { registerShow } from "./commands/show.js";
import { registerStats } from "./commands/stats.js";
import { registerThreads } from "./commands/threads.js";

const program = new Command("rewind").description(
  "Operate Rewind storage: an SQLite file or a postgres:// URL.",
);
registerStats(program);
registerPrune(program);
registerExport(program);
registerImport(program);
registerArchive(program);
registerRestore(program);
registerErase(program);
registerKeys(program);
registerThreads(program);
registerHistory(program);
registerShow(program);
registerDiff(program);
registerFork(program);
registerResume(program);
registerInspect(program);
await runProgram(program);
