/**
 * `rewind inspect <target>`: the inspector in a browser, served on 127.0.0.1 until Ctrl-C.
 */
import type { Command } from "commander";
import { UsageError } from "../cli-run.js";
import { openStorage } from "../storage.js";

interface Flags {
  schema?: string;
  port: string;
  host: string;
  readOnly?: boolean;
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("browse, diff, fork and resume threads in a local web page")
    .argument("<target>", "an SQLite file or a postgres:// URL")
    .option("--schema <name>", "PostgreSQL schema (default: rewind)")
    .option("--port <n>", "port to listen on (0: any free one)", "4870")
    .option(
      "--host <address>",
      "address to listen on (beyond 127.0.0.1 only if you mean it)",
      "127.0.0.1",
    )
    .option("--read-only", "refuse every write (fork, resume)")
    .action(async (target: string, flags: Flags) => {
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new UsageError(`--port must be a port number, got "${flags.port}"`);
      }
      const storage = await openStorage(target, { schema: flags.schema });
      try {
        // Loaded here: the web server is for this command alone.
        const { startInspector } = await import("../../inspect/inspect-server.js");
        const inspector = await startInspector({
          checkpointer: storage.checkpointer,
          label: storage.label,
          host: flags.host,
          port,
          readOnly: flags.readOnly === true,
        });
        process.stdout.write(
          `rewind inspect: ${storage.label}${flags.readOnly ? " (read-only)" : ""}\n` +
            `open ${inspector.url}\n` +
            "(the #token part lets that page fork and resume; Ctrl-C stops)\n",
        );
        await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
        await inspector.close();
      } finally {
        await storage.close();
      }
    });
}
