/** `rewind history <target> <thread>`: the thread's checkpoint tree, drawn in text. */
import type { Command } from "commander";
import { lineageJson, readHistory, renderHistory } from "../../inspect/thread-history.js";
import { UsageError } from "../cli-run.js";
import { runCommand } from "../run.js";
import { keyOf, onStorage, type ThreadFlags, threadCommand } from "../thread-target.js";

export function registerHistory(program: Command): void {
  threadCommand(
    program
      .command("history")
      .description("a thread's checkpoints as a tree: forks, branch heads, the current head marked")
      .argument("<target>", "an SQLite file or a postgres:// URL")
      .argument("<thread>", "the thread id"),
  ).action((target: string, thread: string, flags: ThreadFlags) => {
    let tree = "";
    return runCommand(
      flags,
      "checkpoints",
      () =>
        onStorage(target, flags, async (checkpointer) => {
          const lineage = await readHistory(checkpointer, keyOf(thread, flags));
          if (lineage.nodes.size === 0 && (lineage.damaged ?? []).length === 0) {
            throw new UsageError(`thread "${thread}" has no checkpoints`);
          }
          tree = renderHistory(lineage);
          return lineageJson(lineage);
        }),
      (history) =>
        [tree, ...history.damaged.map((d) => `damaged ${d.checkpointId}: ${d.reason}`)].join("\n"),
    );
  });
}
