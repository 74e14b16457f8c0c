/** `rewind show <target> <thread> [checkpoint]`: one checkpoint's state, metadata and interrupts. */
import type { Command } from "commander";
import { readCheckpoint } from "../../inspect/inspect-reads.js";
import { runCommand } from "../run.js";
import { keyOf, onStorage, type ThreadFlags, threadCommand } from "../thread-target.js";

export function registerShow(program: Command): void {
  threadCommand(
    program
      .command("show")
      .description("a checkpoint's state, metadata and pending interrupts (the head by default)")
      .argument("<target>", "an SQLite file or a postgres:// URL")
      .argument("<thread>", "the thread id")
      .argument("[checkpoint]", "a checkpoint id (default: the thread's head)"),
  ).action((target: string, thread: string, checkpoint: string | undefined, flags: ThreadFlags) =>
    runCommand(
      flags,
      "checkpoints",
      () =>
        onStorage(target, flags, (checkpointer) =>
          readCheckpoint(checkpointer, keyOf(thread, flags), checkpoint),
        ),
      (view) =>
        [
          `checkpoint ${view.checkpointId}  step ${view.step}  ${view.status}  ${view.createdAt}`,
          `parent     ${view.parentId ?? "(none)"}`,
          `next       ${view.next.join(", ") || "(nothing: done)"}`,
          `metadata   ${JSON.stringify(view.metadata)}`,
          ...view.interrupts.map(
            (i) => `interrupt  ${i.id} (${i.node}): ${JSON.stringify(i.value)}`,
          ),
          "state:",
          JSON.stringify(view.state, null, 2),
        ].join("\n"),
    ),
  );
}
