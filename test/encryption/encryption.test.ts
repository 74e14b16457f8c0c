/**
 * Encryption at rest on every backend: values round-trip; rows copied to another thread or
 * tenant, tampered bytes and plaintext rows are refused with a named error; key rotation keeps
 * old rows readable; effect records are sealed too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredBlob } from "../../src/checkpoint/checkpoint-backend.js";
import { Checkpointer } from "../../src/checkpoint/checkpointer.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { generateKek, Keyring, localKeyProvider } from "../../src/encryption/index.js";
import { newCheckpointId } from "../../src/ids.js";
import { isRewindError } from "../../src/index.js";
import { BACKENDS } from "../support/backends.js";
import { valueStep } from "../support/checkpoints.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function keyring(): Promise<Keyring> {
  const directory = mkdtempSync(join(tmpdir(), "rewind-keys-"));
  dirs.push(directory);
  const kek = Buffer.from(generateKek(), "base64");
  return Keyring.open({ provider: localKeyProvider([kek]), directory });
}

/** The stored bytes of channel `x` of a thread's head, as the backend holds them. */
async function storedBlob(checkpointer: Checkpointer, threadId: string): Promise<StoredBlob> {
  const loaded = await checkpointer.door.getCheckpoint(threadId, "");
  return loaded!.blobs.x!.at(-1)!;
}

/** A checkpoint of `threadId` whose channel `x` is `blob` as stored elsewhere (a copied row). */
async function writeCopied(checkpointer: Checkpointer, threadId: string, blob: StoredBlob) {
  const id = newCheckpointId();
  const row = {
    ...valueStep(threadId, id, null),
    channelVersions: { x: blob.version },
    updates: [],
  };
  const encoded = checkpointer.encode(row);
  await checkpointer.door.putCheckpoint({ checkpoint: encoded.checkpoint, blobs: [blob] });
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isRewindError(error), String(error)).toBe(true);
  return (error as { code: string }).code;
}

for (const backend of BACKENDS) {
  describe(`encryption on ${backend.name}`, () => {
    let keys: Keyring;
    let checkpointer: Checkpointer;
    beforeAll(async () => {
      keys = await keyring();
      checkpointer = backend.checkpointer({ encryption: { keys } });
    });
    afterAll(() => checkpointer.close());

    it("round-trips values, pending writes and tenants' threads, and stores no plaintext", async () => {
      const secret = { note: "the launch code is 0000", items: [1, 2, 3] };
      const thread = threadKey("t1", "acme");
      const id = newCheckpointId();
      await checkpointer.put(valueStep(thread, id, secret));
      await checkpointer.putWrites({ threadId: thread, checkpointId: id }, [
        { taskId: "task-1", taskPath: "", idx: 0, channel: "x", value: "pending secret" },
      ]);
      const tuple = await checkpointer.get(thread);
      expect(tuple?.checkpoint.values.x).toEqual(secret);
      expect(tuple?.pendingWrites.map((w) => w.value)).toEqual(["pending secret"]);
      const stored = await storedBlob(checkpointer, thread);
      expect(Buffer.from(stored.value!.bytes).toString("latin1")).not.toContain("launch code");
      expect(stored.value!.tag).toContain("@e1:");
      const loaded = await checkpointer.door.getCheckpoint(thread, "");
      const write = loaded!.writes[0]!;
      expect(Buffer.from(write.value.bytes).toString("latin1")).not.toContain("pending secret");
      // The default tenant gets a key of its own.
      await checkpointer.put(valueStep("t1", newCheckpointId(), "default tenant"));
      expect((await checkpointer.get("t1"))?.checkpoint.values.x).toBe("default tenant");
      expect(keys.tenants().sort()).toEqual(["acme", null].sort());
    });

    it("refuses a value copied to another thread or another tenant", async () => {
      const from = threadKey("source", "acme");
      await checkpointer.put(valueStep(from, newCheckpointId(), "acme's secret"));
      const blob = await storedBlob(checkpointer, from);
      await writeCopied(checkpointer, threadKey("other-thread", "acme"), blob);
      await writeCopied(checkpointer, threadKey("source", "globex"), blob);
      await writeCopied(checkpointer, "source", blob);
      expect(await refusal(checkpointer.get(threadKey("other-thread", "acme")))).toBe("ENCRYPTION");
      expect(await refusal(checkpointer.get(threadKey("source", "globex")))).toBe("ENCRYPTION");
      expect(await refusal(checkpointer.get("source"))).toBe("ENCRYPTION");
      // The original still reads.
      expect((await checkpointer.get(from))?.checkpoint.values.x).toBe("acme's secret");
    });

    it("refuses a tampered byte and a plaintext row", async () => {
      const thread = threadKey("tampered", "acme");
      await checkpointer.put(valueStep(thread, newCheckpointId(), "intact"));
      const blob = await storedBlob(checkpointer, thread);
      const bytes = Buffer.from(blob.value!.bytes);
      bytes[bytes.length - 20]! ^= 1;
      // A copy with a recomputed checksum: what someone altering rows on purpose would write.
      const plain = new Checkpointer(checkpointer.door);
      const reencoded = plain.codec.encodeBlob(
        { kind: "full", channel: "x", version: blob.version, value: 0 },
        { threadId: thread },
      );
      const { sealBlob } = await import("../../src/checkpoint/checksum.js");
      const unsealedTag = blob.value!.tag.slice(10);
      const forged = sealBlob({ ...reencoded, value: { tag: unsealedTag, bytes } });
      await writeCopied(checkpointer, threadKey("tampered-copy", "acme"), forged);
      expect(await refusal(checkpointer.get(threadKey("tampered-copy", "acme")))).toBe(
        "ENCRYPTION",
      );
      // A row written without encryption on the same storage is refused, never returned.
      await plain.put(valueStep(threadKey("plain", "acme"), newCheckpointId(), "forged plaintext"));
      expect(await refusal(checkpointer.get(threadKey("plain", "acme")))).toBe("ENCRYPTION");
      expect((await plain.get(threadKey("plain", "acme")))?.checkpoint.values.x).toBe(
        "forged plaintext",
      );
      // Storage opened without the keys names the reason instead of failing to decode.
      expect(await refusal(plain.get(threadKey("tampered", "acme")))).toBe("ENCRYPTION");
    });

    it("rotates a tenant's key: new writes use the new version, old rows stay readable", async () => {
      const thread = threadKey("rotating", "acme");
      const first = newCheckpointId();
      await checkpointer.put(valueStep(thread, first, "before rotation"));
      const before = (await storedBlob(checkpointer, thread)).value!.tag;
      const version = await keys.rotate("acme");
      const second = newCheckpointId(first);
      await checkpointer.put(valueStep(thread, second, "after rotation", first));
      const after = (await storedBlob(checkpointer, thread)).value!.tag;
      expect(before).toContain(`@e1:${version - 1}:`);
      expect(after).toContain(`@e1:${version}:`);
      expect((await checkpointer.get(thread))?.checkpoint.values.x).toBe("after rotation");
      const old = await checkpointer.get(thread, { checkpointId: first });
      expect(old?.checkpoint.values.x).toBe("before rotation");
    });

    it("seals effect records (arguments and outcomes) and refuses them unsealed", async () => {
      const thread = threadKey("effects", "acme");
      const id = newCheckpointId();
      await checkpointer.put(valueStep(thread, id, 1));
      const key = checkpointer.effects.key("charge", { card: "4111" });
      await checkpointer.effects.begin({
        threadId: thread,
        key,
        name: "charge",
        args: { card: "4111" },
        checkpointId: id,
        taskId: "t",
        node: "n",
      });
      await checkpointer.effects.finish({
        threadId: thread,
        key,
        attempt: 1,
        status: "done",
        result: { receipt: "r-secret" },
      });
      const [record] = await checkpointer.effects.list(thread);
      expect(record?.args).toEqual({ card: "4111" });
      expect(record?.result).toEqual({ receipt: "r-secret" });
      const [raw] = await checkpointer.door.listEffects(thread);
      expect(raw?.args).not.toContain("4111");
      expect(raw?.outcome).not.toContain("r-secret");
      // An effect recorded without encryption on the same storage is refused.
      const plain = new Checkpointer(checkpointer.door);
      const forged = plain.effects.key("forged", {});
      await plain.effects.begin({
        threadId: thread,
        key: forged,
        name: "forged",
        args: {},
        checkpointId: id,
        taskId: "t",
        node: "n",
      });
      expect(await refusal(checkpointer.effects.get(thread, forged))).toBe("ENCRYPTION");
    });
  });
}
