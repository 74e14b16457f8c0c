/**
 * `rewind stats <target>`: threads, checkpoints and bytes, per tenant, and the biggest threads;
 * and the large values the database keeps (stored bytes, references, dedupe ratio).
 */
import type { Command } from "commander";
import type { ThreadSummary } from "../../checkpoint/checkpoint-backend.js";
import {
  collectsLargeValues,
  type LargeValueStats,
  largeValueStats,
} from "../../checkpoint/large-value-gc.js";
import { parseThreadKey, threadKey } from "../../checkpoint/thread-key.js";
import { formatBytes, parseCount } from "../cli-flags.js";
import { UsageError } from "../cli-run.js";
import { openStorage } from "../storage.js";

interface StatsFlags {
  schema?: string;
  tenant?: string;
  thread?: string;
  top: string;
  json?: boolean;
}

const PAGE = 500;

export function registerStats(program: Command): void {
  program
    .command("stats")
    .description("threads, checkpoints and bytes per tenant and thread, and the biggest threads")
    .argument("<target>", "an SQLite file or a postgres:// URL")
    .option("--schema <name>", "PostgreSQL schema (default: rewind)")
    .option("--tenant <id>", "only this tenant's threads")
    .option("--thread <id>", "only this thread (of --tenant, if given)")
    .option("--top <n>", "how many of the biggest threads to list", "10")
    .option("--json", "print JSON for scripts")
    .action(async (target: string, flags: StatsFlags) => {
      const top = parseCount(flags.top, "--top");
      const storage = await openStorage(target, { schema: flags.schema });
      try {
        const threads = await readThreads(storage.checkpointer.door, flags);
        if (flags.thread !== undefined && threads.length === 0) {
          throw new UsageError(`unknown thread "${flags.thread}"`);
        }
        const stats = {
          ...summarize(threads, top),
          ...(collectsLargeValues(storage.checkpointer)
            ? { largeValues: await largeValueStats(storage.checkpointer) }
            : {}),
        };
        process.stdout.write(flags.json ? `${JSON.stringify(stats)}\n` : render(stats));
      } finally {
        await storage.close();
      }
    });
}

async function readThreads(
  door: {
    listThreads(q: { after?: string; prefix?: string; limit: number }): Promise<ThreadSummary[]>;
  },
  flags: StatsFlags,
): Promise<ThreadSummary[]> {
  const exact = flags.thread === undefined ? undefined : threadKey(flags.thread, flags.tenant);
  const prefix =
    exact ?? (flags.tenant === undefined ? undefined : threadKey("x", flags.tenant).slice(0, -1));
  const out: ThreadSummary[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await door.listThreads({ after, prefix, limit: PAGE });
    out.push(...(exact === undefined ? page : page.filter((t) => t.threadId === exact)));
    if (page.length < PAGE) return out;
    after = page.at(-1)!.threadId;
  }
}

function summarize(threads: readonly ThreadSummary[], top: number) {
  const tenants: Record<string, { threads: number; checkpoints: number; bytes: number }> = {};
  let checkpoints = 0;
  let bytes = 0;
  for (const t of threads) {
    checkpoints += t.checkpoints;
    bytes += t.bytes;
    const tenant = parseThreadKey(t.threadId).tenantId ?? "";
    tenants[tenant] ??= { threads: 0, checkpoints: 0, bytes: 0 };
    const into = tenants[tenant];
    into.threads++;
    into.checkpoints += t.checkpoints;
    into.bytes += t.bytes;
  }
  const biggest = [...threads]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top)
    .map((t) => ({
      ...parseThreadKey(t.threadId),
      checkpoints: t.checkpoints,
      bytes: t.bytes,
      updatedAt: t.updatedAt,
    }));
  return { threads: threads.length, checkpoints, bytes, tenants, biggest };
}

function render(
  stats: ReturnType<typeof summarize> & { largeValues?: LargeValueStats | undefined },
): string {
  const large = stats.largeValues;
  const lines = [
    `threads      ${stats.threads}`,
    `checkpoints  ${stats.checkpoints}`,
    `bytes        ${formatBytes(stats.bytes)}`,
    ...(large
      ? [
          `large values ${large.values} (${formatBytes(large.storedBytes)} stored, ${large.references} references, dedupe ${large.dedupeRatio.toFixed(2)}x)`,
        ]
      : []),
    "",
    "per tenant:",
    ...Object.entries(stats.tenants).map(
      ([tenant, t]) =>
        `  ${tenant || "(default)"}  ${t.threads} threads, ${t.checkpoints} checkpoints, ${formatBytes(t.bytes)}`,
    ),
    "",
    "biggest threads:",
    ...stats.biggest.map(
      (t) =>
        `  ${t.tenantId ? `${t.tenantId}/` : ""}${t.threadId}  ${t.checkpoints} checkpoints, ${formatBytes(t.bytes)}, last ${t.updatedAt}`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}
