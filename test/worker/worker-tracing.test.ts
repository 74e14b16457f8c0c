/**
 * A run submitted to a worker continues the submitter's trace: the trace context travels with
 * the job (in-memory exporter of the OpenTelemetry SDK, worker in this process).
 */
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { createRunClient, createWorker } from "../../src/worker/index.js";
import { adminPool, freshSchema, PG_SERIAL_ONLY, PG_URL } from "../support/postgres.js";
import { turnGraph } from "./worker-graph.js";

describe.skipIf(PG_SERIAL_ONLY !== "")("a worker's run in the submitter's trace", () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  const schema = freshSchema("rewind_wkt");
  const queue = `${schema}_queue`;
  const checkpointer = createPostgresCheckpointer(PG_URL, { schema });
  afterAll(async () => {
    await checkpointer.close();
    await adminPool().query(`DROP SCHEMA IF EXISTS "${queue}" CASCADE`);
    await provider.shutdown();
  });

  it("links the worker's run span under the submitting span", async () => {
    const worker = await createWorker({
      database: PG_URL,
      schema: queue,
      graphs: { turns: turnGraph(checkpointer) },
      pollIntervalMs: 500,
    });
    const client = await createRunClient({ database: PG_URL, schema: queue });
    try {
      const tracer = trace.getTracer("test");
      const submitted = await tracer.startActiveSpan("submit request", async (span) => {
        const run = await client.submit("turns", { turns: "t" }, { threadId: "traced" });
        span.end();
        return { run, span };
      });
      await submitted.run.result();
      const runSpan = exporter.getFinishedSpans().find((s) => s.name === "invoke_agent rewind")!;
      expect(runSpan.spanContext().traceId).toBe(submitted.span.spanContext().traceId);
      expect(runSpan.parentSpanContext?.spanId).toBe(submitted.span.spanContext().spanId);
    } finally {
      await client.close();
      await worker.stop();
    }
  });
});
