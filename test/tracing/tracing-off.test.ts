/**
 * Without an OpenTelemetry SDK (this file registers none), runs record nothing and store no
 * trace context with their checkpoints.
 */
import { trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { lastValue, MemoryBackend, START, StateGraph } from "../../src/index.js";

describe("OpenTelemetry without an SDK", () => {
  it("stores no trace context and has no recording span", async () => {
    let recording: boolean | undefined;
    const app = new StateGraph({ n: lastValue<number>(() => 0) })
      .addNode("inc", (s) => {
        recording = trace.getActiveSpan()?.isRecording() ?? false;
        return { n: s.n + 1 };
      })
      .addEdge(START, "inc")
      .compile({ checkpointer: new MemoryBackend() });
    await app.invoke({ n: 1 }, { threadId: "off" });
    expect(recording).toBe(false);
    const state = await app.getState({ threadId: "off" });
    expect(state?.values.n).toBe(2);
    expect(state?.metadata).not.toHaveProperty("traceparent");
  });
});
