/**
 * Conformance cases about the contracts of the seam itself: a backend may merge stored appends
 * only when the codec marked them concatenable (so a serializer with another byte form still
 * reads back exactly, however long its chains grow), and no name a database could store
 * unfaithfully (NUL, an unpaired surrogate) gets past the door, even on a raw seam call.
 */
import { expect } from "vitest";
import { createCheckpointer } from "../checkpoint/checkpointer.js";
import { ClosedError, InvalidInputError, SerializationError } from "../errors.js";
import { JSON_TAG, JsonSerializer, type SerializedValue } from "../serde/serializer.js";
import {
  type CaseContext,
  type ConformanceCase,
  caught,
  collect,
  ids,
  mustGet,
  putFull,
} from "./checkpoint-fixtures.js";

/**
 * A serializer whose values are framed (`["framed", value]`): an array's bytes look like a JSON
 * array under the usual tag, yet two of them joined decode to the first alone. It declares no
 * JSON-array tag, so nothing it stores may be merged.
 */
class FramedSerializer extends JsonSerializer {
  override readonly jsonArrayTag = undefined;

  override encode(value: unknown): SerializedValue {
    return { tag: JSON_TAG, bytes: new TextEncoder().encode(this.stringify(["framed", value])) };
  }

  override decode(value: SerializedValue): unknown {
    const framed = super.decode(value);
    if (!Array.isArray(framed) || framed.length !== 2 || framed[0] !== "framed") {
      throw new SerializationError("not a framed value");
    }
    return framed[1];
  }
}

async function opaqueAppends(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("opaque");
  // Shares the suite's door (closed by the suite); no full snapshot within the chain.
  const framed = createCheckpointer(ctx.backend, {
    serializer: new FramedSerializer(),
    minAppendDepth: 1000,
    appendRatio: 1000,
    maxAppendDepth: 1000,
  });
  const all = ids(40);
  await framed.put({
    threadId,
    id: all[0]!,
    parentId: undefined,
    channelVersions: { log: all[0]! },
    versionsSeen: {},
    metadata: { source: "loop", step: 0, tag: ctx.tag },
    updates: [{ channel: "log", version: all[0]!, value: ["m0"] }],
  });
  const expected: unknown[][] = [["m0"]];
  for (let i = 1; i < all.length; i++) {
    const items = i % 3 === 0 ? [`m${i}`, { i }] : [`m${i}`];
    const value = [...expected.at(-1)!, ...items];
    await framed.put({
      threadId,
      id: all[i]!,
      parentId: all[i - 1],
      channelVersions: { log: all[i]! },
      versionsSeen: {},
      metadata: { source: "loop", step: i, tag: ctx.tag },
      updates: [
        {
          channel: "log",
          version: all[i]!,
          value,
          append: { prevVersion: all[i - 1]!, items },
        },
      ],
    });
    expected.push(value);
  }
  for (let i = 0; i < all.length; i++) {
    const tuple = await framed.get(threadId, { checkpointId: all[i] });
    expect(tuple?.checkpoint.values.log).toStrictEqual(expected[i]);
  }
  // One full value and every later step an append on it.
  const head = await framed.door.getCheckpoint(threadId, "", undefined);
  const chain = head?.blobs.log ?? [];
  expect(chain[0]?.kind).toBe("full");
  expect(chain.at(-1)).toMatchObject({ kind: "append", depth: all.length - 1 });
}

async function unfaithfulNames(ctx: CaseContext): Promise<void> {
  const ok = ctx.thread("names");
  const [c1, c2] = ids(2) as [string, string];
  await putFull(ctx, ok, c1, { v: 1 });
  const refused = async (attempt: () => Promise<unknown>) => {
    expect(await caught(attempt)).toBeInstanceOf(InvalidInputError);
  };
  const row = (threadId: string, channel: string) => ({
    threadId,
    ns: "",
    id: c2,
    parentId: c1,
    createdAt: new Date().toISOString(),
    channelVersions: { [channel]: c2 },
    metadata: JSON.stringify({ source: "loop", step: 1, tag: ctx.tag }),
    body: "{}",
  });
  const blob = (channel: string) => ({
    channel,
    version: c2,
    kind: "full" as const,
    prevVersion: null,
    depth: 0,
    value: { tag: "json", bytes: new TextEncoder().encode("1") },
  });
  for (const bad of ["a\u0000b", "lone\ud800", "\udc00lone"]) {
    await refused(() =>
      ctx.backend.putCheckpoint({ checkpoint: row(ok, bad), blobs: [blob(bad)] }),
    );
    await refused(() =>
      ctx.backend.putWrites({ threadId: ok, ns: "", checkpointId: c1 }, [
        { taskId: "t", taskPath: "", idx: 0, channel: bad, value: blob(bad).value },
      ]),
    );
    await refused(() => ctx.backend.getCheckpoint(ok, bad));
    await refused(() => collect(ctx.backend.listCheckpoints({ threadId: ok, ns: bad })));
  }
  // Two ids differing only in an unpaired surrogate must not become one thread anywhere.
  for (const bad of [`${ok}\ud800`, `${ok}\udbff`]) {
    await refused(() => putFull(ctx, bad, c1, { v: bad }));
    await refused(() => ctx.backend.getCheckpoint(bad, ""));
    await refused(() => ctx.checkpointer.acquireLease(bad, "run", 1000));
  }
  const paired = `${ok}\ud83d\ude00`;
  await putFull(ctx, paired, c1, { v: "paired" });
  expect((await mustGet(ctx, paired)).checkpoint.values).toStrictEqual({ v: "paired" });
  expect((await mustGet(ctx, ok)).checkpoint).toMatchObject({ id: c1, values: { v: 1 } });
  expect((await mustGet(ctx, ok)).pendingWrites).toEqual([]);
}

/**
 * Calls made before `close()` finish (a server shutting down may close while a run's last
 * writes are in flight); calls after it are refused with `ClosedError` and store nothing.
 */
async function closeAfterCalls(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("closing");
  const [c1, c2] = ids(2);
  await putFull(ctx, threadId, c1!, { v: 1 });
  const under = [
    putFull(ctx, ctx.thread("closing-other"), c1!, { v: "other" }),
    ctx.checkpointer.putWrites({ threadId, checkpointId: c1! }, [
      { taskId: "t", taskPath: "", idx: 0, channel: "v", value: 2 },
    ]),
    putFull(ctx, threadId, c2!, { v: 2 }, { parentId: c1, expectedHead: c1 }),
    ctx.checkpointer.get(threadId),
  ];
  await ctx.checkpointer.close();
  expect((await Promise.allSettled(under)).map((r) => r.status)).toEqual(
    under.map(() => "fulfilled"),
  );
  const after = await caught(() => ctx.checkpointer.get(threadId));
  expect(after).toBeInstanceOf(ClosedError);
}

/** Cases of the "seam contracts" group. */
export const contractCases: readonly ConformanceCase[] = [
  {
    name: "long append chains read back right when the serializer's arrays cannot be joined",
    run: opaqueAppends,
  },
  {
    name: "names with NUL or unpaired surrogates are refused at the door, raw seam calls included",
    run: unfaithfulNames,
  },
  {
    name: "close() lets the calls made before it finish; later calls are refused",
    run: closeAfterCalls,
  },
];
