/**
 * `rewind keys` as users run it (the binary built from src, spawned with node): list, rotate a
 * tenant's key (new writes use it, old rows stay readable), rewrap every data key under a new
 * KEK (the old KEK can then be dropped from the key file), and shred (refused without --yes).
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSqliteCheckpointer, createSqliteStore } from "../../src/backends/sqlite/index.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { fileKeyProvider, generateKek, Keyring } from "../../src/encryption/index.js";
import { newCheckpointId } from "../../src/ids.js";
import { ROOT } from "../docs/type-check.js";
import { retentionGraph } from "../retention/retention-graph.js";
import { valueStep } from "../support/checkpoints.js";
import { atFileEnd } from "../support/file-cleanup.js";
import { builtCli } from "./cli-binary.js";

const DIR = mkdtempSync(join(ROOT, ".scratch-cli-keys-data-"));
atFileEnd(() => rmSync(DIR, { recursive: true, force: true }));
const { rewind } = builtCli();

describe("rewind keys", () => {
  it("lists, rotates, rewraps under a new KEK and shreds, as a real process", async () => {
    const keyFile = join(DIR, "rewind.kek");
    const keyDir = join(DIR, "keys");
    writeFileSync(keyFile, `# first KEK\n${generateKek()}\n`);
    const flags = ["--key-dir", keyDir, "--key-file", keyFile];
    const db = join(DIR, "app.sqlite");
    const thread = threadKey("support", "acme");
    const first = newCheckpointId();
    {
      const keys = await Keyring.open({ provider: fileKeyProvider(keyFile), directory: keyDir });
      const checkpointer = createSqliteCheckpointer(db, { encryption: { keys } });
      await checkpointer.put(valueStep(thread, first, "written under version 1"));
      await checkpointer.close();
    }

    const listed = await rewind("keys", "list", ...flags, "--json");
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      { tenant: "acme", current: 1, versions: [1], shreddedThrough: 0 },
    ]);

    const rotated = await rewind("keys", "rotate", ...flags, "--tenant", "acme");
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain('tenant "acme": new writes use key version 2');

    // KEK rotation: a new KEK appended to the file, every data key rewrapped under it; then the
    // file keeps only the new KEK and everything still opens.
    const newKek = generateKek();
    appendFileSync(keyFile, `${newKek}\n`);
    const rewrapped = await rewind("keys", "rewrap", ...flags, "--json");
    expect(rewrapped.code, rewrapped.stderr).toBe(0);
    // Versions 1 and 2, and the tenant's large-value key (made ready by the rotation).
    expect(JSON.parse(rewrapped.stdout).rewrapped).toBe(3);
    writeFileSync(keyFile, `${newKek}\n`);
    {
      const keys = await Keyring.open({ provider: fileKeyProvider(keyFile), directory: keyDir });
      const checkpointer = createSqliteCheckpointer(db, { encryption: { keys } });
      const second = newCheckpointId(first);
      await checkpointer.put(valueStep(thread, second, "written under version 2", first));
      const head = await checkpointer.door.getCheckpoint(thread, "");
      expect(head?.blobs.x?.at(-1)?.value?.tag).toContain("@e1:2:");
      expect((await checkpointer.get(thread))?.checkpoint.values.x).toBe("written under version 2");
      const old = await checkpointer.get(thread, { checkpointId: first });
      expect(old?.checkpoint.values.x).toBe("written under version 1");
      await checkpointer.close();
    }

    const unconfirmed = await rewind("keys", "shred", ...flags, "--tenant", "acme");
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain("--yes");
    const shredded = await rewind("keys", "shred", ...flags, "--tenant", "acme", "--yes");
    expect(shredded.code, shredded.stderr).toBe(0);
    {
      const keys = await Keyring.open({ provider: fileKeyProvider(keyFile), directory: keyDir });
      const checkpointer = createSqliteCheckpointer(db, { encryption: { keys } });
      const error = await checkpointer.get(thread).then(
        () => undefined,
        (e: { code?: string }) => e.code,
      );
      expect(error).toBe("KEY_SHREDDED");
      await checkpointer.close();
    }

    const noKek = await rewind("keys", "list", "--key-dir", keyDir);
    expect(noKek.code).toBe(2);
  }, 120_000);

  it("reencrypt seals every value under the newest key; --check counts them per version", async () => {
    const keyFile = join(DIR, "reencrypt.kek");
    const keyDir = join(DIR, "reencrypt-keys");
    writeFileSync(keyFile, `${generateKek()}\n`);
    const flags = ["--key-dir", keyDir, "--key-file", keyFile];
    const db = join(DIR, "reencrypt.sqlite");
    const keys = await Keyring.open({ provider: fileKeyProvider(keyFile), directory: keyDir });
    const checkpointer = createSqliteCheckpointer(db, { encryption: { keys } });
    const store = createSqliteStore(db, { encryption: { keys } });
    const threads = ["a", "b", "c"].map((t) => threadKey(t, "acme"));
    for (const thread of threads) {
      await checkpointer.put(valueStep(thread, newCheckpointId(), `value of ${thread}`));
    }
    await store.forTenant("acme").put(["prefs"], "theme", { dark: true });
    await checkpointer.close();
    await store.close();
    expect((await rewind("keys", "rotate", ...flags, "--tenant", "acme")).code).toBe(0);

    const checked = await rewind("keys", "reencrypt", db, ...flags, "--check", "--json");
    expect(checked.code, checked.stderr).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({
      threads: 3,
      storeItems: 1,
      rewritten: 0,
      versions: [{ tenant: "acme", version: 1, values: 4 }],
    });
    const run = await rewind("keys", "reencrypt", db, ...flags, "--tenant", "acme");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      "re-encrypted 4 values in 3 threads, 0 large values and 1 store items",
    );
    expect(run.stdout).toContain('tenant "acme": key version 2: 4 values');
    const after = await rewind("keys", "reencrypt", db, ...flags, "--check");
    expect(after.stdout).toContain('tenant "acme": key version 2: 4 values');
    expect(after.stdout).not.toContain("key version 1");
    const both = await rewind(
      "keys",
      "reencrypt",
      db,
      ...flags,
      "--tenant",
      "x",
      "--default-tenant",
    );
    expect(both.code).toBe(2);
  }, 120_000);

  it("prune rebases an encrypted thread's append chains when given the keys", async () => {
    const keyFile = join(DIR, "prune.kek");
    const keyDir = join(DIR, "prune-keys");
    writeFileSync(keyFile, `${generateKek()}\n`);
    const db = join(DIR, "prune.sqlite");
    const open = async () => {
      const keys = await Keyring.open({ provider: fileKeyProvider(keyFile), directory: keyDir });
      return createSqliteCheckpointer(db, { encryption: { keys } });
    };
    const writer = await open();
    const app = retentionGraph(writer);
    for (let i = 0; i < 6; i++) await app.invoke({}, { threadId: "long", tenantId: "acme" });
    const before = (await app.getState({ threadId: "long", tenantId: "acme" }))?.values;
    expect(before?.turns).toBe(6);
    await writer.close();

    const prune = ["prune", db, "--apply", "--keep-last", "2"];
    // Without the keys the thread's values cannot be rebased: it is skipped, nothing changes.
    const withoutKeys = await rewind(...prune, "--json");
    expect(withoutKeys.code, withoutKeys.stderr).toBe(0);
    expect(JSON.parse(withoutKeys.stdout).total.checkpoints).toBe(0);
    expect(withoutKeys.stdout).toContain("holds encrypted values: open the storage with its keys");
    const pruned = await rewind(...prune, "--key-dir", keyDir, "--key-file", keyFile, "--json");
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(JSON.parse(pruned.stdout).total.checkpoints).toBeGreaterThan(0);

    const reader = await open();
    const after = await retentionGraph(reader).getState({ threadId: "long", tenantId: "acme" });
    expect(after?.values).toEqual(before);
    await reader.close();
  }, 120_000);
});
