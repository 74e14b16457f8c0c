/** `rewind restore <database> <target>`: bring archived threads back (named, a tenant's, or all). */
import type { Command } from "commander";
import { restoreStoreItems } from "../../archive/archive-store.js";
import { archivedThreadsOf } from "../../archive/archive-target.js";
import { restoreThread } from "../../archive/archive-threads.js";
import { threadKey } from "../../checkpoint/thread-key.js";
import { InvalidInputError, isRewindError, type RewindError } from "../../errors.js";
import { UsageError } from "../cli-run.js";
import { failures, listOf, runCommand, summarize } from "../run.js";
import { withArchive } from "../targets.js";

interface Restored {
  readonly threadId: string;
  readonly status: "restored" | "live" | "failed";
  readonly error?: RewindError;
}

export function registerRestore(program: Command): void {
  program
    .command("restore")
    .description("restore archived threads exactly as they were archived")
    .argument("<database>", "SQLite file or postgres:// URL")
    .argument("<target>", "archive directory, or s3://bucket/prefix")
    .option("--thread <ids...>", "thread ids (of --tenant, or the default tenant)")
    .option("--tenant <id>", "a tenant: all its archived threads, or those --thread names")
    .option("--all", "every thread in the archive")
    .option("--keep-archive", "keep the archived copies")
    .option("--store", "also restore the archived store items of --tenant")
    .option("--s3-endpoint <url>", "an S3-compatible server (path-style addressing)")
    .option("--region <region>", "S3 region")
    .option("--schema <name>", "PostgreSQL schema")
    .option("--json", "print the result as JSON")
    .action(async (database: string, spec: string, options) => {
      await runCommand<Restored[]>(
        options,
        "threads",
        async (signal, progress) => {
          const ids = listOf(options.thread);
          if (ids === undefined && options.tenant === undefined && options.all !== true) {
            throw new UsageError("name the threads: --thread, --tenant or --all");
          }
          return withArchive(database, spec, options, async (storage, found) => {
            const target = found!;
            const keys =
              ids !== undefined
                ? ids.map((id) => threadKey(id, options.tenant))
                : options.all === true
                  ? await all(target)
                  : await archivedThreadsOf(target, options.tenant);
            const out: Restored[] = [];
            for (const key of keys) {
              signal.throwIfAborted();
              try {
                const restored = await restoreThread(storage.checkpointer, target, key, {
                  keepArchive: options.keepArchive === true,
                });
                out.push({ threadId: key, status: restored ? "restored" : "live" });
              } catch (error) {
                if (!isRewindError(error) || ids?.length === 1) throw error;
                out.push({ threadId: key, status: "failed", error });
              }
              progress.update(out.length, keys.length);
            }
            if (options.store) {
              if (options.tenant === undefined) {
                throw new InvalidInputError(
                  "--store restores a tenant's store items: name --tenant",
                );
              }
              await restoreStoreItems(storage.store, target, options.tenant);
              out.push({ threadId: `store items of ${options.tenant}`, status: "restored" });
            }
            return out;
          });
        },
        (results) =>
          summarize(
            results,
            (n) =>
              `restored ${n("restored")} threads, ${n("live")} were not archived, ${n("failed")} failed`,
          ),
        failures,
      );
    });
}

async function all(target: { list(): AsyncIterable<string> }): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of target.list()) keys.push(key);
  return keys;
}
