/**
 * Re-encryption after a key rotation, on every backend: every stored value (channel values small
 * and large, pending writes, effect records, large values' bodies) is sealed again under the
 * tenant's newest key, tenant by tenant; the old key version can then be deleted and everything
 * still reads back. A writer running meanwhile loses nothing, and a large value replaced
 * meanwhile is never overwritten with older bytes.
 */
import { readdirSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Checkpointer } from "../../src/checkpoint/checkpointer.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { Keyring, reencrypt } from "../../src/encryption/index.js";
import { newCheckpointId } from "../../src/ids.js";
import { BACKENDS } from "../support/backends.js";
import { valueStep } from "../support/checkpoints.js";
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
async function census(checkpointer: Checkpointer): Promise<Record<string, number>> {
  const report = await reencrypt(checkpointer, { check: true });
  expect(report.rewritten).toBe(0);
  return Object.fromEntries(report.versions.map((v) => [`${v.tenant}:v${v.version}`, v.values]));
}

for (const backend of BACKENDS) {
  describe(`re-encryption on ${backend.name}`, () => {
    let keys: Keyring;
    let keyDir: string;
    let checkpointer: Checkpointer;
    const written: Written[] = [];
    beforeAll(async () => {
      ({ keys, directory: keyDir } = await tempKeyring(dirs));
      checkpointer = backend.checkpointer({ encryption: { keys }, largeValues: LARGE });
      for (const thread of [threadKey("a1", "acme"), threadKey("a2", "acme"), "d1"]) {
        written.push(await writeThread(checkpointer, thread));
      }
    });

    it("rewrites a tenant's values under its newest key, then every tenant's; the old key can go", async () => {
      // Per thread: 2 small or spilled channel values, 1 large value's body (counted once per
      // tenant and hash), 1 pending write, 2 effect texts.
      expect(await census(checkpointer)).toEqual({ "acme:v1": 12, "null:v1": 6 });
      await keys.rotate("acme");
      await keys.rotate(undefined);

      const acme = await reencrypt(checkpointer, { tenant: "acme" });
      expect(acme).toMatchObject({ threads: 2, largeValues: 2, rewritten: 12, plaintext: 0 });
      expect(await census(checkpointer)).toEqual({ "acme:v2": 12, "null:v1": 6 });
      for (const w of written) await expectReadable(checkpointer, w);

      const progress: [number, number][] = [];
      const all = await reencrypt(checkpointer, {
        onProgress: (done, total) => progress.push([done, total]),
      });
      expect(all.rewritten).toBe(6);
      expect(progress.at(-1)).toEqual([6, 6]);
      expect(await census(checkpointer)).toEqual({ "acme:v2": 12, "null:v2": 6 });
      // Run again: nothing is left to do.
      expect((await reencrypt(checkpointer)).rewritten).toBe(0);

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
    });

    it("loses nothing to a writer running meanwhile, and leaves its values as it wrote them", async () => {
      await keys.rotate("acme");
      const extra: Written[] = [];
      const writer = (async () => {
        for (let i = 0; i < 6; i++)
          extra.push(await writeThread(checkpointer, threadKey(`w${i}`, "acme")));
      })();
      const [report] = await Promise.all([reencrypt(checkpointer, { tenant: "acme" }), writer]);
      expect(report.rewritten).toBeGreaterThan(0);
      // The writer wrote under the newest key; a second run finds every value there.
      await reencrypt(checkpointer, { tenant: "acme" });
      const counts = await census(checkpointer);
      expect(Object.keys(counts).filter((k) => k.startsWith("acme:"))).toEqual(["acme:v3"]);
      for (const w of [...written, ...extra]) await expectReadable(checkpointer, w);
    });

    it("two runs at once replace each value once: the second finds it changed and leaves it", async () => {
      await keys.rotate("acme");
      const expected = 12 + 6 * 6;
      const runs = await Promise.all([
        reencrypt(checkpointer, { tenant: "acme" }),
        reencrypt(checkpointer, { tenant: "acme" }),
      ]);
      expect(runs[0]!.rewritten + runs[1]!.rewritten).toBe(expected);
      const counts = await census(checkpointer);
      expect(counts["acme:v4"]).toBe(expected);
      for (const w of written) await expectReadable(checkpointer, w);
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
