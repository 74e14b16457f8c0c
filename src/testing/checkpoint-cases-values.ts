/**
 * Conformance cases about channel values: every supported type round-trips, carried-over
 * channels stay readable, append chains rebuild (across full snapshots and forks), and a
 * corrupted value is reported by name without hiding its neighbours.
 */
import { expect } from "vitest";
import { SerializationError } from "../errors.js";
import {
  type CaseContext,
  type ConformanceCase,
  ConformanceMoney,
  collect,
  ids,
  listIds,
  mustGet,
  putFull,
} from "./checkpoint-fixtures.js";

function everyType(): Record<string, unknown> {
  return {
    date: new Date("2024-02-29T12:34:56.789Z"),
    invalidDate: new Date(Number.NaN),
    map: new Map<unknown, unknown>([
      ["k", new Set([1, "1"])],
      [2, { nested: [1n] }],
    ]),
    set: new Set(["a", 3, null]),
    bigint: 2n ** 70n,
    negativeBigint: -(2n ** 64n) - 1n,
    bytesInside: { data: new Uint8Array([0, 255, 128, 10]) },
    undef: undefined,
    nested: { a: { b: [1, { c: undefined, d: null }], e: "é\u2028😀" }, arr: [[[]]] },
    money: new ConformanceMoney(1999n, "EUR"),
    negativeZero: -0,
    nan: Number.NaN,
    infinity: Number.POSITIVE_INFINITY,
    negativeInfinity: Number.NEGATIVE_INFINITY,
    tagLookalike: { $rw: "date", v: "not a date" },
    regexp: /a+b/gi,
    emptyString: "",
    nul: null,
  };
}

async function roundTrip(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("types");
  const [id] = ids(1);
  const values = { ...everyType(), topBytes: new Uint8Array([255, 0, 128, 0xc3, 0x28]) };
  await putFull(ctx, threadId, id!, values, { metadata: { when: new Date(0), big: 5n } });
  const { checkpoint } = await mustGet(ctx, threadId, id);
  const got = checkpoint.values;
  expect(got).toStrictEqual(values);
  expect(Object.is(got.negativeZero, -0)).toBe(true);
  expect(Number.isNaN(got.nan)).toBe(true);
  expect("undef" in got).toBe(true);
  expect(got.money).toBeInstanceOf(ConformanceMoney);
  expect((got.money as ConformanceMoney).format()).toBe("1999 EUR");
  expect(got.date).toBeInstanceOf(Date);
  expect(got.topBytes).toBeInstanceOf(Uint8Array);
  expect([...(got.topBytes as Uint8Array)]).toEqual([255, 0, 128, 0xc3, 0x28]);
  expect(checkpoint.metadata.when).toStrictEqual(new Date(0));
  expect(checkpoint.metadata.big).toBe(5n);
}

async function emptyChannel(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("empty");
  const [id] = ids(1);
  await ctx.checkpointer.put({
    threadId,
    id: id!,
    parentId: undefined,
    channelVersions: { cleared: id!, kept: id! },
    versionsSeen: { node: { kept: id! } },
    metadata: { source: "input", step: -1, tag: ctx.tag },
    updates: [
      { channel: "cleared", version: id!, empty: true },
      { channel: "kept", version: id!, value: 0 },
    ],
  });
  const { checkpoint } = await mustGet(ctx, threadId);
  expect(checkpoint.values).toStrictEqual({ kept: 0 });
  expect(checkpoint.channelVersions).toStrictEqual({ cleared: id, kept: id });
  expect(checkpoint.versionsSeen).toStrictEqual({ node: { kept: id } });
}

async function largeValues(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("large");
  const [c1, c2] = ids(2) as [string, string];
  const big = "long text ".repeat(200_000);
  const bytes = new Uint8Array(300_000).map((_, i) => (i * 7919) % 256);
  const many: Record<string, unknown> = { big, bytes };
  for (let i = 0; i < 60; i++) many[`channel-${i}`] = { i, text: "x".repeat(i * 40) };
  await putFull(ctx, threadId, c1, many);
  await putFull(ctx, threadId, c2, { big: `${big}!` }, { carried: { bytes: c1 } });
  const key = { threadId, checkpointId: c1 };
  const write = { taskId: "t", taskPath: "", channel: "c" };
  await ctx.checkpointer.putWrites(key, [{ ...write, idx: 0, value: big }]);
  await ctx.checkpointer.putWrites(key, [{ ...write, idx: 0, value: "ignored" }]);
  await ctx.checkpointer.putWrites(key, [{ ...write, idx: -1, value: bytes }]);
  await ctx.checkpointer.putWrites(key, [{ ...write, idx: -1, value: `${big}?` }]);
  const first = await mustGet(ctx, threadId, c1);
  expectSameValues(first.checkpoint.values, many);
  expect(first.pendingWrites.map((w) => w.value)).toStrictEqual([`${big}?`, big]);
  const second = await mustGet(ctx, threadId, c2);
  expectSameValues(second.checkpoint.values, { big: `${big}!`, bytes });
}

/**
 * `toStrictEqual`, with the `bytes` channel compared as bytes: vitest's deep equality walks a
 * typed array element by element, which takes tens of seconds for 300 KB on a loaded machine.
 */
function expectSameValues(
  actual: Record<string, unknown>,
  expected: Record<string, unknown>,
): void {
  const { bytes, ...rest } = actual;
  const { bytes: expectedBytes, ...expectedRest } = expected;
  expect(rest).toStrictEqual(expectedRest);
  expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
  expect(Buffer.compare(bytes as Uint8Array, expectedBytes as Uint8Array)).toBe(0);
}

async function anyIdShape(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("shapes");
  const upper = "0190AAAA-BBBB-7CCC-8DDD-EEEEEEEEEEEE";
  const lower = upper.toLowerCase();
  const base = { threadId, versionsSeen: {}, metadata: { source: "loop" as const, step: 0 } };
  await ctx.checkpointer.put({
    ...base,
    id: "cp-1",
    parentId: undefined,
    channelVersions: { n: 1, s: "v.1", u: upper, l: lower },
    updates: [
      { channel: "n", version: 1, value: "number version" },
      { channel: "s", version: "v.1", value: ["s1"] },
      { channel: "u", version: upper, value: "upper" },
      { channel: "l", version: lower, value: "lower" },
    ],
  });
  await mustGet(ctx, threadId, "cp-1");
  await ctx.checkpointer.put({
    ...base,
    id: "cp-2",
    parentId: "cp-1",
    channelVersions: { n: 1, s: "00000000000000000000000000000002.0.5", u: upper, l: lower },
    updates: [
      {
        channel: "s",
        version: "00000000000000000000000000000002.0.5",
        value: ["s1", "s2"],
        append: { prevVersion: "v.1", items: ["s2"] },
      },
    ],
  });
  await ctx.checkpointer.putWrites({ threadId, checkpointId: "cp-2" }, [
    { taskId: "task", taskPath: "", idx: 0, channel: "c", value: "on cp-2" },
  ]);
  const second = await mustGet(ctx, threadId, "cp-2");
  expect(second.checkpoint).toMatchObject({ id: "cp-2", parentId: "cp-1" });
  expect(second.checkpoint.channelVersions).toStrictEqual({
    n: 1,
    s: "00000000000000000000000000000002.0.5",
    u: upper,
    l: lower,
  });
  expect(second.checkpoint.values).toStrictEqual({
    n: "number version",
    s: ["s1", "s2"],
    u: "upper",
    l: "lower",
  });
  expect(second.pendingWrites.map((w) => w.value)).toEqual(["on cp-2"]);
  expect((await mustGet(ctx, threadId, "cp-1")).pendingWrites).toEqual([]);
  expect(await listIds(ctx, { threadId })).toEqual(["cp-2", "cp-1"]);
}

async function carriedOver(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("carry");
  const all = ids(50);
  await putFull(ctx, threadId, all[0]!, { profile: { name: "Ann" }, counter: 1 });
  for (let step = 2; step <= 50; step++) {
    await putFull(
      ctx,
      threadId,
      all[step - 1]!,
      { counter: step },
      { carried: { profile: all[0]! }, parentId: all[step - 2], expectedHead: all[step - 2] },
    );
  }
  const latest = await mustGet(ctx, threadId);
  expect(latest.checkpoint.id).toBe(all[49]);
  expect(latest.checkpoint.values).toStrictEqual({ profile: { name: "Ann" }, counter: 50 });
  const middle = await mustGet(ctx, threadId, all[24]);
  expect(middle.checkpoint.values).toStrictEqual({ profile: { name: "Ann" }, counter: 25 });
  // The backend hands back the one blob written at step 1: the value was never rewritten.
  const raw = await ctx.backend.getCheckpoint(threadId, "", all[49]);
  expect(raw?.blobs.profile?.map((b) => b.version)).toEqual([all[0]]);
}

/**
 * A (channel, version) holds one value: a later checkpoint that writes a value at a version
 * already stored (a writer retried after a cut connection, a saver replaying a put) leaves the
 * first value in place, for the first checkpoint and for the later one alike.
 */
async function firstWriteWins(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("first-write");
  const [a, b] = ids(2);
  const put = (id: string, parentId: string | undefined, value: string) =>
    ctx.checkpointer.put({
      threadId,
      id,
      parentId,
      channelVersions: { note: "v1", count: "v1" },
      versionsSeen: {},
      metadata: { source: "loop", step: 0, tag: ctx.tag },
      updates: [
        { channel: "note", version: "v1", value },
        { channel: "count", version: "v1", value: value.length },
      ],
    });
  await put(a!, undefined, "first");
  // Read once in between: a backend that keeps what it read (or wrote) must not keep the
  // second write, which was not stored.
  expect((await ctx.checkpointer.get(threadId))?.checkpoint.values).toStrictEqual({
    note: "first",
    count: 5,
  });
  await put(b!, a, "second, longer");
  expect((await ctx.checkpointer.get(threadId))?.checkpoint.values).toStrictEqual({
    note: "first",
    count: 5,
  });
  for (const id of [a!, b!]) {
    const { checkpoint } = await mustGet(ctx, threadId, id);
    expect(checkpoint.values).toStrictEqual({ note: "first", count: 5 });
  }
}

/** Appends `items` to `channel` on top of `prev`, as the runtime does for an append channel. */
async function putAppend(
  ctx: CaseContext,
  threadId: string,
  id: string,
  parentId: string,
  prev: { version: string; value: unknown[] },
  items: unknown[],
): Promise<{ version: string; value: unknown[] }> {
  const value = [...prev.value, ...items];
  await ctx.checkpointer.put({
    threadId,
    id,
    parentId,
    channelVersions: { messages: id },
    versionsSeen: {},
    metadata: { source: "loop", step: 1, tag: ctx.tag },
    updates: [
      {
        channel: "messages",
        version: id,
        value,
        append: { prevVersion: prev.version, items },
      },
    ],
  });
  return { version: id, value };
}

async function appendChain(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("append");
  const all = ids(13);
  await putFull(ctx, threadId, all[0]!, { messages: ["m0"] });
  let head = { version: all[0]!, value: ["m0"] as unknown[] };
  const kinds: string[] = [];
  for (let i = 1; i < all.length; i++) {
    head = await putAppend(ctx, threadId, all[i]!, all[i - 1]!, head, [`m${i}`, { i }]);
    const raw = await ctx.backend.getCheckpoint(threadId, "", all[i]);
    kinds.push(raw!.blobs.messages![0]!.kind + raw!.blobs.messages!.length);
  }
  // The suite's policy forces full snapshots within a few appends, so the chain restarts.
  expect(kinds.some((k) => k.startsWith("append"))).toBe(false);
  expect(kinds.filter((k) => k === "full1").length).toBeGreaterThan(0);
  expect(kinds.some((k) => k.startsWith("full") && k !== "full1")).toBe(true);
  for (let i = 0; i < all.length; i++) {
    const { checkpoint } = await mustGet(ctx, threadId, all[i]);
    const expected: unknown[] = ["m0"];
    for (let j = 1; j <= i; j++) expected.push(`m${j}`, { i: j });
    expect(checkpoint.values.messages).toStrictEqual(expected);
  }
}

async function appendForks(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("forks");
  const [c0, c1, x2, y2, x3, y3] = ids(6) as [string, string, string, string, string, string];
  await putFull(ctx, threadId, c0, { messages: ["a"] });
  const base = await putAppend(ctx, threadId, c1, c0, { version: c0, value: ["a"] }, ["b"]);
  const x = await putAppend(ctx, threadId, x2, c1, base, ["x"]);
  const y = await putAppend(ctx, threadId, y2, c1, base, ["y"]);
  await putAppend(ctx, threadId, x3, x2, x, ["x2"]);
  await putAppend(ctx, threadId, y3, y2, y, ["y2"]);
  const read = async (id: string) => (await mustGet(ctx, threadId, id)).checkpoint.values.messages;
  expect(await read(c1)).toStrictEqual(["a", "b"]);
  expect(await read(x2)).toStrictEqual(["a", "b", "x"]);
  expect(await read(y2)).toStrictEqual(["a", "b", "y"]);
  expect(await read(x3)).toStrictEqual(["a", "b", "x", "x2"]);
  expect(await read(y3)).toStrictEqual(["a", "b", "y", "y2"]);
  const raw = await ctx.backend.getCheckpoint(threadId, "", x3);
  // The x branch's chain: the full value at c0, then appends (a backend may merge a run of
  // them into one) ending at x3, three appends deep.
  const chain = raw!.blobs.messages!;
  expect(chain[0]).toMatchObject({ version: c0, kind: "full" });
  expect(chain.slice(1).every((b) => b.kind === "append")).toBe(true);
  expect(chain.at(-1)).toMatchObject({ version: x3, depth: 3 });
  expect(chain.length).toBeGreaterThan(1);
}

async function corruptedValue(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("corrupt");
  const other = ctx.thread("corrupt-other");
  const [c1, c2, c3, c4, c5] = ids(5) as [string, string, string, string, string];
  await putFull(ctx, threadId, c1, { a: "one" });
  await putFull(ctx, other, c1, { a: "elsewhere" });
  const rawPut = (id: string, tag: string, bytes: number[]) =>
    ctx.backend.putCheckpoint({
      checkpoint: {
        threadId,
        ns: "",
        id,
        parentId: c1,
        createdAt: new Date().toISOString(),
        channelVersions: { a: c1, b: id },
        metadata: JSON.stringify({ source: "loop", step: 1, tag: ctx.tag }),
        body: JSON.stringify({ vs: {} }),
      },
      blobs: [
        {
          channel: "b",
          version: id,
          kind: "full",
          prevVersion: null,
          depth: 0,
          value: { tag, bytes: new Uint8Array(bytes) },
        },
      ],
    });
  await rawPut(c2, "no-such-serializer", [1, 2, 3]);
  await rawPut(c3, "json", [0xff, 0xfe, 0x7b]);
  await putFull(ctx, threadId, c4, { b: "four" }, { carried: { a: c1 } });
  await putFull(ctx, threadId, c5, { b: "five" }, { carried: { a: c1 } });
  await ctx.backend.putWrites({ threadId, ns: "", checkpointId: c5 }, [
    {
      taskId: "t",
      taskPath: "",
      idx: 0,
      channel: "x",
      value: { tag: "nope", bytes: new Uint8Array([1]) },
    },
  ]);
  for (const bad of [c2, c3, c5]) {
    const error = await ctx.checkpointer.get(threadId, { checkpointId: bad }).catch((e) => e);
    expect(error).toBeInstanceOf(SerializationError);
    expect(error).toMatchObject({ code: "SERIALIZATION", threadId, checkpointId: bad });
    expect(String(error.message)).toContain(bad);
  }
  expect((await mustGet(ctx, threadId, c1)).checkpoint.values).toStrictEqual({ a: "one" });
  expect((await mustGet(ctx, threadId, c4)).checkpoint.values).toStrictEqual({
    a: "one",
    b: "four",
  });
  expect((await mustGet(ctx, other)).checkpoint.values).toStrictEqual({ a: "elsewhere" });
  // Headers of every checkpoint still list; values list up to the first bad one.
  expect(await listIds(ctx, { threadId, includeValues: false })).toEqual([c5, c4, c3, c2, c1]);
  expect(await listIds(ctx, { threadId, before: c2 })).toEqual([c1]);
  await expect(collect(ctx.checkpointer.list({ threadId }))).rejects.toBeInstanceOf(
    SerializationError,
  );
  if (ctx.corrupt) {
    await ctx.corrupt({ threadId, ns: "", checkpointId: c4 });
    const error = await ctx.checkpointer.get(threadId, { checkpointId: c4 }).catch((e) => e);
    // Damaged bytes are CORRUPTED where a check catches them (a checksum, an unreadable row).
    expect(["CORRUPTED", "SERIALIZATION"]).toContain(error?.code);
    expect(error).toMatchObject({ threadId, checkpointId: c4 });
    expect((await mustGet(ctx, threadId, c1)).checkpoint.values).toStrictEqual({ a: "one" });
    expect((await mustGet(ctx, other)).checkpoint.values).toStrictEqual({ a: "elsewhere" });
  }
}

/** Cases of the "values" group. */
export const valueCases: readonly ConformanceCase[] = [
  { name: "every supported value type round-trips exactly", run: roundTrip },
  { name: "a cleared channel reads back absent while its version is kept", run: emptyChannel },
  {
    name: "large values and many channels round-trip, in checkpoints and writes",
    run: largeValues,
  },
  {
    name: "ids and versions of any shape round-trip, numbers and letter case included",
    run: anyIdShape,
  },
  {
    name: "a channel written at step 1 is still present at step 50, never rewritten",
    run: carriedOver,
  },
  {
    name: "a value written again at a stored (channel, version) keeps the first write",
    run: firstWriteWins,
  },
  { name: "append chains rebuild the value across periodic full snapshots", run: appendChain },
  { name: "two branches appending to the same version rebuild independently", run: appendForks },
  {
    name: "a corrupted value is reported by thread and checkpoint; its neighbours still load",
    run: corruptedValue,
  },
];
