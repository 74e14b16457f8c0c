/** The inspector's diff: message lists matched by message id, everything else as diffValues. */
import { describe, expect, it } from "vitest";
import { diffStates, diffValues } from "../../src/graph/diff.js";

const m = (id: string, content: string) => ({ id, role: "user", content });

describe("diffStates", () => {
  it("a message inserted early is one addition, not a shift of every later message", () => {
    const before = { messages: [m("a", "hi"), m("b", "there")], n: 1 };
    const after = { messages: [m("x", "new"), m("a", "hi"), m("b", "there!")], n: 2 };
    expect(diffStates(before, after)).toEqual([
      { path: ["messages", 0], kind: "added", after: m("x", "new") },
      { path: ["messages", 2, "content"], kind: "changed", before: "there", after: "there!" },
      { path: ["n"], kind: "changed", before: 1, after: 2 },
    ]);
    // Positional, as diffValues compares: every message looks changed.
    expect(diffValues(before, after).length).toBeGreaterThan(3);
  });

  it("a removed message is reported at its old index; lists without ids stay positional", () => {
    expect(
      diffStates({ messages: [m("a", "1"), m("b", "2")] }, { messages: [m("b", "2")] }),
    ).toEqual([{ path: ["messages", 0], kind: "removed", before: m("a", "1") }]);
    expect(diffStates({ xs: [1, 2] }, { xs: [2] })).toEqual(
      diffValues({ xs: [1, 2] }, { xs: [2] }),
    );
  });
});
