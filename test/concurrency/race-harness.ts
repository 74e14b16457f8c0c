/** Spawns race workers and sends them commands at the same moment. */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { nodeArgs } from "../support/ts-entry.js";

const WORKER = new URL("./race-worker.ts", import.meta.url).pathname;

export class RaceWorker {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: ((line: string) => void)[] = [];
  readonly #lines: string[] = [];

  constructor(args: readonly string[]) {
    this.#child = spawn(process.execPath, nodeArgs(WORKER, ...args), { stdio: "pipe" });
    createInterface({ input: this.#child.stdout }).on("line", (line) => {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
    this.#child.stderr.on("data", (d) => process.stderr.write(d));
  }

  /** Sends a command and resolves with the worker's one-line answer. */
  send(command: Record<string, unknown>): Promise<any> {
    const answer = new Promise<string>((resolve) => {
      const early = this.#lines.shift();
      if (early !== undefined) resolve(early);
      else this.#waiting.push(resolve);
    });
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
    return answer.then((line) => JSON.parse(line));
  }

  kill(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) return resolve();
      this.#child.once("exit", () => resolve());
      this.#child.kill("SIGKILL");
    });
  }

  async close(): Promise<void> {
    this.#child.stdin.write(`${JSON.stringify({ op: "exit" })}\n`);
    await new Promise((resolve) => this.#child.once("exit", resolve));
  }
}

/** True when the log is whole turns in some order: each input directly followed by its reply. */
export function turnsIntact(log: readonly string[]): boolean {
  if (log.length % 2 !== 0) return false;
  for (let i = 0; i < log.length; i += 2) if (log[i + 1] !== `reply:${log[i]}`) return false;
  return true;
}
