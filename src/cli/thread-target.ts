/**
 * What the thread commands (`threads`, `history`, `show`, `diff`, `fork`, `resume`) share: the
 * database and the thread they name (`--tenant` for a tenant's thread), opened for one piece of
 * work and closed after it.
 */
import type { Command } from "commander";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { threadKey } from "../checkpoint/thread-key.js";
import { openStorage } from "./storage.js";

/** Flags every thread command takes. */
export interface ThreadFlags {
  schema?: string;
  tenant?: string;
  json?: boolean;
}

/** Adds the shared flags to a command. */
export function threadCommand(command: Command): Command {
  return command
    .option("--schema <name>", "PostgreSQL schema (default: rewind)")
    .option("--tenant <id>", "the thread belongs to this tenant")
    .option("--json", "print JSON for scripts");
}

/** Opens `target`, runs `work` on its checkpointer, closes it. */
export async function onStorage<T>(
  target: string,
  flags: ThreadFlags,
  work: (checkpointer: Checkpointer, label: string) => Promise<T>,
): Promise<T> {
  const storage = await openStorage(target, { schema: flags.schema });
  try {
    return await work(storage.checkpointer, storage.label);
  } finally {
    await storage.close();
  }
}

/** The storage key of `thread` (of `--tenant`, if given); a malformed id is refused. */
export function keyOf(thread: string, flags: ThreadFlags): string {
  return threadKey(thread, flags.tenant);
}
