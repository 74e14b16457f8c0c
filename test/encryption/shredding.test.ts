/**
 * Crypto-shredding: `shredTenant` destroys a tenant's data keys, so its data becomes unreadable
 * everywhere at once: the live database, a file copy of the SQLite database taken before (a
 * backup) and an export taken before, imported afterwards. Other tenants read as before, and the
 * shredded tenant can start again with a new key.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportThreads } from "../../src/archive/export-threads.js";
import { importThreads } from "../../src/archive/import-threads.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import type { Checkpointer } from "../../src/checkpoint/checkpointer.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { generateKek, Keyring, localKeyProvider } from "../../src/encryption/index.js";
import { newCheckpointId } from "../../src/ids.js";
import { valueStep } from "../support/checkpoints.js";

const root = mkdtempSync(join(tmpdir(), "rewind-shred-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function errorOf(promise: Promise<unknown>): Promise<{ code?: string; name?: string }> {
  return promise.then(
    () => ({}),
    (e: { code?: string; name?: string }) => e,
  );
}

describe("shredTenant", () => {
  it("makes the tenant's rows unreadable in the database, a file backup and an export", async () => {
    const provider = localKeyProvider([Buffer.from(generateKek(), "base64")]);
    const directory = join(root, "keys");
    let keys = await Keyring.open({ provider, directory });
    const live = join(root, "live.sqlite");
    const acme = threadKey("support", "acme");
    const globex = threadKey("support", "globex");
    const writer: Checkpointer = createSqliteCheckpointer(live, { encryption: { keys } });
    await writer.put(valueStep(acme, newCheckpointId(), "acme's customer file"));
    await writer.put(valueStep(globex, newCheckpointId(), "globex's customer file"));
    await writer.put(valueStep("plain-default", newCheckpointId(), "default tenant"));
    const exported = join(root, "export");
    await exportThreads(writer, exported, { all: true });
    await writer.close();
    const backup = join(root, "backup.sqlite");
    copyFileSync(live, backup);
    for (const name of readdirSync(exported)) {
      expect(readFileSync(join(exported, name), "utf8")).not.toContain("customer file");
    }
    expect(readFileSync(backup).toString("latin1")).not.toContain("customer file");

    keys = await Keyring.open({ provider, directory });
    await keys.shredTenant("acme");

    // A process that opens the key directory afterwards: the live database.
    keys = await Keyring.open({ provider, directory });
    const reader = createSqliteCheckpointer(live, { encryption: { keys } });
    const shredded = await errorOf(reader.get(acme));
    expect(shredded.code).toBe("KEY_SHREDDED");
    expect(shredded.name).toBe("KeyShreddedError");
    expect((await reader.get(globex))?.checkpoint.values.x).toBe("globex's customer file");
    expect((await reader.get("plain-default"))?.checkpoint.values.x).toBe("default tenant");

    // The backup copy taken before the shred.
    const restored = createSqliteCheckpointer(backup, { encryption: { keys } });
    expect((await errorOf(restored.get(acme))).code).toBe("KEY_SHREDDED");
    expect((await restored.get(globex))?.checkpoint.values.x).toBe("globex's customer file");
    await restored.close();

    // The export taken before the shred, imported into a fresh database.
    const imported = createSqliteCheckpointer(join(root, "imported.sqlite"), {
      encryption: { keys },
    });
    await importThreads(imported, exported);
    expect((await errorOf(imported.get(acme))).code).toBe("KEY_SHREDDED");
    expect((await imported.get(globex))?.checkpoint.values.x).toBe("globex's customer file");
    await imported.close();

    // The tenant starts again under a new key; its old rows stay unreadable.
    const fresh = threadKey("fresh-start", "acme");
    await reader.put(valueStep(fresh, newCheckpointId(), "after the shred"));
    expect((await reader.get(fresh))?.checkpoint.values.x).toBe("after the shred");
    expect((await errorOf(reader.get(acme))).code).toBe("KEY_SHREDDED");
    await reader.close();
  });

  it("drops the key from the process that shreds at once", async () => {
    const provider = localKeyProvider([Buffer.from(generateKek(), "base64")]);
    const keys = await Keyring.open({ provider, directory: join(root, "keys-2") });
    const checkpointer = createSqliteCheckpointer(join(root, "same-process.sqlite"), {
      encryption: { keys },
    });
    const thread = threadKey("t", "initech");
    await checkpointer.put(valueStep(thread, newCheckpointId(), "secret"));
    expect((await checkpointer.get(thread))?.checkpoint.values.x).toBe("secret");
    await keys.shredTenant("initech");
    expect((await errorOf(checkpointer.get(thread))).code).toBe("KEY_SHREDDED");
    await checkpointer.close();
  });
});
