import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  appendChannel,
  type Checkpointer,
  checkpointerForTenant,
  END,
  InvalidInputError,
  NotFoundError,
  parseThreadKey,
  START,
  StateGraph,
  ThreadBusyError,
  ThreadDeletedError,
  threadKey,
} from "../../src/index.js";
import { BACKENDS, type TestBackend } from "../support/backends.js";

/** `log` collects every turn's input and the reply, which names the thread id the node saw. */
function chat(checkpointer: Checkpointer, hold?: { reached: () => void; gate: Promise<void> }) {
  return new StateGraph({ log: appendChannel<string>() })
    .addNode("reply", async (s, ctx) => {
      if (hold && s.log.at(-1)?.startsWith("acme")) {
        hold.reached();
        await hold.gate;
      }
      return { log: `reply to ${s.log.at(-1)} on ${ctx.threadId}` };
    })
    .addEdge(START, "reply")
    .addEdge("reply", END)
    .compile({ checkpointer });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const ACME = { threadId: "support-1", tenantId: "acme" };
const GLOBEX = { threadId: "support-1", tenantId: "globex" };

for (const backend of BACKENDS) {
  describe(`tenants on ${backend.name}`, () => {
    async function acmeThread(b: TestBackend = backend) {
      const checkpointer = b.checkpointer();
      const app = chat(checkpointer);
      const first = await app.invoke({ log: "acme: my invoice" }, ACME);
      return { checkpointer, app, first };
    }

    it("a tenant's run starts its own thread instead of continuing another tenant's of the same id", async () => {
      const { app, first } = await acmeThread();
      expect(first.threadId).toBe("support-1");
      const globex = await app.invoke({ log: "globex: hello" }, GLOBEX);
      expect(globex.threadId).toBe("support-1");
      expect(globex.values.log).toEqual(["globex: hello", "reply to globex: hello on support-1"]);
      const again = await app.invoke({ log: "acme: thanks" }, ACME);
      expect(again.values.log).toEqual([
        "acme: my invoice",
        "reply to acme: my invoice on support-1",
        "acme: thanks",
        "reply to acme: thanks on support-1",
      ]);
    });

    it("reads, history and lineage of another tenant's thread find nothing", async () => {
      const { app, first } = await acmeThread();
      expect(await app.getState(GLOBEX)).toBeUndefined();
      await expect(
        app.getState({ ...GLOBEX, checkpointId: first.checkpointId! }),
      ).rejects.toBeInstanceOf(NotFoundError);
      expect(await collect(app.getStateHistory(GLOBEX))).toEqual([]);
      expect((await app.getLineage(GLOBEX)).branches).toEqual([]);
      expect((await app.getState(ACME))?.values.log).toHaveLength(2);
      expect((await app.getState(ACME))?.threadId).toBe("support-1");
    });

    it("continuing, replaying, forking or updating another tenant's thread is refused or starts empty", async () => {
      const { app, first } = await acmeThread();
      const id = first.checkpointId!;
      await expect(app.invoke(null, { ...GLOBEX, checkpointId: id })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(app.fork({ ...GLOBEX, checkpointId: id }, { log: "x" })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      await expect(app.updateState(GLOBEX, { log: "x" })).rejects.toBeInstanceOf(NotFoundError);
      await expect(app.diff({ ...GLOBEX, from: id, to: id })).rejects.toBeInstanceOf(NotFoundError);
      const resumed = await app.invoke(null, GLOBEX);
      expect(resumed.values.log).not.toContain("acme: my invoice");
      const history = await collect(app.getStateHistory(ACME));
      expect(history.map((s) => s.checkpointId)[0]).toBe(id);
    });

    it("deleting a thread deletes only the caller's tenant's thread", async () => {
      const { app } = await acmeThread();
      await app.invoke({ log: "default: hi" }, { threadId: "support-1" });
      await app.deleteThread(GLOBEX);
      expect((await app.getState(ACME))?.values.log).toHaveLength(2);
      expect((await app.getState({ threadId: "support-1" }))?.values.log).toHaveLength(2);
      await app.deleteThread(ACME);
      expect(await app.getState(ACME)).toBeUndefined();
      expect((await app.getState({ threadId: "support-1" }))?.values.log).toHaveLength(2);
      const late = await app.invoke({ log: "acme: again" }, ACME).catch((e) => e);
      expect(late).toBeInstanceOf(ThreadDeletedError);
      // The error names the caller's thread, never its storage key.
      expect(late.threadId).toBe("support-1");
      expect(late.message).not.toContain("\u001f");
      expect(late.message).toContain('"support-1"');
    });

    it("listing across threads under a tenant lists only that tenant's threads; the raw checkpointer lists all", async () => {
      const { app, checkpointer } = await acmeThread();
      await app.invoke({ log: "acme" }, { threadId: "billing", tenantId: "acme" });
      await app.invoke({ log: "globex" }, GLOBEX);
      await app.invoke({ log: "default" }, { threadId: "support-1" });
      const threadsOf = async (tenantId: string | undefined, limit?: number) =>
        (await collect(checkpointerForTenant(checkpointer, tenantId).list({ limit }))).map(
          (t) => t.checkpoint.threadId,
        );
      expect(new Set(await threadsOf("acme"))).toEqual(new Set(["support-1", "billing"]));
      // Two checkpoints per turn (the input, then the reply).
      expect(await threadsOf("acme")).toHaveLength(4);
      expect(await threadsOf("acme", 3)).toHaveLength(3);
      expect(new Set(await threadsOf("globex"))).toEqual(new Set(["support-1"]));
      expect(await threadsOf(undefined)).toEqual(["support-1", "support-1"]);
      expect(await threadsOf("initech")).toEqual([]);
      const all = await collect(checkpointer.list({ includeValues: false }));
      const owners = new Set(all.map((t) => JSON.stringify(parseThreadKey(t.checkpoint.threadId))));
      expect(owners).toEqual(
        new Set([
          JSON.stringify({ threadId: "support-1", tenantId: "acme" }),
          JSON.stringify({ threadId: "billing", tenantId: "acme" }),
          JSON.stringify({ threadId: "support-1", tenantId: "globex" }),
          JSON.stringify({ threadId: "support-1" }),
        ]),
      );
    });

    it("the default tenant's threads are stored under their own id, as before tenants existed", async () => {
      const checkpointer = backend.checkpointer();
      const app = chat(checkpointer);
      const run = await app.invoke({ log: "hi" }, { threadId: "support-1" });
      const raw = await checkpointer.get("support-1");
      expect(raw?.checkpoint.id).toBe(run.checkpointId);
      expect(raw?.checkpoint.values.log).toEqual(["hi", "reply to hi on support-1"]);
      const scoped = await checkpointer.get(threadKey("support-1", "acme"));
      expect(scoped).toBeUndefined();
    });

    it("the unscoped checkpointer reaches a tenant's thread only by its explicit key", async () => {
      const { checkpointer, first } = await acmeThread();
      const key = threadKey("support-1", "acme");
      expect(key).not.toBe("support-1");
      expect((await checkpointer.get(key))?.checkpoint.id).toBe(first.checkpointId);
      expect(parseThreadKey(key)).toEqual({ threadId: "support-1", tenantId: "acme" });
    });

    it("a tenant's lease does not make another tenant's thread of the same id busy", async () => {
      let open!: () => void;
      let reached!: () => void;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const inNode = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const app = chat(backend.checkpointer(), { reached, gate });
      const acme = app.invoke({ log: "acme: slow" }, ACME);
      await inNode;
      await expect(
        app.invoke({ log: "acme: second" }, { ...ACME, onBusy: "reject" }),
      ).rejects.toBeInstanceOf(ThreadBusyError);
      const globex = await app.invoke({ log: "globex: quick" }, { ...GLOBEX, onBusy: "reject" });
      expect(globex.values.log).toHaveLength(2);
      open();
      expect((await acme).values.log).toHaveLength(2);
    });

    it("the longest tenant and thread ids, in 3-byte characters, are stored and listed back", async () => {
      const checkpointer = backend.checkpointer();
      const app = chat(checkpointer);
      // Distinct characters, so PostgreSQL cannot compress the index entries below its limit.
      const cjk = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => String.fromCharCode(from + i)).join("");
      const thread = { threadId: cjk(0x4e00, 512), tenantId: cjk(0x6000, 256) };
      await app.invoke({ log: "long" }, thread);
      await app.invoke({ log: "long again" }, thread);
      expect((await app.getState(thread))?.values.log).toHaveLength(4);
      const listed = await collect(checkpointerForTenant(checkpointer, thread.tenantId).list());
      expect(listed.map((t) => t.checkpoint.threadId)).toEqual(
        Array(listed.length).fill(thread.threadId),
      );
      expect(await app.getState({ threadId: thread.threadId })).toBeUndefined();
    });

    it("a bad tenant id is a named error and stores nothing", async () => {
      const checkpointer = backend.checkpointer();
      const app = chat(checkpointer);
      for (const tenantId of ["", "a\u0000b", "x".repeat(257), "\ud800", 7 as unknown as string]) {
        await expect(app.invoke({ log: "x" }, { threadId: "t", tenantId })).rejects.toBeInstanceOf(
          InvalidInputError,
        );
        await expect(app.getState({ threadId: "t", tenantId })).rejects.toBeInstanceOf(
          InvalidInputError,
        );
      }
      expect(await collect(checkpointer.list())).toEqual([]);
    });
  });
}

describe("thread keys", () => {
  const unit = fc.constantFrom(..."a/%=|: é😀\u241f".split(/(?:)/u), "\u0001", "\u001f");
  const text = fc.string({ unit, minLength: 1, maxLength: 6 });
  const address = fc.record({ threadId: text, tenantId: fc.option(text, { nil: undefined }) });
  const valid = (a: { threadId: string; tenantId: string | undefined }) => {
    try {
      threadKey(a.threadId, a.tenantId);
      return true;
    } catch {
      return false;
    }
  };

  it("parse back to the one (tenant, thread) they were made from, so no two threads share a key", () => {
    fc.assert(
      fc.property(address.filter(valid), address.filter(valid), (a, b) => {
        const key = threadKey(a.threadId, a.tenantId);
        expect(parseThreadKey(key)).toEqual(a);
        const same = a.threadId === b.threadId && a.tenantId === b.tenantId;
        expect(key === threadKey(b.threadId, b.tenantId)).toBe(same);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuse what no valid tenant or thread could produce", () => {
    for (const bad of ["\u001f", "\u001facme", "\u001f\u001fx", "\u001facme\u001f", "a\u001fb"]) {
      expect(() => parseThreadKey(bad)).toThrow(InvalidInputError);
    }
    expect(() => threadKey("a\u001fb", "acme")).toThrow(InvalidInputError);
    expect(() => threadKey("t", "")).toThrow(InvalidInputError);
  });
});
