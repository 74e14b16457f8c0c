/** `rewind diff <target> <thread> <a> <b>`: what changed in the state from checkpoint a to b. */
import type { Command } from "commander";
import { diffCheckpoints } from "../../inspect/inspect-reads.js";
import { runCommand } from "../run.js";
import { keyOf, onStorage, type ThreadFlags, threadCommand } from "../thread-target.js";

export function registerDiff(program: Command): void {
  threadCommand(
    program
      .command("diff")
      .description("added, removed and changed state between two checkpoints (messages by id)")
      .argument("<target>", "an SQLite file or a postgres:// URL")
      .argument("<thread>", "the thread id")
      .argument("<a>", "the checkpoint to compare from")
      .argument("<b>", "the checkpoint to compare to"),
  ).action((target: string, thread: string, a: string, b: string, flags: ThreadFlags) =>
    runCommand(
      flags,
      "changes",
      () =>
        onStorage(target, flags, (checkpointer) =>
          diffCheckpoints(checkpointer, keyOf(thread, flags), a, b),
        ),
      (changes) =>
        changes.length === 0
          ? "no changes"
          : changes
              .map((c) => {
                const at = c.path.join(".") || "(root)";
                if (c.kind === "added") return `+ ${at}: ${JSON.stringify(c.after)}`;
                if (c.kind === "removed") return `- ${at}: ${JSON.stringify(c.before)}`;
                return `~ ${at}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`;
              })
              .join("\n"),
    ),
  );
}
