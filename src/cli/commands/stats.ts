/**
 * `rewind stats <target>`: threads, checkpoints and bytes, per tenant, and the biggest threads;
 * and the large values the database keeps (stored bytes, references, dedupe ratio).
 */
import type { Command } from "commander";
import { type DatabaseStorage, readDatabaseStorage } from "../../inspect/database-storage.js";
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
        const stats = await readDatabaseStorage(storage.checkpointer, { ...flags, top });
        if (flags.thread !== undefined && stats.threads === 0) {
          throw new UsageError(`unknown thread "${flags.thread}"`);
        }
        process.stdout.write(flags.json ? `${JSON.stringify(stats)}\n` : render(stats));
      } finally {
        await storage.close();
      }
    });
}

function render(stats: DatabaseStorage): string {
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
