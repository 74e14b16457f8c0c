/** Starts a worker process (worker-process.ts) and tells when it is ready and when it exits. */
import { type ChildProcess, spawn } from "node:child_process";
import { nodeArgs } from "../support/ts-entry.js";

const PROCESS = new URL("./worker-process.ts", import.meta.url).pathname;

export type WorkerChild = ReturnType<typeof startWorker>;

export function startWorker(url: string, schema: string, ttl: number, audit = false) {
  const child: ChildProcess = spawn(
    process.execPath,
    nodeArgs(PROCESS, url, schema, String(ttl), ...(audit ? ["audit"] : [])),
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d) => String(d).includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`worker exited ${code}: ${err}`)));
  });
  ready.catch(() => undefined);
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const worker = { child, ready, exit, up: false };
  ready.then(
    () => {
      worker.up = true;
    },
    () => undefined,
  );
  return worker;
}
