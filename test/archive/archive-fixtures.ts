/**
 * Shared data for the export, archive and erasure tests: a history with long append chains
 * (which SQLite hands back merged), a subgraph namespace, a fork, pending writes (regular and
 * special), rich values, a tenant's thread and store items; and the comparison of everything
 * two storages hold for a set of threads and tenants.
 */
import { expect } from "vitest";
import type { Checkpointer } from "../../src/checkpoint/checkpointer.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { newCheckpointId } from "../../src/ids.js";
import type { Store } from "../../src/store/store.js";

/** Append policy that makes short chains of appends (so the export must split merged runs). */
export const APPENDING = { minAppendDepth: 0, appendRatio: 1000, maxAppendDepth: 6 };

/** The storage keys {@link fillHistory} writes. */
export function historyKeys(label: string): string[] {
  return [label, `${label}-side`, threadKey(`${label}-t`, "acme")].sort();
}

/** Writes the history of one labelled set of threads through `checkpointer`. */
export async function fillHistory(
  checkpointer: Checkpointer,
  label: string,
  checkpoints = 14,
): Promise<void> {
  const [main, side, tenant] = [label, `${label}-side`, threadKey(`${label}-t`, "acme")];
  let parent: string | undefined;
  let log: string[] = [];
  const ids: string[] = [];
  for (let step = 0; step < checkpoints; step++) {
    const id = newCheckpointId(parent);
    const previous = log;
    log = [...log, `entry ${step} of ${label}`];
    await checkpointer.put({
      threadId: main,
      id,
      parentId: parent,
      channelVersions: { log: id, n: id },
      versionsSeen: { agent: { log: parent ?? id } },
      metadata: { source: step === 0 ? "input" : "loop", step, label },
      updates: [
        {
          channel: "log",
          version: id,
          value: log,
          ...(parent ? { append: { prevVersion: parent, items: log.slice(previous.length) } } : {}),
        },
        { channel: "n", version: id, value: { step, at: new Date(1_700_000_000_000 + step) } },
      ],
    });
    ids.push(id);
    parent = id;
  }
  // A subgraph namespace, a fork off an early checkpoint, and pending writes on the head.
  const sub = newCheckpointId(parent);
  await checkpointer.put({
    threadId: main,
    ns: "child:1",
    id: sub,
    parentId: undefined,
    channelVersions: { inner: sub },
    versionsSeen: {},
    metadata: { source: "loop", step: 0 },
    updates: [{ channel: "inner", version: sub, value: new Map([["k", 1n]]) }],
  });
  const fork = newCheckpointId(sub);
  await checkpointer.put({
    threadId: main,
    id: fork,
    parentId: ids[2],
    channelVersions: { log: ids[2]!, n: fork },
    versionsSeen: {},
    metadata: { source: "fork", step: 3, note: "branch" },
    updates: [{ channel: "n", version: fork, value: { forked: true } }],
  });
  await checkpointer.putWrites({ threadId: main, ns: "", checkpointId: ids.at(-1)! }, [
    { taskId: "task-a", taskPath: "~agent", idx: 0, channel: "log", value: ["pending"] },
    { taskId: "task-a", taskPath: "~agent", idx: 1, channel: "n", value: 7 },
    {
      taskId: "task-b",
      taskPath: "~tool",
      idx: -3,
      channel: "__interrupt__",
      value: { ask: "ok?" },
    },
  ]);
  for (const [threadId, value] of [
    [side, new Uint8Array([1, 2, 3])],
    [tenant, { secret: `acme data of ${label}`, when: new Date(0) }],
  ] as const) {
    const id = newCheckpointId();
    await checkpointer.put({
      threadId,
      id,
      parentId: undefined,
      channelVersions: { v: id },
      versionsSeen: {},
      metadata: { source: "input", step: -1 },
      updates: [{ channel: "v", version: id, value }],
    });
  }
}

/**
 * Puts a few store items of tenant "acme" (one with a TTL, one replaced later, one holding a
 * file long enough to be kept by reference).
 */
export async function fillStore(store: Store, label: string): Promise<void> {
  const acme = store.forTenant("acme");
  await acme.put(["files", label], "notes.txt", {
    name: "notes.txt",
    text: `${"a long file ".repeat(12_000)}of ${label}`,
  });
  await acme.put(["users", label], "prefs", { theme: "dark", since: new Date(5) });
  await acme.put(
    ["users", label],
    "notes",
    { text: `acme note of ${label}` },
    { ttlMs: 3_600_000 },
  );
  await acme.put(["facts"], label, { n: 1 });
  await acme.put(["facts"], label, { n: 2 });
}

/** Every tuple of a thread, all namespaces, as `list` returns them. */
async function tuplesOf(checkpointer: Checkpointer, threadId: string) {
  const out: unknown[] = [];
  for await (const tuple of checkpointer.list({ threadId })) out.push(tuple);
  return out;
}

/** Every tuple of each thread of `keys` (all namespaces), to compare before and after. */
export async function threadsOf(checkpointer: Checkpointer, keys: readonly string[]) {
  const out: unknown[][] = [];
  for (const key of keys) out.push(await tuplesOf(checkpointer, key));
  expect(out.every((tuples) => tuples.length > 0)).toBe(true);
  return out;
}

/** Asserts both storages hold the same checkpoints, values and writes for `keys`. */
export async function expectSameThreads(
  source: Checkpointer,
  target: Checkpointer,
  keys: readonly string[],
): Promise<void> {
  for (const key of keys) {
    const expected = await tuplesOf(source, key);
    expect(expected.length).toBeGreaterThan(0);
    expect(await tuplesOf(target, key)).toStrictEqual(expected);
  }
}

/** Every live item of a tenant, in search order, with its times. */
export async function itemsOf(store: Store, tenantId: string) {
  const items = await store.forTenant(tenantId).search([], { limit: 1000, refreshTtl: false });
  return items.map(({ namespace, key, value, createdAt, updatedAt, expiresAt }) => ({
    namespace,
    key,
    value,
    createdAt,
    updatedAt,
    expiresAt,
  }));
}
