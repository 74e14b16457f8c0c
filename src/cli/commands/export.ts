/** `rewind export <database> <dir>`: threads (and store items) into an export directory. */
import type { Command } from "commander";
import { exportThreads } from "../../archive/export-threads.js";
import { listOf, runCommand } from "../run.js";
import { openStorage } from "../storage.js";

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("export threads (and a tenant's store items) to a directory, as hashed JSONL")
    .argument("<database>", "SQLite file or postgres:// URL")
    .argument("<dir>", "directory to write (manifest.json, data.jsonl)")
    .option("--thread <ids...>", "thread ids (of --tenant, or the default tenant)")
    .option("--tenant <id>", "a tenant: all its threads, or those --thread names")
    .option("--all", "every thread of every tenant")
    .option("--store", "also export the store items of --tenant (or --store-tenant)")
    .option("--store-tenant <ids...>", "tenants whose store items to export")
    .option("--schema <name>", "PostgreSQL schema")
    .option("--json", "print the manifest as JSON")
    .action(async (database: string, dir: string, options) => {
      await runCommand(
        options,
        "threads",
        async (signal, progress) => {
          const storage = await openStorage(database, { schema: options.schema });
          try {
            const tenants = listOf(options.storeTenant);
            return await exportThreads(storage.checkpointer, dir, {
              threadIds: listOf(options.thread),
              tenantId: options.tenant,
              all: options.all === true,
              store: options.store || tenants ? storage.store : undefined,
              storeTenants: tenants,
              signal,
              onProgress: (p) => progress.update(p.threadsDone, p.threadsTotal, p.checkpoints),
            });
          } finally {
            await storage.close();
          }
        },
        (m) =>
          `exported ${m.counts.threads} threads, ${m.counts.checkpoints} checkpoints, ${m.counts.writes} pending writes, ${m.counts.items} store items to ${dir} (${m.data.bytes} bytes, sha256 ${m.data.sha256})`,
      );
    });
}
