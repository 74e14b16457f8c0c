/**
 * Store items encrypted at rest on every backend: round trip, nothing readable in the stored
 * value, an item copied to another key or tenant refused, a plaintext item refused, filters on
 * encrypted values refused, and a shredded tenant's items unreadable while others stay.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKek, Keyring, localKeyProvider } from "../../src/encryption/index.js";
import type { Store } from "../../src/store/store.js";
import type { StoredItem } from "../../src/store/store-backend.js";
import { BACKENDS } from "../support/backends.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: { code?: string }) => e.code ?? String(e),
  );
}

for (const backend of BACKENDS) {
  describe(`store encryption on ${backend.name}`, () => {
    let keys: Keyring;
    let store: Store;
    beforeAll(async () => {
      const directory = mkdtempSync(join(tmpdir(), "rewind-store-keys-"));
      dirs.push(directory);
      const provider = localKeyProvider([Buffer.from(generateKek(), "base64")]);
      keys = await Keyring.open({ provider, directory });
      store = backend.store({ encryption: { keys } });
    });
    afterAll(() => store.close());

    /** The value column of an item, as the backend holds it. */
    async function raw(tenant: string, namespace: string[], key: string): Promise<string> {
      const [item] = await store.backend.batch(
        [{ kind: "get", tenant, namespace, key, refreshTtl: false }],
        Date.now(),
      );
      return (item as StoredItem).value;
    }

    async function putRaw(tenant: string, namespace: string[], key: string, value: string) {
      await store.backend.batch(
        [
          {
            kind: "put",
            tenant,
            namespace,
            key,
            value,
            ttlMs: null,
            ifAbsent: false,
            embedding: null,
          },
        ],
        Date.now(),
      );
    }

    it("round-trips items of tenants and of the unscoped space; stores no plaintext", async () => {
      const acme = store.forTenant("acme");
      const value = { theme: "dark", card: "4111-secret", since: new Date(0) };
      await acme.put(["users", "u1"], "prefs", value);
      await store.unscoped().put(["global"], "motd", "hello secret world");
      expect((await acme.get(["users", "u1"], "prefs"))?.value).toEqual(value);
      expect((await store.unscoped().get(["global"], "motd"))?.value).toBe("hello secret world");
      expect(await raw("acme", ["users", "u1"], "prefs")).not.toContain("4111");
      const found = await acme.search(["users"]);
      expect(found.map((item) => item.value)).toEqual([value]);
    });

    it("refuses an item copied to another key or tenant, and a plaintext item", async () => {
      const acme = store.forTenant("acme");
      await acme.put(["docs"], "a", { secret: 1 });
      const sealed = await raw("acme", ["docs"], "a");
      await putRaw("acme", ["docs"], "b", sealed);
      await putRaw("globex", ["docs"], "a", sealed);
      await putRaw("acme", ["docs"], "plain", JSON.stringify({ forged: true }));
      expect(await codeOf(acme.get(["docs"], "b"))).toBe("ENCRYPTION");
      expect(await codeOf(store.forTenant("globex").get(["docs"], "a"))).toBe("ENCRYPTION");
      expect(await codeOf(acme.get(["docs"], "plain"))).toBe("ENCRYPTION");
      expect((await acme.get(["docs"], "a"))?.value).toEqual({ secret: 1 });
    });

    it("seals a long string kept by reference, and refuses it altered or under another tenant", async () => {
      const acme = store.forTenant("acme");
      const file = `secret file ${"0123456789".repeat(14_000)}`;
      await acme.put(["files"], "big", { name: "big", body: file });
      await acme.put(["files"], "victim", { name: "victim", body: `${file}!` });
      const [big, victim] = (await store.backend.batch(
        ["big", "victim"].map((key) => ({
          kind: "get" as const,
          tenant: "acme",
          namespace: ["files"],
          key,
          refreshTtl: false,
        })),
        Date.now(),
      )) as StoredItem[];
      const values = store.largeValues!;
      const frame = (await values.target.get("acme", big!.refs![0]!))!;
      expect(Buffer.from(frame).includes("secret file")).toBe(false);
      expect((await acme.get(["files"], "big"))?.value).toEqual({ name: "big", body: file });
      // One byte altered, read for the first time: refused, never returned.
      const hash = victim!.refs![0]!;
      const stored = (await values.target.get("acme", hash))!;
      const altered = Uint8Array.from(stored);
      altered[altered.length - 1]! ^= 1;
      expect(await values.target.replace!("acme", hash, stored, altered)).toBe(true);
      expect(await codeOf(acme.get(["files"], "victim"))).toBe("ENCRYPTION");
      // Another tenant's value put in place of its own: it opens only for the tenant it was
      // sealed for (and under its own hash).
      const globex = store.forTenant("globex");
      await globex.put(["files"], "own", { name: "own", body: `${file}?` });
      const [own] = (await store.backend.batch(
        [{ kind: "get", tenant: "globex", namespace: ["files"], key: "own", refreshTtl: false }],
        Date.now(),
      )) as StoredItem[];
      const ownHash = own!.refs![0]!;
      const ownFrame = (await values.target.get("globex", ownHash))!;
      expect(await values.target.replace!("globex", ownHash, ownFrame, frame)).toBe(true);
      expect(await codeOf(globex.get(["files"], "own"))).toBe("ENCRYPTION");
    });

    it("refuses search filters on encrypted values", async () => {
      const acme = store.forTenant("acme");
      expect(await codeOf(acme.search(["users"], { filter: { theme: "dark" } }))).toBe(
        "INVALID_INPUT",
      );
    });

    it("makes a shredded tenant's items unreadable", async () => {
      const initech = store.forTenant("initech");
      await initech.put(["n"], "k", "initech's secret");
      await store.forTenant("hooli").put(["n"], "k", "hooli's secret");
      await keys.shredTenant("initech");
      expect(await codeOf(initech.get(["n"], "k"))).toBe("KEY_SHREDDED");
      expect((await store.forTenant("hooli").get(["n"], "k"))?.value).toBe("hooli's secret");
    });
  });
}
