/**
 * `rewind prune <target> --dry-run|--apply`: a retention policy from flags, planned (the
 * default) or applied in small batches. Ctrl-C stops between two batches; a rerun continues.
 */
import type { Command } from "commander";
import { prune } from "../../retention/prune.js";
import type { PruneReport } from "../../retention/prune-report.js";
import type { RetentionRule } from "../../retention/retention-policy.js";
import { formatBytes, parseBytes, parseCount, parseDuration } from "../cli-flags.js";
import { Progress } from "../cli-progress-bar.js";
import { INTERRUPTED_EXIT, UsageError } from "../cli-run.js";
import { openStorage } from "../storage.js";
import { keyringFromFlags } from "./keys.js";

interface PruneFlags {
  dryRun?: boolean;
  apply?: boolean;
  keepLast?: string;
  maxAge?: string;
  idleTtl?: string;
  idleAction?: string;
  maxBytes?: string;
  tenant?: string;
  thread?: string;
  batchSize: string;
  schema?: string;
  json?: boolean;
  keyDir?: string;
  keyFile?: string;
  keyEnv?: string;
}

export function registerPrune(program: Command): void {
  program
    .command("prune")
    .description(
      "delete old checkpoints by a retention policy, never breaking time travel (plan first)",
    )
    .argument("<target>", "an SQLite file or a postgres:// URL")
    .option("--dry-run", "only report what would go (the default)")
    .option("--apply", "delete it")
    .option("--keep-last <n>", "keep the N newest checkpoints of each thread")
    .option("--max-age <duration>", "checkpoints older than this may go (e.g. 30d)")
    .option("--idle-ttl <duration>", "threads without a checkpoint for this long go whole")
    .option("--idle-action <action>", "delete (default) or archive idle threads")
    .option("--max-bytes <size>", "shrink each thread to at most this size (e.g. 10MB)")
    .option("--tenant <id>", "only this tenant's threads")
    .option("--thread <id>", "only this thread (of --tenant, if given)")
    .option("--batch-size <n>", "checkpoints deleted per transaction", "100")
    .option("--schema <name>", "PostgreSQL schema (default: rewind)")
    .option("--key-dir <dir>", "encrypted storage: the key directory (with --key-file/--key-env)")
    .option("--key-file <path>", "encrypted storage: the KEK file")
    .option("--key-env <var>", "encrypted storage: an environment variable holding the KEK")
    .option("--json", "print JSON for scripts")
    .action(async (target: string, flags: PruneFlags) => {
      if (flags.dryRun && flags.apply) throw new UsageError("give --dry-run or --apply, not both");
      const rule = ruleFromFlags(flags);
      const batchSize = parseCount(flags.batchSize, "--batch-size");
      const keys = await keyringFromFlags(flags);
      const storage = await openStorage(target, {
        schema: flags.schema,
        encryption: keys && { keys },
      });
      const { checkpointer } = storage;
      const stop = new AbortController();
      const onSigint = () => stop.abort();
      process.on("SIGINT", onSigint);
      const bar = new Progress("threads", flags.json === true);
      try {
        const report = await prune(checkpointer, rule, {
          dryRun: flags.apply !== true,
          tenantId: flags.tenant,
          threadId: flags.thread,
          batchSize,
          signal: stop.signal,
          onProgress: (done, total) => bar.update(done, total),
        });
        bar.stop();
        process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : render(report));
        if (report.interrupted) {
          process.stderr.write(
            "rewind: stopped between batches; run the same command again to continue\n",
          );
          process.exitCode = INTERRUPTED_EXIT;
        }
      } finally {
        bar.stop();
        process.off("SIGINT", onSigint);
        await storage.close();
      }
    });
}

function ruleFromFlags(flags: PruneFlags): RetentionRule {
  const action = flags.idleAction;
  if (action !== undefined && action !== "delete" && action !== "archive") {
    throw new UsageError(`--idle-action must be delete or archive, got "${action}"`);
  }
  const rule: RetentionRule = {
    keepLast: flags.keepLast === undefined ? undefined : parseCount(flags.keepLast, "--keep-last"),
    maxAgeMs: flags.maxAge === undefined ? undefined : parseDuration(flags.maxAge, "--max-age"),
    idleTtlMs: flags.idleTtl === undefined ? undefined : parseDuration(flags.idleTtl, "--idle-ttl"),
    idleAction: action as RetentionRule["idleAction"],
    maxBytesPerThread:
      flags.maxBytes === undefined ? undefined : parseBytes(flags.maxBytes, "--max-bytes"),
  };
  if (Object.values(rule).every((v) => v === undefined)) {
    throw new UsageError("give a policy: --keep-last, --max-age, --idle-ttl or --max-bytes");
  }
  return rule;
}

function render(report: PruneReport): string {
  const verb = report.dryRun ? "would go" : "went";
  const t = report.total;
  const lines = [
    `${report.dryRun ? "plan (dry run, nothing changed)" : "applied"}: ${report.scanned} threads looked at`,
    `${t.checkpoints} checkpoints, ${t.rows} rows, ${formatBytes(t.bytes)} ${verb} from ${t.threads} threads`,
  ];
  for (const [tenant, sum] of Object.entries(report.tenants)) {
    lines.push(
      `  tenant ${tenant || "(default)"}: ${sum.checkpoints} checkpoints, ${formatBytes(sum.bytes)}`,
    );
  }
  for (const thread of report.threads.slice(0, 20)) {
    const who = `${thread.tenantId ? `${thread.tenantId}/` : ""}${thread.threadId}`;
    const what =
      thread.action === "prune"
        ? `${thread.checkpoints} checkpoints (${thread.kept} kept)${thread.lost ? `; lost: ${thread.lost}` : ""}`
        : thread.action === "skipped"
          ? `skipped: ${thread.error}`
          : `${thread.action} whole thread (${thread.checkpoints} checkpoints)${thread.applied ? "" : thread.action === "archive" ? ", to archive" : ""}`;
    lines.push(`  ${who}: ${what}`);
  }
  if (report.threads.length > 20)
    lines.push(`  ... and ${report.threads.length - 20} more threads`);
  if (report.largeValues) {
    const { removed, values, bytesRemoved } = report.largeValues;
    lines.push(`large values: ${removed} of ${values} removed (${formatBytes(bytesRemoved)})`);
  }
  if (report.space) {
    lines.push(
      `space: ${formatBytes(report.space.bytesBefore)} -> ${formatBytes(report.space.bytesAfter)} (${report.space.method})`,
    );
  }
  return `${lines.join("\n")}\n`;
}
