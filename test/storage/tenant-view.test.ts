/**
 * A tenant's view of the checkpointer, method by method: every result and every error names the
 * tenant's own thread id (never the storage key, never another tenant's thread), a checkpoint
 * encoded for another tenant is refused, and methods keep their sync or async shape.
 */
import { describe, expect, it } from "vitest";
import {
  type Checkpointer,
  ConflictError,
  checkpointerForTenant,
  createCheckpointer,
  InvalidInputError,
  isRewindError,
  LeaseLostError,
  MemoryBackend,
  type ThreadDeletedError,
  threadKey,
} from "../../src/index.js";
import { checkpointStep } from "../support/checkpoints.js";

/** A checkpointer on memory, two tenants' views on it, and its backend (to damage rows). */
function setup() {
  const backend = new MemoryBackend();
  const raw = createCheckpointer(backend);
  return {
    backend,
    raw,
    acme: checkpointerForTenant(raw, "acme"),
    globex: checkpointerForTenant(raw, "globex"),
  };
}

/** The error `promise` rejects with. */
const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

const leaksKey = (text: string) => text.includes("\u001f");

describe("a tenant's view of the checkpointer", () => {
  it("stores under the tenant's key and reads back under the caller's thread id", async () => {
    const { raw, acme, globex } = setup();
    await acme.put(checkpointStep("t", "cp-1", 1));
    await globex.put(checkpointStep("t", "cp-9", 9));
    expect((await acme.get("t"))?.checkpoint).toMatchObject({ threadId: "t", id: "cp-1" });
    expect(await acme.headId("t")).toBe("cp-1");
    expect((await raw.get(threadKey("t", "acme")))?.checkpoint.id).toBe("cp-1");
    const listed = [];
    for await (const t of acme.list()) listed.push(t.checkpoint.threadId);
    expect(listed).toEqual(["t"]);
    const headers = [];
    for await (const h of acme.listHeaders()) headers.push([h.threadId, h.id]);
    expect(headers).toEqual([["t", "cp-1"]]);
    for await (const h of globex.listHeaders({ threadId: "t" })) headers.push([h.threadId, h.id]);
    expect(headers).toEqual([
      ["t", "cp-1"],
      ["t", "cp-9"],
    ]);
    await acme.deleteThread("t");
    expect(await acme.get("t")).toBeUndefined();
    expect((await globex.get("t"))?.checkpoint.id).toBe("cp-9");
  });

  it("errors name the caller's thread id, not its storage key", async () => {
    const { acme } = setup();
    await acme.put(checkpointStep("t", "cp-1", 1));
    const error = await rejection(
      acme.put(checkpointStep("t", "cp-2", 2), { expectedHead: "cp-0" }),
    );
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as ConflictError).threadId).toBe("t");
    expect(leaksKey((error as Error).message)).toBe(false);
  });

  it("leases carry the caller's thread id through acquire, read, renew and release", async () => {
    const { acme, globex } = setup();
    const lease = (await acme.acquireLease("t", "me", 60_000))!;
    expect(lease.threadId).toBe("t");
    // Another tenant's thread of the same id is another thread: its lease is free.
    expect((await globex.acquireLease("t", "other", 60_000))?.threadId).toBe("t");
    expect((await acme.readLease("t"))?.owner).toBe("me");
    const renewed = (await acme.renewLease(lease, 60_000))!;
    expect(renewed).toMatchObject({ threadId: "t", token: lease.token });
    const taken = (await acme.acquireLease("t", "thief", 60_000, { steal: true }))!;
    expect(taken).toMatchObject({ threadId: "t", stolenFrom: "me" });
    const lost = await rejection(acme.put(checkpointStep("t", "cp-1", 1), { fence: lease }));
    expect(lost).toBeInstanceOf(LeaseLostError);
    expect((lost as LeaseLostError).threadId).toBe("t");
    expect(await acme.releaseLease(lease)).toBe(false);
    expect(await acme.releaseLease(taken)).toBe(true);
  });

  it("a grant with the head (and a write that releases) names the caller's thread", async () => {
    const { acme, globex } = setup();
    await acme.put(checkpointStep("t", "cp-1", 1));
    const granted = (await acme.acquireLeaseWithHead("t", "me", 60_000))!;
    expect(granted.lease.threadId).toBe("t");
    expect(granted.headId).toBe("cp-1");
    expect(granted.archive).toBeNull();
    expect(granted.head!()?.checkpoint).toMatchObject({ threadId: "t", id: "cp-1" });
    // The other tenant's "t" is empty and free.
    expect((await globex.acquireLeaseWithHead("t", "other", 60_000))?.headId).toBeNull();
    await acme.put(checkpointStep("t", "cp-2", 2), { fence: granted.lease, release: true });
    expect(await acme.readLease("t")).toBeUndefined();
    expect((await globex.readLease("t"))?.owner).toBe("other");
  });

  it("repair and the quarantine name the caller's thread id", async () => {
    const { backend, acme } = setup();
    await acme.put(checkpointStep("t", "cp-1", 1));
    await acme.put(checkpointStep("t", "cp-2", 2));
    const row = await backend.getCheckpoint(threadKey("t", "acme"), "", "cp-2");
    (row!.checkpoint as { metadata: string }).metadata = "{not json";
    const repaired = await acme.repairThread("t");
    expect(repaired).toMatchObject({ threadId: "t", headId: "cp-1" });
    expect(repaired.quarantined.map((q) => q.checkpointId)).toEqual(["cp-2"]);
    const moved = await acme.listQuarantined("t");
    expect(moved.map((q) => [q.threadId, q.checkpointId])).toEqual([["t", "cp-2"]]);
    for (const text of [...repaired.quarantined, ...moved].map((q) => q.reason)) {
      expect(leaksKey(text), text).toBe(false);
    }
  });

  it("refuses to write or decode a checkpoint encoded for another tenant", async () => {
    const { backend, acme, globex } = setup();
    const theirs = globex.encode(checkpointStep("t", "cp-1", 1));
    const refused = await rejection(acme.write(theirs));
    expect(refused).toBeInstanceOf(InvalidInputError);
    await globex.write(theirs);
    const row = (await backend.getCheckpoint(threadKey("t", "globex"), ""))!;
    expect(() => acme.decode(row)).toThrow(InvalidInputError);
    expect(globex.decode(row).checkpoint.threadId).toBe("t");
    expect(await acme.get("t")).toBeUndefined();
  });

  it("its effect ledger records and lists the tenant's own threads, and names them as the tenant does", async () => {
    const { raw, acme, globex } = setup();
    await acme.put(checkpointStep("t", "cp-1", 1));
    const intent = {
      threadId: "t",
      key: acme.effects.key("charge", { cents: 100 }),
      name: "charge",
      args: { cents: 100 },
      checkpointId: "cp-1",
      taskId: "task",
      node: "pay",
    };
    expect(await acme.effects.begin(intent)).toMatchObject({ recorded: true });
    expect((await acme.effects.list("t")).map((e) => e.name)).toEqual(["charge"]);
    // Another tenant's thread of the same id has a ledger of its own.
    expect(await globex.effects.list("t")).toEqual([]);
    expect(await raw.effects.list(threadKey("t", "acme"))).toHaveLength(1);
    await acme.deleteThread("t");
    expect(await acme.effects.list("t")).toEqual([]);
    const refused = await rejection(acme.effects.begin(intent));
    expect(isRewindError(refused, "THREAD_DELETED")).toBe(true);
    expect((refused as ThreadDeletedError).threadId).toBe("t");
    expect(leaksKey((refused as Error).message)).toBe(false);
  });

  it("keeps each method's shape: encode and decode throw, the rest reject", async () => {
    const { acme } = setup();
    expect(() => acme.encode(checkpointStep("", "cp-1", 1))).toThrow(InvalidInputError);
    const put = acme.put(checkpointStep("", "cp-1", 1));
    expect(put).toBeInstanceOf(Promise);
    expect(await rejection(put)).toBeInstanceOf(InvalidInputError);
    expect(await rejection(acme.get(""))).toBeInstanceOf(InvalidInputError);
  });

  it("passes the rest through, and closing the view leaves the checkpointer open", async () => {
    const { raw, acme } = setup();
    const view: Checkpointer = acme;
    expect(view.name).toBe(raw.name);
    expect(view.serializer).toBe(raw.serializer);
    expect(view.door).toBe(raw.door);
    await view.ready();
    await view.close();
    await raw.put(checkpointStep("t", "cp-1", 1));
    expect(isRewindError(await rejection(raw.get("")))).toBe(true);
  });
});
