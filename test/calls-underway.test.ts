import { describe, expect, it } from "vitest";
import { CallsUnderway } from "../src/calls-underway.js";

/** Whether `promise` has settled once the microtasks queued so far have run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe("CallsUnderway", () => {
  it("settled() waits for every call begun before it, however each ends, and for no later one", async () => {
    const calls = new CallsUnderway();
    const endFirst = calls.begin();
    let rejectTracked!: (error: Error) => void;
    const tracked = calls.track(
      new Promise<void>((_, reject) => {
        rejectTracked = reject;
      }),
    );
    tracked.catch(() => undefined);
    const settled = calls.settled();
    const endLater = calls.begin();

    expect(await isSettled(settled)).toBe(false);
    endFirst();
    endFirst(); // a second end changes nothing
    expect(await isSettled(settled)).toBe(false);
    rejectTracked(new Error("refused"));
    expect(await isSettled(settled)).toBe(true);
    // The call begun after settled() still runs, and the next settled() waits for it.
    const again = calls.settled();
    expect(await isSettled(again)).toBe(false);
    endLater();
    expect(await isSettled(again)).toBe(true);
  });

  it("settled() answers at once when nothing is under way", async () => {
    const calls = new CallsUnderway();
    calls.begin()();
    expect(await isSettled(calls.settled())).toBe(true);
  });
});
