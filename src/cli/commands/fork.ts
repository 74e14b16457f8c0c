/**
 * `rewind fork <target> <thread> <checkpoint> --set key=value | --file patch.json`: a new branch
 * from a checkpoint with edited channels (a storage write; no graph code is run).
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { forkWithValues } from "../../inspect/inspect-writes.js";
import { UsageError } from "../cli-run.js";
import { runCommand } from "../run.js";
import { keyOf, onStorage, type ThreadFlags, threadCommand } from "../thread-target.js";

interface Flags extends ThreadFlags {
  set?: string[];
  file?: string;
}

export function registerFork(program: Command): void {
  threadCommand(
    program
      .command("fork")
      .description("store a new branch from a checkpoint with edited channel values")
      .argument("<target>", "an SQLite file or a postgres:// URL")
      .argument("<thread>", "the thread id")
      .argument("<checkpoint>", "the checkpoint to branch from"),
  )
    .option(
      "--set <channel=value>",
      "replace a channel's value (JSON, or else taken as text); repeatable",
      (v: string, all: string[] = []) => [...all, v],
    )
    .option("--file <patch.json>", "a JSON object of channel -> new value")
    .action((target: string, thread: string, checkpoint: string, flags: Flags) =>
      runCommand(
        flags,
        "checkpoints",
        () => {
          const values = editsOf(flags);
          return onStorage(target, flags, (checkpointer) =>
            forkWithValues(checkpointer, keyOf(thread, flags), checkpoint, values),
          );
        },
        (r) =>
          [
            `forked ${r.checkpointId} from ${r.parentId} (set ${r.channels.join(", ")})`,
            `side effects recorded after ${r.parentId}: ${r.effects.reused.length} would be reused, ${r.effects.unknown.length} never reported back (their policy decides), ${r.effects.rerun.length} run anew`,
            "run the graph on this thread to continue the new branch",
          ].join("\n"),
      ),
    );
}

function editsOf(flags: Flags): Record<string, unknown> {
  if ((flags.set === undefined) === (flags.file === undefined)) {
    throw new UsageError("give either --set channel=value (repeatable) or --file patch.json");
  }
  if (flags.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(flags.file, "utf8"));
    } catch (error) {
      throw new UsageError(`cannot read --file ${flags.file}: ${(error as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new UsageError("--file must hold a JSON object of channel -> value");
    }
    return parsed as Record<string, unknown>;
  }
  const edits: Record<string, unknown> = {};
  for (const pair of flags.set ?? []) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new UsageError(`--set takes channel=value, got "${pair}"`);
    const text = pair.slice(eq + 1);
    edits[pair.slice(0, eq)] = parseOrText(text);
  }
  return edits;
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
