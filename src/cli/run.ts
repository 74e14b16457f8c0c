/**
 * What every command shares: `--json` output, a progress bar with rate and ETA on stderr (when
 * it is a terminal), Ctrl-C that stops between units of work (a rerun continues), and errors
 * turned into one clear line and a non-zero exit code (2 for bad usage, as `cli-run.ts` says).
 */
import { isRewindError } from "../errors.js";
import { Progress } from "./cli-progress-bar.js";
import { UsageError } from "./cli-run.js";

/** Options every command takes. */
export interface CommonOptions {
  readonly json?: boolean;
}

/**
 * Runs a command: `work` gets an abort signal (Ctrl-C) and a progress bar, and returns what to
 * print (as JSON with `--json`, else through `describe`). Exit codes: 0 done, 1 error or some
 * items failed, 130 interrupted.
 */
export async function runCommand<T>(
  options: CommonOptions,
  unit: string,
  work: (signal: AbortSignal, progress: Progress) => Promise<T>,
  describe: (result: T) => string,
  failed: (result: T) => number = () => 0,
): Promise<void> {
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once("SIGINT", interrupt);
  const progress = new Progress(unit, options.json === true);
  try {
    const result = await work(controller.signal, progress);
    progress.stop();
    process.stdout.write(
      options.json ? `${JSON.stringify(result, jsonValue, 1)}\n` : `${describe(result)}\n`,
    );
    if (failed(result) > 0) process.exitCode = 1;
  } catch (error) {
    progress.stop();
    if (controller.signal.aborted) {
      process.stderr.write(
        "rewind: interrupted; what was finished is kept, run again to continue\n",
      );
      process.exitCode = 130;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof UsageError) {
      if (options.json)
        process.stdout.write(`${JSON.stringify({ error: message, code: "USAGE" })}\n`);
      process.stderr.write(`rewind: ${message}\n`);
      process.exitCode = 2;
      return;
    }
    const code = isRewindError(error) ? ` [${error.code}]` : "";
    if (options.json)
      process.stdout.write(`${JSON.stringify({ error: message, code: code.trim() })}\n`);
    process.stderr.write(`rewind: ${message}${code}\n`);
    process.exitCode = 1;
  } finally {
    process.off("SIGINT", interrupt);
  }
}

/** Errors as their code and message in JSON output. */
function jsonValue(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { code: isRewindError(value) ? value.code : "ERROR", message: value.message };
  }
  return value;
}

/** Splits repeated or comma-separated option values. */
export function listOf(values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  return values.flatMap((v) => v.split(",")).filter((v) => v.length > 0);
}

/** A per-thread result, as archive, restore and import report them. */
export interface ThreadOutcome {
  readonly threadId: string;
  readonly status: string;
  readonly error?: { readonly message: string } | undefined;
}

/**
 * One summary line from a count per status (`headline` gets the counter), then a line per failed
 * thread with its error.
 */
export function summarize(
  results: readonly ThreadOutcome[],
  headline: (count: (status: string) => number) => string,
): string {
  const count = (status: string) => results.filter((r) => r.status === status).length;
  const lines = [headline(count)];
  for (const r of results.filter((x) => x.status === "failed")) {
    lines.push(`  failed ${JSON.stringify(r.threadId)}: ${r.error?.message}`);
  }
  if (count("failed") > 0) lines.push("run the same command again to retry the failed threads");
  return lines.join("\n");
}

/** How many results failed. */
export function failures(results: readonly ThreadOutcome[]): number {
  return results.filter((r) => r.status === "failed").length;
}
