/**
 * A local directory as an archive target: each thread's archive is a subdirectory named by its
 * storage key (URI-encoded). A copy is written under a temporary name, verified against its
 * manifest, then renamed into place, so a crash never leaves a half-written archive under the
 * thread's name.
 */
import { cp, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isRewindError, NotFoundError, StorageError } from "../errors.js";
import {
  type ArchiveTarget,
  archiveName,
  isThreadArchive,
  threadOfName,
} from "./archive-target.js";
import { readManifest, verifyData } from "./export-read.js";

/**
 * Archives threads into `root` (created on first use).
 *
 * @example
 * const target = new DirectoryArchive("./archive");
 */
export class DirectoryArchive implements ArchiveTarget {
  readonly name: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root);
    this.name = `file://${this.#root}`;
  }

  locationOf(threadId: string): string {
    return `${this.name}/${archiveName(threadId)}`;
  }

  async upload(threadId: string, dir: string): Promise<void> {
    const final = join(this.#root, archiveName(threadId));
    const temp = `${final}.partial`;
    try {
      await mkdir(this.#root, { recursive: true });
      await rm(temp, { recursive: true, force: true });
      await cp(dir, temp, { recursive: true });
      await verifyData(temp, await readManifest(temp));
      await rm(final, { recursive: true, force: true });
      await rename(temp, final);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw wrap(error, `cannot archive thread "${threadId}" to ${this.name}`);
    }
  }

  async download(threadId: string, dir: string): Promise<void> {
    const from = join(this.#root, archiveName(threadId));
    if (!(await exists(from))) {
      throw new NotFoundError(`no archive of thread "${threadId}" in ${this.name}`, { threadId });
    }
    try {
      await cp(from, dir, { recursive: true });
    } catch (error) {
      throw wrap(error, `cannot read the archive of thread "${threadId}" in ${this.name}`);
    }
  }

  async remove(threadId: string): Promise<void> {
    await rm(join(this.#root, archiveName(threadId)), { recursive: true, force: true });
  }

  async *list(): AsyncIterable<string> {
    if (!(await exists(this.#root))) return;
    for (const name of (await readdir(this.#root)).sort()) {
      if (name.endsWith(".partial")) continue;
      const key = threadOfName(name);
      if (key !== undefined && isThreadArchive(key)) yield key;
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Rewind errors (a copy that does not verify) as they are; file system errors as StorageError. */
export function wrap(error: unknown, message: string): Error {
  if (isRewindError(error)) return error;
  return new StorageError(`${message}: ${(error as Error).message}`, { cause: error });
}
