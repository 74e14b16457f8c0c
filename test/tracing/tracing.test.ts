/**
 * OpenTelemetry spans with the SDK's in-memory exporter: a run's span tree (run, super-steps,
 * tasks, checkpoint reads and writes, store batches) with the GenAI attributes, no payload
 * values recorded, and a run that pauses for a human and is resumed later continuing the same
 * trace, as does a run submitted to a worker.
 */
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MemoryStoreBackend } from "../../src/backend.js";
import {
  Command,
  createStore,
  interrupt,
  lastValue,
  MemoryBackend,
  START,
  StateGraph,
} from "../../src/index.js";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

function approvalGraph() {
  const store = createStore(new MemoryStoreBackend());
  return new StateGraph({
    city: lastValue<string>(() => ""),
    booked: lastValue<boolean>(() => false),
  })
    .addNode("plan", async (s, ctx) => {
      await ctx.store.put(["trips"], "last", { city: s.city });
      await ctx.effect("reserve_hotel", { city: s.city }, () => "reserved");
      return {};
    })
    .addNode("book", () => ({ booked: interrupt<boolean>({ question: "Book?" }) }))
    .addEdge(START, "plan")
    .addEdge("plan", "book")
    .compile({ checkpointer: new MemoryBackend(), store });
}

describe("OpenTelemetry spans", () => {
  it("records the run, its super-steps, tasks, checkpoint reads and writes and store batches", async () => {
    const app = approvalGraph();
    await app.invoke({ city: "Secret City" }, { threadId: "t-tree", tenantId: "acme" });
    const spans = exporter.getFinishedSpans();
    const names = spans.map((s) => s.name);
    const run = spans.find((s) => s.name === "invoke_agent rewind")!;
    expect(run.attributes["gen_ai.operation.name"]).toBe("invoke_agent");
    expect(run.attributes["gen_ai.conversation.id"]).toBe("t-tree");
    for (const name of [
      "rewind.superstep",
      "rewind.task plan",
      "rewind.task book",
      "rewind.checkpoint.read",
      "rewind.checkpoint.write",
      "rewind.store.batch",
      "execute_tool reserve_hotel",
    ])
      expect(names, name).toContain(name);
    // Everything but the head's read before the run span is in the run's trace, under it.
    const runId = run.spanContext().spanId;
    const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
    const underRun = (s: (typeof spans)[number]): boolean => {
      for (let p = s.parentSpanContext?.spanId; p; p = byId.get(p)?.parentSpanContext?.spanId)
        if (p === runId) return true;
      return false;
    };
    for (const s of spans.filter((s) => s !== run && s.name !== "rewind.checkpoint.read"))
      expect(underRun(s), s.name).toBe(true);
    const effect = spans.find((s) => s.name === "execute_tool reserve_hotel")!;
    expect(effect.attributes["gen_ai.operation.name"]).toBe("execute_tool");
    expect(effect.attributes["gen_ai.tool.name"]).toBe("reserve_hotel");
    expect(effect.attributes["rewind.effect.reused"]).toBe(false);
    const task = spans.find((s) => s.name === "rewind.task book")!;
    expect(task.attributes["rewind.task.outcome"]).toBe("interrupted");
    // Payload values are not recorded anywhere.
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain("Secret City");
  });

  it("continues the paused run's trace when the answer comes in another call", async () => {
    const app = approvalGraph();
    await app.invoke({ city: "Oslo" }, { threadId: "t-pause", tenantId: "acme" });
    const first = exporter.getFinishedSpans().find((s) => s.name === "invoke_agent rewind")!;
    exporter.reset();
    // The answer arrives under a request span of its own: it is linked, the trace continues.
    const tracer = trace.getTracer("test");
    await tracer.startActiveSpan("answer request", async (request) => {
      await app.invoke(Command.resume(true), { threadId: "t-pause", tenantId: "acme" });
      request.end();
    });
    const spans = exporter.getFinishedSpans();
    const second = spans.find((s) => s.name === "invoke_agent rewind")!;
    expect(second.spanContext().traceId).toBe(first.spanContext().traceId);
    expect(second.parentSpanContext?.spanId).toBe(first.spanContext().spanId);
    const request = spans.find((s) => s.name === "answer request")!;
    expect(second.links.map((l) => l.context.spanId)).toEqual([request.spanContext().spanId]);
    const state = await app.getState({ threadId: "t-pause", tenantId: "acme" });
    expect(state?.metadata.traceparent).toContain(second.spanContext().spanId);
  });
});
