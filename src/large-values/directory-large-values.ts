/**
 * Large values in a local directory: one file per value at `<dir>/<tenant>/<hash>` (the tenant
 * URI-encoded after `t-`, `default` for the default tenant), written to a temporary name, synced,
 * and renamed (the directory synced after), so a reader sees a whole file or none, and a value is
 * on disk before the row that references it commits. A file's modification time is its touch
 * time.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { InvalidInputError } from "../errors.js";
import { isValueHash } from "../offload/large-value-frame.js";
import type { LargeValueEntry, LargeValueTarget } from "../offload/large-value-target.js";

/**
 * Keeps large values in `dir` (created on first write).
 *
 * @example
 * const checkpointer = createSqliteCheckpointer("agent.sqlite", {
 *   largeValues: { target: new DirectoryLargeValues("./large-values") },
 * });
 */
export class DirectoryLargeValues implements LargeValueTarget {
  readonly name: string;
  readonly #dir: string;

  constructor(dir: string) {
    if (typeof dir !== "string" || dir.length === 0) {
      throw new InvalidInputError("DirectoryLargeValues needs a directory");
    }
    this.#dir = resolve(dir);
    this.name = `dir:${dir}`;
  }

  async put(tenant: string, hash: string, bytes: Uint8Array, now: number): Promise<void> {
    const file = this.#file(tenant, hash);
    const time = new Date(now);
    try {
      await utimes(file, time, time);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    await mkdir(join(this.#dir, tenantDir(tenant)), { recursive: true });
    await writeAtomically(file, bytes, time);
  }

  async get(tenant: string, hash: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.#file(tenant, hash)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async *list(): AsyncIterable<LargeValueEntry> {
    let tenants: string[];
    try {
      tenants = await readdir(this.#dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    for (const name of tenants) {
      const tenant = tenantOfDir(name);
      if (tenant === undefined) continue;
      for (const hash of await readdir(join(this.#dir, name))) {
        if (!isValueHash(hash)) continue;
        const info = await stat(join(this.#dir, name, hash)).catch(() => undefined);
        if (info) yield { tenant, hash, bytes: info.size, touchedAt: info.mtimeMs };
      }
    }
  }

  async remove(tenant: string, hash: string, touchedBefore: number): Promise<boolean> {
    const file = this.#file(tenant, hash);
    const info = await stat(file).catch(() => undefined);
    if (!info || info.mtimeMs >= touchedBefore) return false;
    await unlink(file).catch((error) => {
      if (error.code !== "ENOENT") throw error;
    });
    return true;
  }

  /**
   * Writes `next` to a temporary file and renames it over the value if it still holds
   * `previous`, keeping its touch time. The check and the rename are two steps: a value is only
   * ever replaced by another sealing of the same body (re-encryption), so a race between two
   * replacements leaves one of them, both readable.
   */
  async replace(tenant: string, hash: string, previous: Uint8Array, next: Uint8Array) {
    const file = this.#file(tenant, hash);
    const held = await this.get(tenant, hash);
    if (!held || !Buffer.from(held).equals(previous)) return false;
    const { mtime } = await stat(file);
    await writeAtomically(file, next, mtime);
    return true;
  }

  #file(tenant: string, hash: string): string {
    if (!isValueHash(hash)) throw new InvalidInputError(`"${hash}" is not a large value's hash`);
    return join(this.#dir, tenantDir(tenant), hash);
  }
}

/**
 * Puts `bytes` at `file` whole or not at all: written to a temporary file in the same directory,
 * synced, given its touch time, renamed over `file`, and the directory synced, so the new name
 * survives a crash too. A failed write leaves no temporary file behind.
 */
async function writeAtomically(file: string, bytes: Uint8Array, time: Date): Promise<void> {
  const temp = `${file}.${randomUUID()}.tmp`;
  try {
    const handle = await open(temp, "wx");
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await utimes(temp, time, time);
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  const dir = await open(dirname(file), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function tenantDir(tenant: string): string {
  return tenant === "" ? "default" : `t-${encodeURIComponent(tenant)}`;
}

function tenantOfDir(name: string): string | undefined {
  if (name === "default") return "";
  if (!name.startsWith("t-")) return undefined;
  try {
    return decodeURIComponent(name.slice(2));
  } catch {
    return undefined;
  }
}
