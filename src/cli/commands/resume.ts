/**
 * `rewind resume <target> <thread> --answer JSON`: records the answer to the thread's pending
 * interrupt; the graph's next run on the thread continues the paused node with it.
 */
import type { Command } from "commander";
import { recordAnswer } from "../../inspect/inspect-writes.js";
import { UsageError } from "../cli-run.js";
import { runCommand } from "../run.js";
import { keyOf, onStorage, type ThreadFlags, threadCommand } from "../thread-target.js";

interface Flags extends ThreadFlags {
  answer?: string;
}

export function registerResume(program: Command): void {
  threadCommand(
    program
      .command("resume")
      .description("answer a thread's pending interrupt; its next run continues with the answer")
      .argument("<target>", "an SQLite file or a postgres:// URL")
      .argument("<thread>", "the thread id"),
  )
    .option("--answer <json>", "the answer (JSON; a map of interrupt id -> answer for several)")
    .action((target: string, thread: string, flags: Flags) =>
      runCommand(
        flags,
        "interrupts",
        () => {
          if (flags.answer === undefined) throw new UsageError("--answer <json> is required");
          let answer: unknown;
          try {
            answer = JSON.parse(flags.answer);
          } catch {
            throw new UsageError(
              `--answer must be JSON (quote text: '"yes"'), got ${flags.answer}`,
            );
          }
          return onStorage(target, flags, (checkpointer) =>
            recordAnswer(checkpointer, keyOf(thread, flags), answer),
          );
        },
        (r) =>
          `answered ${r.answered.join(", ")} at ${r.checkpointId}; the graph's next run on this thread (invoke(null)) continues with it`,
      ),
    );
}
