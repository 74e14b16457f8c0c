/**
 * How the command line runs and fails: one line on stderr (`rewind: ...`) and a non-zero exit
 * code for anything wrong (bad flags, bad input, a storage that cannot be opened), never a stack.
 * Exit codes: 0 done, 1 failed, 2 bad usage, 130 stopped by Ctrl-C (a rerun continues).
 */
import { type Command, CommanderError } from "commander";
import { isRewindError } from "../errors.js";

/** A usage error: the message is shown as is, with exit code 2. */
export class UsageError extends Error {}

/** Exit code of a run stopped by SIGINT (128 + 2). */
export const INTERRUPTED_EXIT = 130;

/** Parses argv and runs the chosen command; failures end the process with one line. */
export async function runProgram(program: Command): Promise<void> {
  program.exitOverride().configureOutput({ writeErr: () => undefined });
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeErr: () => undefined });
  }
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return;
      if (error.code === "commander.help") {
        process.stderr.write(program.helpInformation());
        process.exit(2);
      }
      fail(error.message.replace(/^error: /, ""), 2);
    }
    if (error instanceof UsageError) fail(error.message, 2);
    if (isRewindError(error)) fail(error.message, 1);
    fail(error instanceof Error ? error.message : String(error), 1);
  }
}

function fail(message: string, code: number): never {
  process.stderr.write(`rewind: ${message.split("\n")[0]}\n`);
  process.exit(code);
}
