/**
 * Re-encryption after a key rotation, on every backend: every stored value (channel values small
 * and large, pending writes, effect records, large values' bodies) is sealed again under the
 * tenant's newest key, tenant by tenant; the old key version can then be deleted and everything
 * still reads back. A writer running meanwhile loses nothing, and a large value replaced
 * meanwhile is never overwritten with older bytes.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqliteCheckpointer, createSqliteStore } from "../../src/backends/sqlite/index.js";
import { Checkpointer } from "../../src/checkpoint/checkpointer.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { Keyring, reencrypt } from "../../src/encryption/index.js";
import { newCheckpointId } from "../../src/ids.js";
import {
  DirectoryLargeValues,
  largeValueStats,
  S3LargeValues,
} from "../../src/large-values/index.js";
import type { LargeValueTarget } from "../../src/offload/large-value-target.js";
import { Store } from "../../src/store/store.js";
import { BACKENDS } from "../support/backends.js";
import { valueStep } from "../support/checkpoints.js";
import { S3_CREDENTIALS, startS3Server } from "../support/s3-server.js";
import { tempKeyring } from "./reencrypt-fixtures.js";

const LARGE = { thresholdBytes: 32 * 1024 };
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** What one thread holds, to read back after every step. */
interface Written {
  readonly thread: string;
  readonly first: string;
  readonly second: string;
  readonly effectKey: string;
}

/** Store items of tenant "acme" (more than one page of a rewrite), and one unscoped. */
const ITEMS = 250;
const item = (i: number) => ({ theme: `theme ${i}` });
const small = (t: string) => ({ note: `small of ${t}` });
const medium = (t: string) => `medium of ${t} `.repeat(600);
const large = (t: string) => ({ file: `large of ${t} `.repeat(3000) });

async function writeThread(checkpointer: Checkpointer, thread: string): Promise<Written> {
  const first = newCheckpointId();
  await checkpointer.put(valueStep(thread, first, small(thread)));
  const second = newCheckpointId(first);
  await checkpointer.put({
    ...valueStep(thread, second, medium(thread), first),
    channelVersions: { x: second, y: second },
    updates: [
      { channel: "x", version: second, value: medium(thread) },
      { channel: "y", version: second, value: large(thread) },
    ],
  });
  await checkpointer.putWrites({ threadId: thread, checkpointId: second }, [
    { taskId: "task", taskPath: "", idx: 0, channel: "x", value: `pending of ${thread}` },
  ]);
  const effectKey = checkpointer.effects.key("charge", { thread });
  await checkpointer.effects.begin({
    threadId: thread,
    key: effectKey,
    name: "charge",
    args: { thread },
    checkpointId: second,
    taskId: "task",
    node: "n",
  });
  await checkpointer.effects.finish({
    threadId: thread,
    key: effectKey,
    attempt: 1,
    status: "done",
    result: { receipt: `receipt of ${thread}` },
  });
  return { thread, first, second, effectKey };
}

async function expectReadable(checkpointer: Checkpointer, w: Written): Promise<void> {
  const head = await checkpointer.get(w.thread);
  expect(head?.checkpoint.values).toEqual({ x: medium(w.thread), y: large(w.thread) });
  expect(head?.pendingWrites.map((p) => p.value)).toEqual([`pending of ${w.thread}`]);
  const old = await checkpointer.get(w.thread, { checkpointId: w.first });
  expect(old?.checkpoint.values.x).toEqual(small(w.thread));
  const [effect] = await checkpointer.effects.list(w.thread);
  expect(effect?.args).toEqual({ thread: w.thread });
  expect(effect?.result).toEqual({ receipt: `receipt of ${w.thread}` });
}

/** Values per (tenant, version), as a `--check` reports them. */
async function census(checkpointer: Checkpointer, store?: Store): Promise<Record<string, number>> {
  const report = await reencrypt(checkpointer, { check: true, store });
  expect(report.rewritten).toBe(0);
  return Object.fromEntries(report.versions.map((v) => [`${v.tenant}:v${v.version}`, v.values]));
}

for (const backend of BACKENDS) {
  describe(`re-encryption on ${backend.name}`, () => {
    let keys: Keyring;
    let keyDir: string;
    let checkpointer: Checkpointer;
    let store: Store;
    const written: Written[] = [];
    const expectItems = async (s: Store) => {
      for (let i = 0; i < ITEMS; i++) {
        expect((await s.forTenant("acme").get(["prefs", `u${i}`], "k"))?.value).toEqual(item(i));
      }
      expect((await s.unscoped().get(["shared"], "k"))?.value).toEqual(item(-1));
      expect((await s.forTenant("acme").get(["files"], "f"))?.value).toEqual(large("item"));
    };
    beforeAll(async () => {
      ({ keys, directory: keyDir } = await tempKeyring(dirs));
      checkpointer = backend.checkpointer({ encryption: { keys }, largeValues: LARGE });
      for (const thread of [threadKey("a1", "acme"), threadKey("a2", "acme"), "d1"]) {
        written.push(await writeThread(checkpointer, thread));
      }
      store = backend.store({ encryption: { keys }, largeValues: LARGE });
      // An item whose long string is kept by reference: its body is sealed too.
      await store.forTenant("acme").put(["files"], "f", large("item"));
      for (let i = 0; i < ITEMS; i++) {
        await store.forTenant("acme").put(["prefs", `u${i}`], "k", item(i));
      }
      await store.unscoped().put(["shared"], "k", item(-1));
    });

    it("rewrites a tenant's values under its newest key, then every tenant's; the old key can go", async () => {
      // Per thread: 2 small or spilled channel values, 1 large value's body (counted once per
      // tenant and hash), 1 pending write, 2 effect texts; and the store's items, one of them
      // with a large value's body (ITEMS + 2 of acme).
      expect(await census(checkpointer, store)).toEqual({
        "acme:v1": 12 + ITEMS + 2,
        "null:v1": 6 + 1,
      });
      await keys.rotate("acme");
      await keys.rotate(undefined);

      const acme = await reencrypt(checkpointer, { tenant: "acme", store });
      expect(acme).toMatchObject({
        threads: 2,
        largeValues: 3,
        storeItems: ITEMS + 1,
        rewritten: 12 + ITEMS + 2,
        plaintext: 0,
      });
      expect(await census(checkpointer, store)).toEqual({
        "acme:v2": 12 + ITEMS + 2,
        "null:v1": 6 + 1,
      });
      for (const w of written) await expectReadable(checkpointer, w);
      await expectItems(store);

      const progress: [number, number][] = [];
      const all = await reencrypt(checkpointer, {
        store,
        onProgress: (done, total) => progress.push([done, total]),
      });
      expect(all.rewritten).toBe(6 + 1);
      // 3 threads, 3 bodies of the checkpointer's and 1 of the store's.
      expect(progress.slice(0, 7)).toEqual([1, 2, 3, 4, 5, 6, 7].map((done) => [done, 7]));
      expect(await census(checkpointer, store)).toEqual({
        "acme:v2": 12 + ITEMS + 2,
        "null:v2": 6 + 1,
      });
      // Run again: nothing is left to do.
      expect((await reencrypt(checkpointer, { store })).rewritten).toBe(0);

      // Retire version 1: its key files are deleted; a process opening the keys now reads all.
      for (const tenantDir of readdirSync(keyDir)) {
        unlinkSync(join(keyDir, tenantDir, "v1.json"));
      }
      const retired = await Keyring.open({ provider: keys.provider, directory: keyDir });
      expect(retired.describe("acme").versions).toEqual([2]);
      const reader = new Checkpointer(checkpointer.largeValues!.backend, {
        encryption: { keys: retired },
        largeValues: LARGE,
      });
      for (const w of written) await expectReadable(reader, w);
      await expectItems(
        new Store(store.backend, { encryption: { keys: retired }, largeValues: LARGE }),
      );
    });

    it("loses nothing to a writer running meanwhile, and leaves its values as it wrote them", async () => {
      await keys.rotate("acme");
      const extra: Written[] = [];
      const writer = (async () => {
        for (let i = 0; i < 6; i++) {
          extra.push(await writeThread(checkpointer, threadKey(`w${i}`, "acme")));
          // Items put again meanwhile, under the newest key.
          await store.forTenant("acme").put(["prefs", `u${ITEMS - 1 - i}`], "k", item(i));
        }
      })();
      const [report] = await Promise.all([
        reencrypt(checkpointer, { tenant: "acme", store }),
        writer,
      ]);
      expect(report.rewritten).toBeGreaterThan(0);
      for (let i = 0; i < 6; i++) {
        const got = await store.forTenant("acme").get(["prefs", `u${ITEMS - 1 - i}`], "k");
        expect(got?.value).toEqual(item(i));
        await store.forTenant("acme").put(["prefs", `u${ITEMS - 1 - i}`], "k", item(ITEMS - 1 - i));
      }
      // The writer wrote under the newest key; a second run finds every value there.
      await reencrypt(checkpointer, { tenant: "acme", store });
      const counts = await census(checkpointer, store);
      expect(Object.keys(counts).filter((k) => k.startsWith("acme:"))).toEqual(["acme:v3"]);
      for (const w of [...written, ...extra]) await expectReadable(checkpointer, w);
    });

    it("two runs at once replace each value once: the second finds it changed and leaves it", async () => {
      await keys.rotate("acme");
      const expected = 12 + 6 * 6 + ITEMS + 2;
      const runs = await Promise.all([
        reencrypt(checkpointer, { tenant: "acme", store }),
        reencrypt(checkpointer, { tenant: "acme", store }),
      ]);
      expect(runs[0]!.rewritten + runs[1]!.rewritten).toBe(expected);
      const counts = await census(checkpointer, store);
      expect(counts["acme:v4"]).toBe(expected);
      for (const w of written) await expectReadable(checkpointer, w);
      await expectItems(store);
    });

    it("never replaces a large value whose bytes changed since they were read", async () => {
      const target = checkpointer.largeValues!.target;
      const [entry] = await (async () => {
        const out = [];
        for await (const e of target.list()) out.push(e);
        return out;
      })();
      const held = (await target.get(entry!.tenant, entry!.hash))!;
      const stale = Uint8Array.from(held, (b) => b ^ 1);
      expect(await target.replace!(entry!.tenant, entry!.hash, stale, new Uint8Array([1]))).toBe(
        false,
      );
      expect(Buffer.from((await target.get(entry!.tenant, entry!.hash))!)).toEqual(
        Buffer.from(held),
      );
    });
  });
}

let s3: Awaited<ReturnType<typeof startS3Server>> | undefined;
const s3Dir = mkdtempSync(join(tmpdir(), "rewind-reencrypt-s3-"));
dirs.push(s3Dir);
beforeAll(async () => {
  s3 = await startS3Server(s3Dir, ["values"]);
});
afterAll(async () => {
  await s3?.close();
});

const EXTERNAL: [string, (directory: string) => LargeValueTarget][] = [
  ["a directory", (directory) => new DirectoryLargeValues(join(directory, "..", "values"))],
  [
    "an S3-compatible bucket",
    () =>
      new S3LargeValues({
        bucket: "values",
        prefix: `re-${randomUUID()}/`,
        endpoint: s3!.endpoint,
        credentials: S3_CREDENTIALS,
      }),
  ],
];

describe.each(EXTERNAL)("re-encryption of large values in %s", (_, make) => {
  it("replaces each body in place, keeps it readable, and leaves a changed one alone", async () => {
    const { keys, directory } = await tempKeyring(dirs);
    const target = make(directory);
    const checkpointer = (BACKENDS.find((b) => b.name === "sqlite") ?? BACKENDS[0]!).checkpointer({
      encryption: { keys },
      largeValues: { ...LARGE, target },
    });
    const written = await writeThread(checkpointer, threadKey("d", "acme"));
    let entry: { tenant: string; hash: string } | undefined;
    for await (const e of target.list()) entry = e;
    const before = Buffer.from((await target.get(entry!.tenant, entry!.hash))!);
    await keys.rotate("acme");
    const report = await reencrypt(checkpointer);
    expect(report).toMatchObject({ largeValues: 1, rewritten: 6 });
    expect(await census(checkpointer)).toEqual({ "acme:v2": 6 });
    const held = (await target.get(entry!.tenant, entry!.hash))!;
    // The body itself was sealed again (under the new key), not only the rows.
    expect(Buffer.from(held).equals(before)).toBe(false);
    const reader = new Checkpointer(checkpointer.largeValues!.backend, {
      encryption: { keys },
      largeValues: { ...LARGE, target },
    });
    await expectReadable(reader, written);
    const stale = Uint8Array.from(held, (b) => b ^ 1);
    expect(await target.replace!(entry!.tenant, entry!.hash, stale, new Uint8Array([1]))).toBe(
      false,
    );
    expect(Buffer.from((await target.get(entry!.tenant, entry!.hash))!)).toEqual(Buffer.from(held));
    await checkpointer.close();
  });
});

describe("re-encryption of a checkpointer and a store in one SQLite file", () => {
  it("seals each body of their shared table again once, and counts it once", async () => {
    const { keys, directory } = await tempKeyring(dirs);
    const file = join(directory, "..", "shared.sqlite");
    const checkpointer = createSqliteCheckpointer(file, {
      encryption: { keys },
      largeValues: LARGE,
    });
    const store = createSqliteStore(file, { encryption: { keys }, largeValues: LARGE });
    const written = await writeThread(checkpointer, threadKey("s", "acme"));
    await store.forTenant("acme").put(["files"], "f", large("item"));
    // One table: both list both bodies.
    expect((await largeValueStats(checkpointer)).values).toBe(2);
    await keys.rotate("acme");
    const report = await reencrypt(checkpointer, { store });
    expect(report).toMatchObject({ largeValues: 2, storeItems: 1, rewritten: 6 + 2 });
    expect(await census(checkpointer, store)).toEqual({ "acme:v2": 6 + 2 });
    await expectReadable(checkpointer, written);
    const fresh = createSqliteStore(file, { encryption: { keys }, largeValues: LARGE });
    expect((await fresh.forTenant("acme").get(["files"], "f"))?.value).toEqual(large("item"));
    await fresh.close();
    await store.close();
    await checkpointer.close();
  });
});
