import { describe, expect, it } from "vitest";
import { MemoryBackend } from "../../src/backends/memory/index.js";
import { MemoryStoreBackend } from "../../src/backends/memory/memory-store.js";
import {
  describeCheckpointBackend,
  describeStoreBackend,
  FAKE_EPOCH,
  FakeClock,
} from "../../src/testing/index.js";

const checkpoints = () => new MemoryBackend();
const stores = () => new MemoryStoreBackend();

describe("conformance harness", () => {
  it("refuses, in both suites, a skip that names no case: a typo must not skip nothing", () => {
    const skip = [{ reason: "not supported", tests: ["no such case"] }];
    expect(() => describeCheckpointBackend("x", { create: checkpoints, skip })).toThrow(
      'no conformance case is named "no such case"',
    );
    expect(() => describeStoreBackend("x", { create: stores, skip })).toThrow(
      'no conformance case is named "no such case"',
    );
  });

  it("refuses, in both suites, a skip that gives no reason", () => {
    const skip = [{ reason: " ", tests: ["refuses bad keys"] }];
    expect(() => describeStoreBackend("x", { create: stores, skip })).toThrow("needs a reason");
    expect(() => describeCheckpointBackend("x", { create: checkpoints, skip })).toThrow(
      "needs a reason",
    );
  });
});

describe("FakeClock", () => {
  it("stands still until advanced, and only moves forward", () => {
    const clock = new FakeClock();
    const { now } = clock;
    expect(now()).toBe(FAKE_EPOCH);
    clock.advance(1_500);
    expect(now()).toBe(FAKE_EPOCH + 1_500);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(new FakeClock(0).now()).toBe(0);
  });
});
