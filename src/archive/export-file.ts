/**
 * Writing an export directory: records go to `data.jsonl` one line each, through a stream that
 * respects back-pressure (nothing is held beyond one line), while the SHA-256 of each section and
 * of the whole file is computed on the way. The manifest is written last, to a temporary name
 * renamed into place, so a directory with a manifest is always a complete export.
 */
import { createHash, type Hash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { StorageError } from "../errors.js";
import type { SerializedValue } from "../serde/serializer.js";
import {
  DATA_FILE,
  type ExportManifest,
  type ExportRecord,
  MANIFEST_FILE,
  type SectionRange,
  type WireValue,
} from "./export-format.js";

/** A value as it travels in a record. */
export function toWire(value: SerializedValue): WireValue {
  const bytes = Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength);
  return { tag: value.tag, b64: bytes.toString("base64") };
}

/** An export directory being written. */
export class ExportFile {
  readonly dir: string;
  readonly #out: WriteStream;
  readonly #whole: Hash = createHash("sha256");
  #section: Hash | undefined;
  #sectionStart = 0;
  #written = 0;
  #failed: Error | undefined;

  private constructor(dir: string, out: WriteStream) {
    this.dir = dir;
    this.#out = out;
    out.on("error", (error) => {
      this.#failed = error;
    });
  }

  /** Creates `dir` (and parents) and starts its data file; an earlier manifest there is removed. */
  static async create(dir: string): Promise<ExportFile> {
    try {
      await mkdir(dir, { recursive: true });
      await rm(join(dir, MANIFEST_FILE), { force: true });
      const out = createWriteStream(join(dir, DATA_FILE));
      await once(out, "open");
      return new ExportFile(dir, out);
    } catch (cause) {
      throw new StorageError(`cannot write an export to ${dir}: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  /** Bytes written to the data file so far. */
  get bytes(): number {
    return this.#written;
  }

  beginSection(): void {
    this.#section = createHash("sha256");
    this.#sectionStart = this.#written;
  }

  endSection(): SectionRange {
    const hash = this.#section;
    if (!hash) throw new StorageError("export: a section ended that was not begun");
    this.#section = undefined;
    return {
      offset: this.#sectionStart,
      bytes: this.#written - this.#sectionStart,
      sha256: hash.digest("hex"),
    };
  }

  /** Appends one record as a line; waits when the stream asks to. */
  async write(record: ExportRecord): Promise<void> {
    if (this.#failed) throw this.#error(this.#failed);
    const line = Buffer.from(`${JSON.stringify(record)}\n`, "utf8");
    this.#whole.update(line);
    this.#section?.update(line);
    this.#written += line.byteLength;
    if (!this.#out.write(line)) await once(this.#out, "drain");
  }

  /** Flushes the data file and writes the manifest (complete from then on). */
  async finish(manifest: Omit<ExportManifest, "data">): Promise<ExportManifest> {
    this.#out.end();
    await once(this.#out, "finish");
    if (this.#failed) throw this.#error(this.#failed);
    const full: ExportManifest = {
      ...manifest,
      data: { file: DATA_FILE, bytes: this.#written, sha256: this.#whole.digest("hex") },
    };
    const temp = join(this.dir, `${MANIFEST_FILE}.tmp`);
    await writeFile(temp, `${JSON.stringify(full, null, 1)}\n`);
    await rename(temp, join(this.dir, MANIFEST_FILE));
    return full;
  }

  /** Stops writing (after a failure); the directory has no manifest and is not an export. */
  async abort(): Promise<void> {
    this.#out.destroy();
    await rm(join(this.dir, `${MANIFEST_FILE}.tmp`), { force: true });
  }

  #error(cause: Error): StorageError {
    return new StorageError(`cannot write the export in ${this.dir}: ${cause.message}`, { cause });
  }
}
