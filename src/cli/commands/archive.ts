/** `rewind archive <database> <target>`: move threads (by id, tenant, all, idle days) to an archive. */
import type { Command } from "commander";
import { archiveStoreItems } from "../../archive/archive-store.js";
import { archiveThreads } from "../../archive/archive-threads.js";
import { UsageError } from "../cli-run.js";
import { failures, listOf, runCommand, summarize, type ThreadOutcome } from "../run.js";
import { withArchive } from "../targets.js";

export function registerArchive(program: Command): void {
  program
    .command("archive")
    .description("move threads with their full history to an archive, leaving a stub")
    .argument("<database>", "SQLite file or postgres:// URL")
    .argument("<target>", "archive directory, or s3://bucket/prefix")
    .option("--thread <ids...>", "thread ids (of --tenant, or the default tenant)")
    .option("--tenant <id>", "a tenant: all its threads, or those --thread names")
    .option("--all", "every thread of every tenant")
    .option("--idle-days <days>", "only threads with no checkpoint for this many days", Number)
    .option("--store", "also archive (and remove) the store items of --tenant")
    .option("--s3-endpoint <url>", "an S3-compatible server (path-style addressing)")
    .option("--region <region>", "S3 region")
    .option("--schema <name>", "PostgreSQL schema")
    .option("--json", "print the result as JSON")
    .action(async (database: string, spec: string, options) => {
      await runCommand(
        options,
        "threads",
        async (signal, progress) => {
          if (options.idleDays !== undefined && !(options.idleDays >= 0)) {
            throw new UsageError("--idle-days must be a non-negative number");
          }
          if (options.store && options.tenant === undefined) {
            throw new UsageError("--store archives a tenant's store items: name --tenant");
          }
          return withArchive(database, spec, options, async (storage, target) => {
            const results: ThreadOutcome[] = await archiveThreads(storage.checkpointer, target!, {
              threadIds: listOf(options.thread),
              tenantId: options.tenant,
              all: options.all === true,
              idleDays: options.idleDays,
              signal,
              onProgress: (p) => progress.update(p.threadsDone, p.threadsTotal, p.checkpoints),
            });
            if (!options.store) return results;
            const items = await archiveStoreItems(storage.store, target!, options.tenant);
            return [
              ...results,
              { threadId: `store items of ${options.tenant}`, status: "archived", items },
            ];
          });
        },
        (results) =>
          summarize(
            results,
            (n) =>
              `archived ${n("archived")} threads to ${spec}, skipped ${n("skipped")}, ${n("failed")} failed`,
          ),
        failures,
      );
    });
}
