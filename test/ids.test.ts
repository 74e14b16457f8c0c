import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_THREAD_ID_LENGTH, newCheckpointId, validateThreadId } from "../src/backend.js";
import { InvalidInputError, threadIdFrom } from "../src/index.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function invalid(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).code).toBe("INVALID_INPUT");
    return error as InvalidInputError;
  }
  throw new Error("expected an InvalidInputError");
}

describe("validateThreadId", () => {
  it("accepts printable ids up to the maximum length", () => {
    for (const id of ["t", "user-42/session 7", "ünïcødé 😀", "x".repeat(MAX_THREAD_ID_LENGTH)]) {
      expect(validateThreadId(id)).toBe(id);
    }
  });

  it("rejects empty, oversized, non-string and control-character ids with a named error", () => {
    expect(invalid(() => validateThreadId("")).message).toContain("empty");
    expect(invalid(() => validateThreadId("x".repeat(MAX_THREAD_ID_LENGTH + 1))).message).toContain(
      String(MAX_THREAD_ID_LENGTH),
    );
    expect(invalid(() => validateThreadId(7)).message).toContain("number");
    invalid(() => validateThreadId(undefined));
    for (const ch of ["\u0000", "\n", "\t", "\u001b", "\u007f", "\u0085"]) {
      expect(invalid(() => validateThreadId(`a${ch}b`)).message).toContain("control");
    }
  });

  it("rejects unpaired surrogates, which PostgreSQL would store as one replacement character", () => {
    for (const id of ["user-\ud800", "user-\udbff", "\udc00x", "a\ud83d"]) {
      expect(invalid(() => validateThreadId(id)).message).toContain("surrogate");
    }
    expect(validateThreadId("user-\ud83d\ude00")).toBe("user-\ud83d\ude00");
  });

  it("names the argument it was validating", () => {
    expect(invalid(() => validateThreadId("", "parentThread")).message).toContain("parentThread");
  });
});

describe("threadIdFrom", () => {
  it("is deterministic and readable", () => {
    const parts = { tenant: "acme", user: "u1", session: 9 };
    expect(threadIdFrom(parts)).toBe(threadIdFrom({ ...parts }));
    expect(threadIdFrom(parts)).toBe("tenant=acme/user=u1/session=9");
  });

  it("escapes separators, so a part can never pose as two parts", () => {
    const pairs: [Record<string, string>, Record<string, string>][] = [
      [{ tenant: "acme/user=bob" }, { tenant: "acme", user: "bob" }],
      [{ a: "x=y" }, { "a=x": "y" }],
      [{ a: "%2F" }, { a: "/" }],
      [{ a: "%" }, { a: "%25" }],
      [{ a: "b", c: "d" }, { "a=b/c": "d" }],
    ];
    for (const [one, other] of pairs) {
      expect(threadIdFrom(one)).not.toBe(threadIdFrom(other));
    }
  });

  it("never maps two different sets of parts to one id (property)", () => {
    const parts = fc.dictionary(
      fc.string({ unit: fc.constantFrom("a", "b", "/", "=", "%", "2", "F", "é") }),
      fc.string({ minLength: 1, unit: fc.constantFrom("a", "/", "=", "%", "2", "5", "F", "D") }),
      { minKeys: 1, maxKeys: 4 },
    );
    fc.assert(
      fc.property(parts, parts, (a, b) => {
        const same = JSON.stringify(Object.entries(a)) === JSON.stringify(Object.entries(b));
        expect(threadIdFrom(a) === threadIdFrom(b)).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects no parts, empty parts, non-string parts and invalid results", () => {
    invalid(() => threadIdFrom({}));
    expect(invalid(() => threadIdFrom({ tenant: "" })).message).toContain("tenant");
    expect(
      invalid(() => threadIdFrom({ tenant: { id: 1 } as unknown as string })).message,
    ).toContain("tenant");
    invalid(() => threadIdFrom({ user: "a\u0000b" }));
    invalid(() => threadIdFrom({ user: "x".repeat(MAX_THREAD_ID_LENGTH) }));
  });
});

describe("newCheckpointId", () => {
  it("is UUIDv7-shaped and strictly increasing within a process", () => {
    let previous = newCheckpointId();
    expect(previous).toMatch(UUID_V7);
    for (let i = 0; i < 20_000; i++) {
      const next = newCheckpointId();
      expect(next > previous).toBe(true);
      previous = next;
    }
    expect(previous).toMatch(UUID_V7);
  });

  it("sorts after `after`, even when `after` comes from a clock far ahead", () => {
    const future = (Date.now() + 3_600_000).toString(16).padStart(12, "0");
    const ahead = `${future.slice(0, 8)}-${future.slice(8)}-7abc-8000-000000000000`;
    const child = newCheckpointId(ahead);
    expect(child > ahead).toBe(true);
    expect(child).toMatch(UUID_V7);
    // Ids made afterwards keep increasing from there.
    expect(newCheckpointId() > child).toBe(true);
  });

  it("rolls over to the next millisecond when `after` used the last counter value", () => {
    const future = (Date.now() + 7_200_000).toString(16).padStart(12, "0");
    const full = `${future.slice(0, 8)}-${future.slice(8)}-7fff-bfff-ffffffffffff`;
    const child = newCheckpointId(full);
    expect(child > full).toBe(true);
    expect(child.slice(0, 13)).not.toBe(full.slice(0, 13));
  });
});

describe("names that no database can store faithfully", () => {
  it("a channel, task or checkpoint id with NUL or a lone surrogate is refused and nothing is written", async () => {
    const { createCheckpointer, InvalidInputError, MemoryBackend } = await import(
      "../src/index.js"
    );
    const checkpointer = createCheckpointer(new MemoryBackend());
    const put = (channel: string, id = "c1") =>
      checkpointer.put({
        threadId: "t",
        id,
        parentId: undefined,
        channelVersions: { [channel]: "v1" },
        versionsSeen: {},
        metadata: { source: "input", step: -1 },
        updates: [{ channel, version: "v1", value: 1 }],
      });
    await expect(put("bad\u0000name")).rejects.toThrow(InvalidInputError);
    await expect(put("lone\ud800")).rejects.toThrow(InvalidInputError);
    await expect(put("ok", "id\udc00")).rejects.toThrow(InvalidInputError);
    expect(await checkpointer.get("t")).toBeUndefined();
    await put("emoji 😀");
    expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ "emoji 😀": 1 });
  });
});
