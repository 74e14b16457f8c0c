#!/usr/bin/env node
/**
 * The `rewind` command line: operations on a Rewind database (an SQLite file or a PostgreSQL
 * URL). Each command lives in its own file under `commands/` and is registered here.
 */
import { Command } from "commander";
import { runProgram } from "./cli-run.js";
import { registerArchive } from "./commands/archive.js";
import { registerErase } from "./commands/erase.js";
import { registerExport } from "./commands/export.js";
import { registerImport } from "./commands/import.js";
import { registerKeys } from "./commands/keys.js";
import { registerPrune } from "./commands/prune.js";
import { registerRestore } from "./commands/restore.js";
import { registerStats } from "./commands/stats.js";

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
await runProgram(program);
