#!/usr/bin/env node
/** The `rewind` command line: each command lives in `commands/` and registers itself here. */
import { Command } from "commander";
import { runProgram } from "./cli-run.js";
import { registerPrune } from "./commands/prune.js";
import { registerStats } from "./commands/stats.js";

const program = new Command("rewind").description(
  "Operate Rewind storage: an SQLite file or a postgres:// URL.",
);
registerStats(program);
registerPrune(program);
await runProgram(program);
