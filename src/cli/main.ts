#!/usr/bin/env node
/**
 * The `rewind` command line: operations on a Rewind database (an SQLite file or a PostgreSQL
 * URL). Each command lives in its own file under `commands/` and is registered here.
 */
import { Command } from "commander";
import { registerArchive } from "./commands/archive.js";
import { registerErase } from "./commands/erase.js";
import { registerExport } from "./commands/export.js";
import { registerImport } from "./commands/import.js";
import { registerRestore } from "./commands/restore.js";

const program = new Command("rewind")
  .description("Operate on Rewind's storage: an SQLite file or a postgres:// URL")
  .showHelpAfterError();

registerExport(program);
registerImport(program);
registerArchive(program);
registerRestore(program);
registerErase(program);

await program.parseAsync(process.argv);
