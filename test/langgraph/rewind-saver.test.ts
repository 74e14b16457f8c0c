import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { Annotation, END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { type Checkpoint, emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { MemoryBackend } from "../../src/backends/memory/index.js";
import type {
  CheckpointBackend,
  CheckpointQuery,
} from "../../src/checkpoint/checkpoint-backend.js";
import { ConflictError, InvalidInputError, ThreadDeletedError } from "../../src/errors.js";
import { RewindSaver } from "../../src/langgraph/index.js";
import { BACKENDS } from "../support/backends.js";
import { saverOn } from "../support/savers.js";

const cfg = (thread_id: string, checkpoint_id?: string, checkpoint_ns = "") => ({
  configurable: { thread_id, checkpoint_ns, ...(checkpoint_id ? { checkpoint_id } : {}) },
});

function checkpoint(values: Record<string, unknown>, versions: Record<string, string>): Checkpoint {
  return {
    ...emptyCheckpoint(),
    id: uuid6(-1),
    channel_values: values,
    channel_versions: versions,
  };
}

const loop = { source: "loop" as const, step: 0, parents: {} };

/** Bytes of every value blob stored for a thread, each (ns, channel, version) counted once. */
async function storedValueBytes(backend: CheckpointBackend, threadId: string, channel: string) {
  const seen = new Map<string, number>();
  for await (const loaded of backend.listCheckpoints({ threadId })) {
    for (const blob of loaded.blobs[channel] ?? []) {
      seen.set(blob.version, blob.value?.bytes.byteLength ?? 0);
    }
  }
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

for (const backend of BACKENDS) {
  describe(`RewindSaver on ${backend.name}: what LangGraph's savers get wrong`, () => {
    it("Date and Uint8Array values round-trip, in state, inside messages and as writes", async () => {
      const { saver } = saverOn(backend);
      const bytes = new Uint8Array([255, 0, 128]);
      const when = new Date("2026-01-02T03:04:05.678Z");
      const message = new AIMessage({ content: "hi", additional_kwargs: { when, bytes } });
      const put = await saver.put(
        cfg("values"),
        checkpoint(
          { state: { when, bytes, map: new Map([[1, "a"]]) }, messages: [message] },
          {
            state: "1",
            messages: "1",
          },
        ),
        loop,
        { state: "1", messages: "1" },
      );
      await saver.putWrites(
        put,
        [
          ["raw", bytes],
          ["at", when],
        ],
        "task",
      );
      const tuple = await saver.getTuple(put);
      const state = tuple!.checkpoint.channel_values.state as Record<string, unknown>;
      expect(state.when).toEqual(when);
      expect(state.when).toBeInstanceOf(Date);
      expect(state.bytes).toEqual(bytes);
      expect(state.map).toEqual(new Map([[1, "a"]]));
      const [loaded] = tuple!.checkpoint.channel_values.messages as AIMessage[];
      expect(loaded).toBeInstanceOf(AIMessage);
      expect(loaded!.additional_kwargs.when).toEqual(when);
      expect(loaded!.additional_kwargs.bytes).toEqual(bytes);
      expect(tuple!.pendingWrites).toEqual([
        ["task", "raw", bytes],
        ["task", "at", when],
      ]);
    });

    it("a class Rewind does not know still round-trips through LangGraph's serde, as plain data", async () => {
      const { saver } = saverOn(backend);
      class Point {
        constructor(
          readonly x: number,
          readonly y: number,
        ) {}
      }
      const put = await saver.put(
        cfg("class"),
        checkpoint({ p: new Point(1, 2) }, { p: "1" }),
        loop,
        { p: "1" },
      );
      const tuple = await saver.getTuple(put);
      expect(tuple!.checkpoint.channel_values.p).toEqual({ x: 1, y: 2 });
    });

    it("pending writes come back in (task_path, task_id, idx) code-point order", async () => {
      const { saver } = saverOn(backend);
      const put = await saver.put(cfg("order"), checkpoint({}, {}), loop, {});
      await saver.putWrites(
        put,
        [
          ["c", 1],
          ["c", 2],
        ],
        "task-b",
        "~1",
      );
      await saver.putWrites(put, [["c", 3]], "task-a", "~1");
      await saver.putWrites(put, [["c", 4]], "task-z", "");
      // U+1F600 sorts after U+FFFD by code point, before it by UTF-16 code unit.
      await saver.putWrites(put, [["c", 5]], "task-c", "~\u{1F600}");
      await saver.putWrites(put, [["c", 6]], "task-d", "~\uFFFD");
      const tuple = await saver.getTuple(put);
      expect(tuple!.pendingWrites!.map((w) => w[2])).toEqual([4, 3, 1, 2, 6, 5]);
    });

    it("a retried regular write is ignored; a special write (interrupt) is replaced", async () => {
      const { saver } = saverOn(backend);
      const put = await saver.put(cfg("retry"), checkpoint({}, {}), loop, {});
      await saver.putWrites(put, [["out", "first"]], "task");
      await saver.putWrites(put, [["out", "retry"]], "task");
      await saver.putWrites(put, [["__interrupt__", ["ask 1"]]], "task");
      await saver.putWrites(put, [["__interrupt__", ["ask 2"]]], "task");
      const tuple = await saver.getTuple(put);
      expect(tuple!.pendingWrites).toEqual([
        ["task", "__interrupt__", ["ask 2"]],
        ["task", "out", "first"],
      ]);
    });

    it("deleteThread removes every namespace and leaves a tombstone: late writes fail", async () => {
      const { saver } = saverOn(backend);
      const root = await saver.put(cfg("gone"), checkpoint({}, {}), loop, {});
      await saver.put(cfg("gone", undefined, "sub:1"), checkpoint({}, {}), loop, {});
      await saver.put(cfg("kept"), checkpoint({}, {}), loop, {});
      await saver.deleteThread("gone");
      expect(await saver.getTuple(cfg("gone"))).toBeUndefined();
      expect(await saver.getTuple(cfg("gone", undefined, "sub:1"))).toBeUndefined();
      const left = [];
      for await (const t of saver.list({})) left.push(t.config.configurable?.thread_id);
      expect(left).toEqual(["kept"]);
      // A run that was still going when the thread was deleted cannot bring it back.
      await expect(saver.put(root, checkpoint({}, {}), loop, {})).rejects.toThrow(
        ThreadDeletedError,
      );
      await expect(saver.putWrites(root, [["c", 1]], "task")).rejects.toThrow(ThreadDeletedError);
      expect(await saver.getTuple(cfg("gone"))).toBeUndefined();
    });

    it("a put whose parent is no longer the head is refused and writes nothing", async () => {
      const { saver } = saverOn(backend);
      const head = await saver.put(cfg("race"), checkpoint({}, {}), loop, {});
      const winner = await saver.put(head, checkpoint({ v: "A" }, { v: "1" }), loop, { v: "1" });
      const loser = checkpoint({ v: "B" }, { v: "2" });
      await expect(saver.put(head, loser, loop, { v: "2" })).rejects.toThrow(ConflictError);
      expect(await saver.getTuple(cfg("race", loser.id))).toBeUndefined();
      expect((await saver.getTuple(cfg("race")))?.config).toEqual(winner);
      // Branching on purpose is allowed: updateState ("update") and replays ("fork").
      const update = { source: "update" as const, step: 1, parents: {} };
      await expect(saver.put(head, checkpoint({}, {}), update, {})).resolves.toBeDefined();
    });

    it("two runs on one thread: the one that would build on the other's unfinished turn is refused and leaves nothing", async () => {
      const { saver } = saverOn(backend);
      let release = () => {};
      const gate = new Promise<void>((r) => (release = r));
      let entered = () => {};
      const inside = new Promise<void>((r) => (entered = r));
      const app = new StateGraph(MessagesAnnotation)
        .addNode("bot", async (state) => {
          if (String(state.messages.at(-1)?.content) === "A") {
            entered();
            await gate;
          }
          return { messages: [new AIMessage(`re ${state.messages.at(-1)?.content}`)] };
        })
        .addEdge(START, "bot")
        .addEdge("bot", END)
        .compile({ checkpointer: saver });
      const config = { configurable: { thread_id: "two-runs" } };
      await app.invoke({ messages: [new HumanMessage("hello")] }, config);
      // "sync": A's checkpoints are stored before its next step, so B starts from A's latest.
      const a = app.invoke(
        { messages: [new HumanMessage("A")] },
        { ...config, durability: "sync" },
      );
      await inside;
      // B starts while A waits in its node. Built on A's unfinished turn, B would carry A's
      // message, and A's next write would be refused: A's message would stay in the thread
      // unanswered, and a retry of A would duplicate it. B is refused instead, storing nothing.
      await expect(app.invoke({ messages: [new HumanMessage("B")] }, config)).rejects.toThrow(
        ConflictError,
      );
      release();
      const done = await a;
      const head = (await app.getState(config)).values.messages.map((m: AIMessage) => m.content);
      expect(head).toEqual(done.messages.map((m) => m.content));
      expect(head).toEqual(["hello", "re hello", "A", "re A"]);
      // The refused turn can simply be sent again.
      const retried = await app.invoke({ messages: [new HumanMessage("B")] }, config);
      expect(retried.messages.map((m) => m.content)).toEqual([
        "hello",
        "re hello",
        "A",
        "re A",
        "B",
        "re B",
      ]);
    });

    it("two runs started at the same moment from the same head: the second writer is refused", async () => {
      const { saver } = saverOn(backend);
      const app = new StateGraph(MessagesAnnotation)
        .addNode("bot", (state) => ({
          messages: [new AIMessage(`re ${state.messages.at(-1)?.content}`)],
        }))
        .addEdge(START, "bot")
        .addEdge("bot", END)
        .compile({ checkpointer: saver });
      const config = { configurable: { thread_id: "same-moment" } };
      await app.invoke({ messages: [new HumanMessage("hello")] }, config);
      const outcomes = await Promise.allSettled(
        ["A", "B"].map((text) => app.invoke({ messages: [new HumanMessage(text)] }, config)),
      );
      const head = (await app.getState(config)).values.messages.map((m: AIMessage) => m.content);
      const kept = outcomes.filter((o) => o.status === "fulfilled");
      expect(kept.length).toBeGreaterThanOrEqual(1);
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(ConflictError);
        else
          expect(head).toEqual(
            expect.arrayContaining(outcome.value.messages.map((m) => m.content)),
          );
      }
    });

    it("a growing message list is stored as appends: bytes grow linearly with turns", async () => {
      const created = saverOn(backend);
      const { saver, backend: storage } = created;
      const app = new StateGraph(MessagesAnnotation)
        .addNode("bot", () => ({ messages: [new AIMessage("a".repeat(500))] }))
        .addEdge(START, "bot")
        .addEdge("bot", END)
        .compile({ checkpointer: saver });
      const config = { configurable: { thread_id: "growth" } };
      let last: { messages: unknown[] } = { messages: [] };
      for (let turn = 0; turn < 80; turn++) {
        last = await app.invoke({ messages: [new HumanMessage("u".repeat(200))] }, config);
      }
      expect(last.messages).toHaveLength(160);
      const finalBytes = new TextEncoder().encode(JSON.stringify(last.messages)).byteLength;
      const stored =
        created.storedValueBytes?.("growth", "messages") ??
        (await storedValueBytes(storage, "growth", "messages"));
      // Rewriting the list every step would store about 80 times the final list.
      expect(stored).toBeLessThan(3 * finalBytes);
      const head = await saver.getTuple(config);
      expect(head!.checkpoint.channel_values.messages).toHaveLength(160);
    });

    it("list streams: reading two tuples of a long history decodes two", async () => {
      const backendSpy = new MemoryBackend();
      let yielded = 0;
      const list = backendSpy.listCheckpoints.bind(backendSpy);
      backendSpy.listCheckpoints = async function* (query: CheckpointQuery) {
        for await (const row of list(query)) {
          yielded++;
          yield row;
        }
      };
      const saver = new RewindSaver(backendSpy);
      let parent = await saver.put(cfg("long"), checkpoint({}, {}), loop, {});
      for (let i = 0; i < 50; i++) parent = await saver.put(parent, checkpoint({}, {}), loop, {});
      const first = [];
      for await (const tuple of saver.list(cfg("long"))) {
        first.push(tuple);
        if (first.length === 2) break;
      }
      expect(first).toHaveLength(2);
      expect(yielded).toBe(2);
    });

    it("bad input gets a named error and nothing is stored", async () => {
      const { saver } = saverOn(backend);
      await expect(saver.put({ configurable: {} }, checkpoint({}, {}), loop, {})).rejects.toThrow(
        InvalidInputError,
      );
      await expect(saver.put(cfg("bad\u0000id"), checkpoint({}, {}), loop, {})).rejects.toThrow(
        InvalidInputError,
      );
      await expect(saver.putWrites(cfg("t"), [["c", 1]], "task")).rejects.toThrow(
        InvalidInputError,
      );
      await expect(async () => {
        for await (const _ of saver.list({}, { limit: -1 })) void _;
      }).rejects.toThrow(InvalidInputError);
      const all = [];
      for await (const t of saver.list({})) all.push(t);
      expect(all).toEqual([]);
    });

    it("names with NUL or lone surrogates are refused by name, as on the runtime's path", async () => {
      const { saver } = saverOn(backend);
      const head = await saver.put(cfg("names"), checkpoint({ ok: 1 }, { ok: "1" }), loop, {
        ok: "1",
      });
      const refused = async (attempt: () => Promise<unknown>) => {
        const error = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidInputError);
      };
      for (const bad of ["a\u0000b", "lone\ud800", "\udc00lone"]) {
        await refused(() =>
          saver.put(head, checkpoint({ [bad]: 1 }, { [bad]: "2" }), loop, { [bad]: "2" }),
        );
        await refused(() => saver.putWrites(head, [[bad, 1]], "task"));
        await refused(() => saver.putWrites(head, [["c", 1]], bad));
        await refused(() => saver.put(cfg("names", undefined, bad), checkpoint({}, {}), loop, {}));
      }
      // Two ids that differ only in an unpaired surrogate would be one thread on PostgreSQL.
      for (const bad of ["user-\ud800", "user-\udbff"]) {
        await refused(() =>
          saver.put(cfg(bad), checkpoint({ v: bad }, { v: "1" }), loop, { v: "1" }),
        );
        await refused(() => saver.getTuple(cfg(bad)));
      }
      const all = [];
      for await (const t of saver.list({})) all.push(t.config.configurable?.checkpoint_id);
      expect(all).toEqual([head.configurable?.checkpoint_id]);
      expect((await saver.getTuple(head))?.pendingWrites).toEqual([]);
    });

    it("a checkpoint's timestamp reads back as written, whether or not it is a real instant", async () => {
      const { saver } = saverOn(backend);
      // Canonical instants are stored as times, anything else as the text given: both must come
      // back exactly (leap days, month lengths, hour 24, years outside 0-9999, other forms).
      const stamps = [
        "2026-12-03T08:15:30.123Z",
        "2024-02-29T23:59:59.999Z",
        "2023-02-29T00:00:00.000Z",
        "2000-02-29T12:00:00.000Z",
        "1900-02-29T12:00:00.000Z",
        "2026-04-31T00:00:00.000Z",
        "2026-12-31T00:00:00.000Z",
        "2026-01-01T24:00:00.000Z",
        "2026-01-01T23:60:00.000Z",
        "0000-01-01T00:00:00.000Z",
        "+010000-01-01T00:00:00.000Z",
        "2026-01-01T00:00:00Z",
        "2026-13-01T00:00:00.000Z",
        "2026-1-01T00:00:00.000Z_",
        "not a time",
      ];
      for (const [i, ts] of stamps.entries()) {
        const put = await saver.put(
          cfg(`ts-${i}`),
          { ...checkpoint({ v: i }, { v: "1" }), ts },
          loop,
          { v: "1" },
        );
        expect((await saver.getTuple(put))?.checkpoint.ts, ts).toBe(ts);
      }
    });
  });
}

describe("RewindSaver channel versions", () => {
  it("are strings that sort like the step numbers they follow", () => {
    const saver = new RewindSaver(new MemoryBackend());
    const v1 = saver.getNextVersion(undefined) as unknown as string;
    const v2 = saver.getNextVersion(v1 as unknown as number) as unknown as string;
    const v10 = saver.getNextVersion(9);
    expect(typeof v1).toBe("string");
    expect(v1 < v2).toBe(true);
    expect(v2 < (v10 as unknown as string)).toBe(true);
    expect(saver.getNextVersion(undefined)).not.toBe(saver.getNextVersion(undefined));
  });

  it("a state graph with a custom reducer still reads back its state", async () => {
    const saver = new RewindSaver(new MemoryBackend());
    const State = Annotation.Root({
      total: Annotation<number>({ reducer: (a, b) => a + b, default: () => 0 }),
    });
    const app = new StateGraph(State)
      .addNode("add", () => ({ total: 2 }))
      .addEdge(START, "add")
      .addEdge("add", END)
      .compile({ checkpointer: saver });
    const config = { configurable: { thread_id: "sum" } };
    await app.invoke({ total: 1 }, config);
    expect((await app.invoke({ total: 1 }, config)).total).toBe(6);
  });
});
