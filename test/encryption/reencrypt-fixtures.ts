/** A key directory and KEK file of their own for re-encryption tests (removed with `dirs`). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileKeyProvider, generateKek, Keyring } from "../../src/encryption/index.js";

/** Opens the keyring of `directory` with the KEK in `keyFile`. */
export function openKeys(keyFile: string, directory: string): Promise<Keyring> {
  return Keyring.open({ provider: fileKeyProvider(keyFile), directory });
}

/** A fresh keyring: its key directory and KEK file live in a temp directory added to `dirs`. */
export async function tempKeyring(
  dirs: string[],
): Promise<{ keys: Keyring; directory: string; keyFile: string }> {
  const root = mkdtempSync(join(tmpdir(), "rewind-reencrypt-"));
  dirs.push(root);
  const keyFile = join(root, "rewind.kek");
  writeFileSync(keyFile, `${generateKek()}\n`);
  const directory = join(root, "keys");
  return { keys: await openKeys(keyFile, directory), directory, keyFile };
}
