/**
 * Large values under encryption: the one stored body of a large value is sealed to its tenant and
 * hash (not to one thread), so every thread of the tenant that references it reads it; its bytes
 * on disk are ciphertext; a body copied under another tenant's hash is refused; shredding the
 * tenant makes it unreadable like the rest of the tenant's data.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { largeValueStats } from "../../src/checkpoint/large-value-gc.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { generateKek, Keyring, localKeyProvider } from "../../src/encryption/index.js";
import { hashOf, storedRefHash } from "../../src/offload/large-value-frame.js";
import { putFile } from "../storage/large-value-fixtures.js";

const root = mkdtempSync(join(tmpdir(), "rewind-large-sealed-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A 300 KB value (above the large-value threshold) with a marker to look for on disk. */
const FILE = `SECRET-MARKER ${"x".repeat(300 * 1024)}`;

async function errorOf(promise: Promise<unknown>): Promise<{ code?: string }> {
  return promise.then(
    () => ({}),
    (e: { code?: string }) => e,
  );
}

describe("large values with encryption on", () => {
  it("store one sealed body per tenant, read from every thread, refused once shredded", async () => {
    const provider = localKeyProvider([Buffer.from(generateKek(), "base64")]);
    const directory = join(root, "keys");
    const keys = await Keyring.open({ provider, directory });
    const file = join(root, "db.sqlite");
    const checkpointer = createSqliteCheckpointer(file, { encryption: { keys } });
    const a = threadKey("a", "acme");
    const b = threadKey("b", "acme");
    const other = threadKey("a", "globex");
    await putFile(checkpointer, a, FILE);
    await putFile(checkpointer, b, FILE);
    await putFile(checkpointer, other, FILE);

    for (const thread of [a, b, other]) {
      expect((await checkpointer.get(thread))?.checkpoint.values.file).toBe(FILE);
    }
    const stats = await largeValueStats(checkpointer);
    // acme's two threads share one body; globex has its own.
    expect(stats.values).toBe(2);
    await checkpointer.close();
    expect(readFileSync(file).toString("latin1")).not.toContain("SECRET-MARKER");
    // The row holds only the reference; opened without keys, the body itself is refused.
    const keyless = createSqliteCheckpointer(file);
    expect((await errorOf(keyless.get(a))).code).toBe("ENCRYPTION");
    await keyless.close();

    await keys.shredTenant("acme");
    const after = await Keyring.open({ provider, directory });
    const reader = createSqliteCheckpointer(file, { encryption: { keys: after } });
    expect((await errorOf(reader.get(a))).code).toBe("KEY_SHREDDED");
    expect((await errorOf(reader.get(b))).code).toBe("KEY_SHREDDED");
    expect((await reader.get(other))?.checkpoint.values.file).toBe(FILE);
    await reader.close();
  });

  it("name values with the tenant's secret: not the unkeyed hash, kept across rotations and threads", async () => {
    const provider = localKeyProvider([Buffer.from(generateKek(), "base64")]);
    const directory = join(root, "named-keys");
    const keys = await Keyring.open({ provider, directory });
    const checkpointer = createSqliteCheckpointer(join(root, "named.sqlite"), {
      encryption: { keys },
    });
    const nameOf = async (thread: string) => {
      const loaded = await checkpointer.door.getCheckpoint(thread, "");
      return storedRefHash(loaded!.blobs.file!.at(-1)!.value!.tag);
    };
    // A value written before tenants had a secret (named by the tenant only) still reads.
    const unnamed = { current: keys.current.bind(keys), key: keys.key.bind(keys) };
    const before = createSqliteCheckpointer(join(root, "named.sqlite"), {
      encryption: { keys: unnamed },
    });
    await putFile(before, threadKey("old", "acme"), `${FILE}old`);
    await before.close();
    const old = await checkpointer.get(threadKey("old", "acme"));
    expect(old?.checkpoint.values.file).toBe(`${FILE}old`);

    const a = threadKey("a", "acme");
    await putFile(checkpointer, a, FILE);
    const encoded = checkpointer.serializer.encode(FILE);
    const name = await nameOf(a);
    // Someone with the database but not the keys cannot confirm the value by hashing a guess.
    expect(name).not.toBe(hashOf("acme", encoded));
    expect(name).toBe(hashOf("acme", encoded, keys.hashKey("acme")));

    // Another thread, then a rotation, then another process: the same name, one stored body.
    await putFile(checkpointer, threadKey("b", "acme"), FILE);
    await keys.rotate("acme");
    await putFile(checkpointer, threadKey("c", "acme"), FILE);
    const reopened = await Keyring.open({ provider, directory });
    const other = createSqliteCheckpointer(join(root, "named.sqlite"), {
      encryption: { keys: reopened },
    });
    await putFile(other, threadKey("d", "acme"), FILE);
    await other.close();
    for (const t of ["b", "c", "d"]) expect(await nameOf(threadKey(t, "acme"))).toBe(name);
    expect(await largeValueStats(checkpointer)).toMatchObject({ values: 2, references: 5 });
    for (const t of ["a", "b", "c", "d"]) {
      expect((await checkpointer.get(threadKey(t, "acme")))?.checkpoint.values.file).toBe(FILE);
    }
    await checkpointer.close();

    // The secret is wrapped beside the data keys, and shredding destroys it with them.
    const tenantDir = readdirSync(directory).find((d) =>
      existsSync(join(directory, d, "hash.json")),
    );
    expect(readFileSync(join(directory, tenantDir!, "hash.json"), "utf8")).toContain('"wrapped"');
    await keys.shredTenant("acme");
    expect(existsSync(join(directory, tenantDir!, "hash.json"))).toBe(false);
  });
});
