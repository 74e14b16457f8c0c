/**
 * What Rewind's OpenTelemetry spans cost. In one process: the 10-node linear graph on the
 * in-memory backend with no SDK registered (every span the API's no-op), the same span calls
 * alone (`traced()` with nothing inside) to give the no-op's share of a run, then the graph
 * again with the SDK recording every span (in-memory exporter). `npm run bench:tracing`.
 */
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { createCheckpointer } from "../src/checkpoint/checkpointer.js";
import { MemoryBackend } from "../src/index.js";
import { traced } from "../src/tracing.js";
import { linearGraph, NODES } from "./workloads.js";

const RUNS = Number(process.env.RUNS ?? 2000);

async function runsPerSecond(): Promise<{ perRun: number; spans: number }> {
  const app = linearGraph(createCheckpointer(new MemoryBackend()));
  for (let i = 0; i < 200; i++) await app.invoke({}, { threadId: `warm-${i}` });
  const t0 = performance.now();
  for (let i = 0; i < RUNS; i++) await app.invoke({}, { threadId: `t-${i}-${Math.random()}` });
  return { perRun: (performance.now() - t0) / RUNS, spans: 0 };
}

async function noopSpanCost(): Promise<number> {
  const n = 200_000;
  const empty = async () => undefined;
  for (let i = 0; i < 20_000; i++) await traced("x", { a: 1 }, empty);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await traced("x", { a: 1 }, empty);
  const withSpan = (performance.now() - t0) / n;
  const t1 = performance.now();
  for (let i = 0; i < n; i++) await empty();
  return withSpan - (performance.now() - t1) / n;
}

const off = await runsPerSecond();
const spanMs = await noopSpanCost();
// Spans per run of the linear graph: run, head read, per step a superstep, a task and a write.
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);
const app = linearGraph(createCheckpointer(new MemoryBackend()));
exporter.reset();
await app.invoke({}, { threadId: "count" });
const spansPerRun = exporter.getFinishedSpans().length;
exporter.reset();
const on = await runsPerSecond();
const noopShare = (spansPerRun * spanMs) / off.perRun;
console.log(`linear graph, ${NODES} nodes, ${RUNS} runs, in-memory backend`);
console.log(
  `no SDK:           ${(1000 / off.perRun).toFixed(0)} runs/s (${(off.perRun * 1000).toFixed(0)} µs/run)`,
);
console.log(
  `no-op span:       ${(spanMs * 1e6).toFixed(0)} ns each; ${spansPerRun} spans/run = ${(noopShare * 100).toFixed(2)}% of a run`,
);
console.log(
  `SDK recording:    ${(1000 / on.perRun).toFixed(0)} runs/s (${(on.perRun * 1000).toFixed(0)} µs/run, ${(on.perRun / off.perRun).toFixed(2)}x the no-SDK time)`,
);
await provider.shutdown();
