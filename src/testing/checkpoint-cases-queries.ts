/**
 * Conformance cases about reading: latest versus by id, and listing newest first with `before`,
 * `limit`, metadata filters, namespaces, several threads, headers only, and long histories.
 */
import { expect } from "vitest";
import {
  type CaseContext,
  type ConformanceCase,
  collect,
  ids,
  listIds,
  mustGet,
  type PutFullOptions,
  putFull,
} from "./checkpoint-fixtures.js";

async function latestAndById(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("get");
  const [c1, c2, c3] = ids(3) as [string, string, string];
  const createdAt = "2020-01-02T03:04:05.678Z";
  await putFull(
    ctx,
    threadId,
    c1,
    { v: 1 },
    { createdAt, metadata: { source: "input", step: -1 } },
  );
  // A timestamp in another ISO form comes back exactly as given, not normalised.
  const otherForm = "2020-01-02T03:04:05+02:00";
  await putFull(
    ctx,
    threadId,
    c2,
    { v: 2 },
    { parentId: c1, createdAt: otherForm, metadata: { step: 0 } },
  );
  await putFull(ctx, threadId, c3, { v: 3 }, { parentId: c2, metadata: { step: 1, who: "bob" } });
  const latest = await mustGet(ctx, threadId);
  expect(latest.checkpoint).toMatchObject({ threadId, ns: "", id: c3, parentId: c2 });
  expect(latest.checkpoint.metadata).toStrictEqual({
    source: "loop",
    step: 1,
    tag: ctx.tag,
    who: "bob",
  });
  const first = await mustGet(ctx, threadId, c1);
  expect(first.checkpoint).toMatchObject({ id: c1, parentId: undefined, createdAt });
  expect(first.checkpoint.values).toStrictEqual({ v: 1 });
  expect((await mustGet(ctx, threadId, c2)).checkpoint.createdAt).toBe(otherForm);
  expect(first.checkpoint.channelVersions).toStrictEqual({ v: c1 });
  expect(first.checkpoint.metadata).toMatchObject({ source: "input", step: -1 });
  expect(await ctx.checkpointer.get(threadId, { checkpointId: ids(1)[0] })).toBeUndefined();
  expect(await ctx.checkpointer.get(threadId, { ns: "elsewhere" })).toBeUndefined();
  expect(await ctx.checkpointer.get(ctx.thread("never-written"))).toBeUndefined();
}

async function headIsNewestId(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("order");
  const [c1, c2, c3] = ids(3) as [string, string, string];
  // Written out of order (as an import or a fork may do): the head is still the largest id.
  await putFull(ctx, threadId, c3, { v: 3 });
  await putFull(ctx, threadId, c1, { v: 1 });
  await putFull(ctx, threadId, c2, { v: 2 });
  expect((await mustGet(ctx, threadId)).checkpoint.id).toBe(c3);
  expect(await listIds(ctx, { threadId })).toEqual([c3, c2, c1]);
  // Writing the same id again replaces its row and keeps its place.
  await putFull(ctx, threadId, c2, { v: 22 }, { metadata: { step: 9 } });
  expect(await listIds(ctx, { threadId })).toEqual([c3, c2, c1]);
  const again = await mustGet(ctx, threadId, c2);
  expect(again.checkpoint.metadata.step).toBe(9);
}

async function beforeAndLimit(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("page");
  const all = ids(10);
  for (const [i, id] of all.entries())
    await putFull(ctx, threadId, id, { i }, { metadata: { step: i } });
  const desc = [...all].reverse();
  expect(await listIds(ctx, { threadId })).toEqual(desc);
  expect(await listIds(ctx, { threadId, limit: 3 })).toEqual(desc.slice(0, 3));
  expect(await listIds(ctx, { threadId, limit: 0 })).toEqual([]);
  expect(await listIds(ctx, { threadId, limit: 100 })).toEqual(desc);
  expect(await listIds(ctx, { threadId, before: all[5] })).toEqual(desc.slice(5));
  expect(await listIds(ctx, { threadId, before: all[5], limit: 2 })).toEqual(desc.slice(5, 7));
  expect(await listIds(ctx, { threadId, before: all[0] })).toEqual([]);
  expect(await listIds(ctx, { threadId, checkpointId: all[4] })).toEqual([all[4]]);
  expect(await listIds(ctx, { threadId, checkpointId: all[4], before: all[4] })).toEqual([]);
  const between = `${all[6]!.slice(0, -1)}${all[6]!.at(-1) === "f" ? "e" : "f"}`;
  const expected = desc.filter((id) => id < between);
  expect(await listIds(ctx, { threadId, before: between })).toEqual(expected);
  const tuples = [];
  for await (const t of ctx.checkpointer.list({ threadId, before: all[8], limit: 1 }))
    tuples.push(t);
  expect(tuples.map((t) => t.checkpoint.values)).toEqual([{ i: 7 }]);
}

async function metadataFilter(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("filter");
  const [c1, c2, c3, c4] = ids(4) as [string, string, string, string];
  const user = { name: "ann", tags: ["a", "b"], prefs: { dark: true } };
  await putFull(
    ctx,
    threadId,
    c1,
    { v: 1 },
    { metadata: { source: "input", step: -1, user, flag: true, nil: null } },
  );
  await putFull(
    ctx,
    threadId,
    c2,
    { v: 2 },
    { metadata: { step: 0, user: { ...user, tags: ["b", "a"] }, flag: false } },
  );
  await putFull(
    ctx,
    threadId,
    c3,
    { v: 3 },
    { metadata: { step: 1, user, flag: 1, when: new Date(7) } },
  );
  await putFull(
    ctx,
    threadId,
    c4,
    { v: 4 },
    { metadata: { step: 2, user: { name: "ann" }, n: 2.5, "a.b": 1, 'say "hi"': ["$x"] } },
  );
  const q = (filter: Record<string, unknown>, more: object = {}) =>
    listIds(ctx, { threadId, filter, ...more });
  expect(await q({ source: "loop" })).toEqual([c4, c3, c2]);
  expect(await q({ source: "input" })).toEqual([c1]);
  expect(await q({ step: 1 })).toEqual([c3]);
  expect(await q({ step: "1" })).toEqual([]);
  expect(await q({ n: 2.5 })).toEqual([c4]);
  // Keys are matched as keys, never parsed as paths, and only as own keys of the metadata.
  expect(await q({ "a.b": 1 })).toEqual([c4]);
  expect(await q({ ["__proto__"]: {} })).toEqual([]);
  expect(await q({ a: { b: 1 } })).toEqual([]);
  expect(await q({ 'say "hi"': ["$x"] })).toEqual([c4]);
  // Nested objects match by deep equality, whatever the key order; arrays keep their order.
  expect(await q({ user: { prefs: { dark: true }, tags: ["a", "b"], name: "ann" } })).toEqual([
    c3,
    c1,
  ]);
  expect(await q({ user: { name: "ann" } })).toEqual([c4]);
  expect(await q({ user: { name: "ann", tags: ["a", "b"] } })).toEqual([]);
  expect(await q({ flag: true })).toEqual([c1]);
  expect(await q({ flag: 1 })).toEqual([c3]);
  expect(await q({ flag: false })).toEqual([c2]);
  expect(await q({ nil: null })).toEqual([c1]);
  expect(await q({ missing: null })).toEqual([]);
  expect(await q({ when: new Date(7) })).toEqual([c3]);
  expect(await q({ when: new Date(8) })).toEqual([]);
  expect(await q({ source: "loop", user })).toEqual([c3]);
  expect(await q({ source: "loop" }, { limit: 1 })).toEqual([c4]);
  expect(await q({ source: "loop" }, { before: c4, limit: 1 })).toEqual([c3]);
  expect(await q({ tag: ctx.tag }, { before: c2 })).toEqual([c1]);
}

async function acrossThreads(ctx: CaseContext): Promise<void> {
  const a = ctx.thread("a");
  const b = ctx.thread("b");
  const [a1, b1, a2, b2, a3] = ids(5) as [string, string, string, string, string];
  await putFull(ctx, a, a1, { v: "a1" }, { metadata: { who: "a" } });
  await putFull(ctx, b, b1, { v: "b1" }, { metadata: { who: "b" } });
  await putFull(ctx, a, a2, { v: "a2" }, { ns: "sub:1", metadata: { who: "a" } });
  await putFull(ctx, b, b2, { v: "b2" }, { ns: "sub:1", metadata: { who: "b" } });
  await putFull(ctx, a, a3, { v: "a3" }, { metadata: { who: "a" } });
  const mine = { tag: ctx.tag };
  expect(await listIds(ctx, { filter: mine })).toEqual([a3, b2, a2, b1, a1]);
  expect(await listIds(ctx, { filter: mine, limit: 2 })).toEqual([a3, b2]);
  expect(await listIds(ctx, { filter: mine, before: b2 })).toEqual([a2, b1, a1]);
  expect(await listIds(ctx, { filter: { ...mine, who: "b" } })).toEqual([b2, b1]);
  expect(await listIds(ctx, { filter: mine, ns: "" })).toEqual([a3, b1, a1]);
  expect(await listIds(ctx, { filter: mine, ns: "sub:1" })).toEqual([b2, a2]);
  expect(await listIds(ctx, { filter: mine, checkpointId: b1 })).toEqual([b1]);
  expect(await listIds(ctx, { threadId: a })).toEqual([a3, a2, a1]);
  expect(await listIds(ctx, { threadId: a, ns: "" })).toEqual([a3, a1]);
  expect(await listIds(ctx, { threadId: a, ns: "sub" })).toEqual([]);
  expect(await listIds(ctx, { threadId: b, ns: "sub:1" })).toEqual([b2]);
  const sub = await mustGet(ctx, a, undefined, "sub:1");
  expect(sub.checkpoint).toMatchObject({ id: a2, ns: "sub:1", values: { v: "a2" } });
  expect((await mustGet(ctx, a)).checkpoint.id).toBe(a3);
}

async function headersOnly(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("headers");
  const [c1, c2] = ids(2) as [string, string];
  await putFull(ctx, threadId, c1, { big: "x".repeat(1000) });
  await putFull(ctx, threadId, c2, { big: "y" }, { parentId: c1, metadata: { step: 1 } });
  await ctx.checkpointer.putWrites({ threadId, checkpointId: c2 }, [
    { taskId: "t", taskPath: "", idx: 0, channel: "c", value: 1 },
  ]);
  const listed = [];
  for await (const t of ctx.checkpointer.list({ threadId, includeValues: false })) listed.push(t);
  expect(listed.map((t) => t.checkpoint.id)).toEqual([c2, c1]);
  expect(listed[0]!.checkpoint).toMatchObject({
    parentId: c1,
    channelVersions: { big: c2 },
    values: {},
  });
  expect(listed[0]!.checkpoint.metadata).toMatchObject({ source: "loop", step: 1 });
  expect(listed[0]!.pendingWrites).toEqual([]);
}

/** Puts `chain` on the thread, each checkpoint the child of the one before. */
async function putChain(
  ctx: CaseContext,
  threadId: string,
  chain: readonly string[],
  make: (i: number) => PutFullOptions & { values: Record<string, unknown> },
): Promise<void> {
  let parentId: string | undefined;
  for (const [i, id] of chain.entries()) {
    const { values, ...options } = make(i);
    await putFull(ctx, threadId, id, values, { ...options, parentId });
    parentId = id;
  }
}

async function listHeaders(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("list-headers");
  const all = ids(5);
  const createdAt = "2021-05-06T07:08:09.010Z";
  await putChain(ctx, threadId, all, (i) => ({
    values: { big: "x".repeat(300 * (i + 1)), i },
    createdAt,
    metadata: i === 0 ? { source: "input", step: -1 } : { step: i - 1, writer: `n${i}` },
  }));
  await ctx.checkpointer.putWrites({ threadId, checkpointId: all[4]! }, [
    { taskId: "t", taskPath: "", idx: 0, channel: "c", value: 1 },
  ]);
  const headers = await collect(ctx.checkpointer.listHeaders({ threadId }));
  expect(headers.map((h) => h.id)).toEqual([...all].reverse());
  expect(headers[0]).toStrictEqual({
    threadId,
    ns: "",
    id: all[4],
    parentId: all[3],
    createdAt,
    step: 3,
    source: "loop",
    metadata: { source: "loop", step: 3, tag: ctx.tag, writer: "n4" },
  });
  expect(headers.at(-1)).toMatchObject({ parentId: undefined, step: -1, source: "input" });
  // Paging: `limit`, then `before` the last id seen, exactly as `list` pages.
  const first = await collect(ctx.checkpointer.listHeaders({ threadId, limit: 2 }));
  const rest = await collect(
    ctx.checkpointer.listHeaders({ threadId, limit: 10, before: first.at(-1)!.id }),
  );
  expect([...first, ...rest].map((h) => h.id)).toEqual([...all].reverse());
  const filtered = await collect(
    ctx.checkpointer.listHeaders({ threadId, filter: { writer: "n2" } }),
  );
  expect(filtered.map((h) => h.id)).toEqual([all[2]]);
  const none = await collect(ctx.checkpointer.listHeaders({ threadId: ctx.thread("none") }));
  expect(none).toEqual([]);
}

async function longHistory(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("long");
  const all = ids(257);
  await putChain(ctx, threadId, all, (i) => ({
    values: { i },
    metadata: { step: i, even: i % 2 === 0 },
  }));
  const desc = [...all].reverse();
  expect(await listIds(ctx, { threadId })).toEqual(desc);
  expect(await listIds(ctx, { threadId, filter: { even: true } })).toEqual(
    desc.filter((_, i) => i % 2 === 0),
  );
  expect(await listIds(ctx, { threadId, limit: 150, before: all[200] })).toEqual(
    desc.slice(57, 207),
  );
  // Stopping early and writing while a listing is open are both safe.
  const seen: string[] = [];
  const fresh = ids(1)[0]!;
  for await (const t of ctx.checkpointer.list({ threadId, includeValues: false })) {
    seen.push(t.checkpoint.id);
    if (seen.length === 1) await putFull(ctx, threadId, fresh, { i: -1 });
    if (seen.length === 120) break;
  }
  expect(seen).toEqual(desc.slice(0, 120));
  expect((await mustGet(ctx, threadId)).checkpoint.id).toBe(fresh);
}

/** Cases of the "queries" group. */
export const queryCases: readonly ConformanceCase[] = [
  { name: "get returns the latest checkpoint, or the one asked for", run: latestAndById },
  { name: "the head is the largest id, whatever the write order", run: headIsNewestId },
  { name: "list is newest first and honours before, limit and checkpointId", run: beforeAndLimit },
  {
    name: "list filters on metadata by deep equality, nested objects included",
    run: metadataFilter,
  },
  { name: "list spans threads and namespaces when they are not given", run: acrossThreads },
  { name: "list with includeValues false returns headers only", run: headersOnly },
  { name: "listHeaders pages headers without values, like list", run: listHeaders },
  { name: "list streams a long history in order, and can stop early", run: longHistory },
];
