/**
 * The keyring on its own terms: processes sharing a key directory agree on a new tenant's key
 * (it is created exclusively, so every process's rows open afterwards), and a key provider with
 * no synchronous form (a KMS) works once a tenant is prepared, with a named error before.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import {
  generateKek,
  type KeyProvider,
  Keyring,
  localKeyProvider,
} from "../../src/encryption/index.js";
import { newCheckpointId } from "../../src/ids.js";
import { valueStep } from "../support/checkpoints.js";
import { runWorker } from "../support/process.js";

const root = mkdtempSync(join(tmpdir(), "rewind-keyring-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const WORKER = new URL("./keyring-worker.ts", import.meta.url).pathname;

describe("Keyring", () => {
  it("gives processes racing on a new tenant one key between them", async () => {
    const kek = generateKek();
    const directory = join(root, "race-keys");
    const db = join(root, "race.sqlite");
    const runs = await Promise.all(
      ["a", "b", "c"].map((name) => runWorker(WORKER, kek, directory, db, name, "5")),
    );
    for (const run of runs) expect(run.result, run.stderr).toEqual({ written: 5 });
    const keys = await Keyring.open({
      provider: localKeyProvider([Buffer.from(kek, "base64")]),
      directory,
    });
    expect(keys.describe("racing").versions).toEqual([1]);
    const reader = createSqliteCheckpointer(db, { encryption: { keys } });
    for (const name of ["a", "b", "c"]) {
      for (let i = 0; i < 5; i++) {
        const tuple = await reader.get(threadKey(`${name}-${i}`, "racing"));
        expect(tuple?.checkpoint.values.x).toBe(`${name} value ${i}`);
      }
    }
    await reader.close();
  }, 120_000);

  it("works with an asynchronous-only provider once a tenant is prepared", async () => {
    const local = localKeyProvider([Buffer.from(generateKek(), "base64")]);
    // What a KMS offers: asynchronous wrap and unwrap only.
    const kms: KeyProvider = { kekId: local.kekId, wrap: local.wrap, unwrap: local.unwrap };
    const directory = join(root, "kms-keys");
    const keys = await Keyring.open({ provider: kms, directory });
    const checkpointer = createSqliteCheckpointer(join(root, "kms.sqlite"), {
      encryption: { keys },
    });
    const thread = threadKey("t", "kms-tenant");
    const refused = await checkpointer.put(valueStep(thread, newCheckpointId(), 1)).then(
      () => undefined,
      (e: { code?: string; message?: string }) => e,
    );
    expect(refused?.code).toBe("ENCRYPTION");
    expect(refused?.message).toContain("prepare");
    await keys.prepare("kms-tenant");
    await checkpointer.put(valueStep(thread, newCheckpointId(), "sealed through a KMS"));
    await checkpointer.close();
    // Another process: its keys are unwrapped asynchronously when it opens the directory.
    const again = await Keyring.open({ provider: kms, directory });
    const reader = createSqliteCheckpointer(join(root, "kms.sqlite"), {
      encryption: { keys: again },
    });
    expect((await reader.get(thread))?.checkpoint.values.x).toBe("sealed through a KMS");
    await reader.close();
  });
});
