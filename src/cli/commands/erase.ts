/** `rewind erase <database> --tenant <id> --yes`: erase a tenant everywhere. */
import type { Command } from "commander";
import { deleteTenant } from "../../archive/erase.js";
import { UsageError } from "../cli-run.js";
import { runCommand } from "../run.js";
import { withArchive } from "../targets.js";

export function registerErase(program: Command): void {
  program
    .command("erase")
    .description("erase a tenant: threads, pending writes, values, store items, archived copies")
    .argument("<database>", "SQLite file or postgres:// URL")
    .requiredOption("--tenant <id>", "the tenant to erase")
    .option("--archive <target>", "also remove its copies from this archive")
    .option("--yes", "confirm: the erasure cannot be undone")
    .option("--s3-endpoint <url>", "an S3-compatible server (path-style addressing)")
    .option("--region <region>", "S3 region")
    .option("--schema <name>", "PostgreSQL schema")
    .option("--json", "print the report as JSON")
    .action(async (database: string, options) => {
      await runCommand(
        options,
        "threads",
        async (_signal, progress) => {
          if (options.yes !== true) {
            throw new UsageError(
              `erasing tenant "${options.tenant}" cannot be undone; add --yes to confirm`,
            );
          }
          return withArchive(database, options.archive, options, (storage, target) =>
            deleteTenant(storage.checkpointer, options.tenant, {
              store: storage.store,
              archive: target,
              onProgress: (done, total) => progress.update(done, total),
            }),
          );
        },
        (r) =>
          `erased tenant "${options.tenant}": ${r.threadIds.length} threads, ${r.checkpoints} checkpoints, ${r.writes} pending writes, ${r.storeItems} store items, ${r.archives} archived copies`,
      );
    });
}
