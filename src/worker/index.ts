/**
 * `rewind/worker`: runs across many processes and machines on one PostgreSQL database, on the
 * pg-boss queue (an optional peer dependency). Workers register graphs by name and run submitted
 * jobs; clients submit, wait, cancel and list.
 *
 * @example
 * import { createRunClient, createWorker } from "rewind/worker";
 * const worker = await createWorker({ database: url, graphs: { trip: app }, handleSignals: true });
 * const client = await createRunClient({ database: url });
 * const run = await client.submit("trip", { messages: "Tokyo" }, { threadId: "trip-1" });
 * const outcome = await run.result(); // "done", or "interrupted" with the questions asked
 */
export { RunFailedError } from "../errors.js";
export {
  createRunClient,
  type RunClient,
  type RunClientOptions,
  type RunHandle,
  type RunInfo,
  type RunState,
  type SubmitOptions,
} from "./run-client.js";
export { createWorker, type Worker, type WorkerOptions } from "./worker.js";
export { DEFAULT_QUEUE_SCHEMA, type QueueConnection, type RunOutcome } from "./worker-queue.js";
