/** `rewind threads <target>`: a page of threads with their status, size and last activity. */
import type { Command } from "commander";
import { threadKey } from "../../checkpoint/thread-key.js";
import {
  listThreadPage,
  parseMetadataFilter,
  type ThreadStatus,
} from "../../inspect/inspect-reads.js";
import { formatBytes, parseCount } from "../cli-flags.js";
import { UsageError } from "../cli-run.js";
import { runCommand } from "../run.js";
import { onStorage, type ThreadFlags, threadCommand } from "../thread-target.js";

interface Flags extends ThreadFlags {
  status?: string;
  search?: string;
  metadata?: string;
  after?: string;
  limit: string;
}

const STATUSES = ["running", "interrupted", "done", "failed", "damaged"];

export function registerThreads(program: Command): void {
  threadCommand(
    program
      .command("threads")
      .description("list threads: status, checkpoints, bytes and last activity, a page at a time")
      .argument("<target>", "an SQLite file or a postgres:// URL"),
  )
    .option("--status <status>", `only threads that are ${STATUSES.join(" / ")}`)
    .option("--search <text>", "only threads whose id contains this text")
    .option(
      "--metadata <json>",
      'only threads whose head\'s metadata matches, e.g. \'{"user":"ana"}\'',
    )
    .option("--after <key>", "the page after this thread (the previous page's `next`)")
    .option("--limit <n>", "threads per page", "50")
    .action((target: string, flags: Flags) =>
      runCommand(
        flags,
        "threads",
        async () => {
          const limit = parseCount(flags.limit, "--limit");
          if (flags.status !== undefined && !STATUSES.includes(flags.status)) {
            throw new UsageError(`--status must be one of ${STATUSES.join(", ")}`);
          }
          const metadata = parseMetadataFilter(flags.metadata);
          if (metadata instanceof Error) throw new UsageError(`--metadata: ${metadata.message}`);
          const prefix =
            flags.tenant === undefined ? undefined : threadKey("x", flags.tenant).slice(0, -1);
          return onStorage(target, flags, (checkpointer) =>
            listThreadPage(checkpointer, {
              after: flags.after,
              prefix,
              search: flags.search,
              metadata,
              status: flags.status as ThreadStatus | undefined,
              limit,
            }),
          );
        },
        (page) =>
          [
            ...page.threads.map(
              (t) =>
                `${t.tenantId ? `${t.tenantId}/` : ""}${t.threadId}  ${t.status}  ${t.checkpoints} checkpoints  ${formatBytes(t.bytes)}  last ${t.updatedAt}`,
            ),
            page.threads.length === 0 ? "no threads" : "",
            page.next === undefined ? "" : `more: --after ${JSON.stringify(page.next)}`,
          ]
            .filter((l) => l !== "")
            .join("\n"),
      ),
    );
}
