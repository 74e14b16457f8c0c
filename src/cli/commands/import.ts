/**
 * `rewind import <database> <source>`: a Rewind export directory, or (`--from`) the threads of
 * LangGraph.js's SqliteSaver (a file) or PostgresSaver (a URL).
 */
import type { Command } from "commander";
import { importThreads } from "../../archive/import-threads.js";
import { UsageError } from "../cli-run.js";
import { openLangGraphSaver } from "../langgraph-source.js";
import { listOf, runCommand, summarize } from "../run.js";
import { openStorage } from "../storage.js";

const SOURCES = ["rewind", "langgraph-sqlite", "langgraph-postgres"];

interface Summary {
  readonly threads: readonly {
    threadId: string;
    status: string;
    checkpoints: number;
    error?: unknown;
  }[];
  readonly items?: number;
  readonly failed: number;
}

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("import an export directory, or LangGraph.js saver threads (--from)")
    .argument("<database>", "SQLite file (created if missing) or postgres:// URL")
    .argument("<source>", "export directory; with --from langgraph-*, the LangGraph database")
    .option("--from <kind>", `what <source> is: ${SOURCES.join(", ")}`, "rewind")
    .option("--thread <ids...>", "only these threads (storage keys; LangGraph thread ids)")
    .option("--tenant <id>", "LangGraph import: the Rewind tenant the threads go to")
    .option("--source-schema <name>", "PostgresSaver schema (default public)")
    .option("--schema <name>", "PostgreSQL schema of the Rewind database")
    .option("--json", "print the result as JSON")
    .action(async (database: string, source: string, options) => {
      await runCommand<Summary>(
        options,
        "threads",
        async (signal, progress) => {
          if (!SOURCES.includes(options.from)) {
            throw new UsageError(`--from must be one of ${SOURCES.join(", ")}`);
          }
          const storage = await openStorage(database, { create: true, schema: options.schema });
          try {
            if (options.from === "rewind") {
              const result = await importThreads(storage.checkpointer, source, {
                store: storage.store,
                threadIds: listOf(options.thread),
                signal,
                onProgress: (p) => progress.update(p.threadsDone, p.threadsTotal, p.checkpoints),
              });
              return { threads: result.threads, items: result.items, failed: result.failed };
            }
            // Loaded here: LangGraph's packages are heavy and no other command needs them.
            const { importLangGraphThreads } = await import("../../langgraph/langgraph-import.js");
            const saver = await openLangGraphSaver(options.from, source, options.sourceSchema);
            try {
              const threads = await importLangGraphThreads(saver.saver, storage.checkpointer, {
                threadIds: listOf(options.thread),
                tenantId: options.tenant,
                signal,
                onProgress: (done, total, checkpoints) => progress.update(done, total, checkpoints),
              });
              return { threads, failed: threads.filter((t) => t.status === "failed").length };
            } finally {
              await saver.close();
            }
          } finally {
            await storage.close();
          }
        },
        describe,
        (s) => s.failed,
      );
    });
}

function describe(s: Summary): string {
  const checkpoints = s.threads.reduce((n, t) => n + t.checkpoints, 0);
  const items = s.items === undefined ? "" : `, ${s.items} store items`;
  return summarize(
    s.threads.map((t) => ({ ...t, error: t.error as Error | undefined })),
    (n) =>
      `imported ${n("imported")} threads (${checkpoints} checkpoints), skipped ${n("skipped")} already present, ${s.failed} failed${items}`,
  );
}
