/**
 * Reading an export directory: the manifest (format, version and shape checked), the data
 * file's hashes (the whole file and every section, in one streamed pass), and one section's
 * records, parsed and checked line by line. Anything that does not match is an
 * {@link ArchiveDamagedError} naming the file or thread.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { StoredBlob, StoredWrite } from "../checkpoint/checkpoint-backend.js";
import { ArchiveDamagedError } from "../errors.js";
import type { SerializedValue } from "../serde/serializer.js";
import {
  DATA_FILE,
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  type ExportManifest,
  type ExportRecord,
  MANIFEST_FILE,
  type SectionRange,
  type WireValue,
} from "./export-format.js";

/** The manifest of the export in `dir`, checked for format, version and shape. */
export async function readManifest(dir: string): Promise<ExportManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), "utf8");
  } catch (cause) {
    throw new ArchiveDamagedError(
      `${dir} is not a readable export (no ${MANIFEST_FILE}): ${(cause as Error).message}`,
      { cause },
    );
  }
  let manifest: ExportManifest;
  try {
    manifest = JSON.parse(text) as ExportManifest;
  } catch (cause) {
    throw new ArchiveDamagedError(`the manifest of ${dir} is not JSON`, { cause });
  }
  if (manifest?.format !== EXPORT_FORMAT) {
    throw new ArchiveDamagedError(`${dir} is not a Rewind export (format "${manifest?.format}")`);
  }
  if (manifest.version !== EXPORT_FORMAT_VERSION) {
    throw new ArchiveDamagedError(
      `${dir} is an export of format version ${manifest.version}; this Rewind reads version ${EXPORT_FORMAT_VERSION}`,
    );
  }
  const sections = [...(manifest.threads ?? []), ...(manifest.store ?? [])];
  if (
    !Array.isArray(manifest.threads) ||
    !Array.isArray(manifest.store) ||
    typeof manifest.data?.sha256 !== "string" ||
    !sections.every(isRange)
  ) {
    throw new ArchiveDamagedError(`the manifest of ${dir} is incomplete`);
  }
  return manifest;
}

function isRange(s: SectionRange): boolean {
  return (
    Number.isSafeInteger(s?.offset) &&
    Number.isSafeInteger(s.bytes) &&
    s.offset >= 0 &&
    s.bytes >= 0 &&
    typeof s.sha256 === "string"
  );
}

/**
 * Hashes the data file in one pass and compares it, and every section, with the manifest.
 * Throws {@link ArchiveDamagedError} naming the damaged threads; nothing has been written then.
 */
export async function verifyData(dir: string, manifest: ExportManifest): Promise<void> {
  const sections = [
    ...manifest.threads.map((s) => ({ ...s, name: `thread "${s.threadId}"` })),
    ...manifest.store.map((s) => ({ ...s, name: `store items of tenant "${s.tenantId}"` })),
  ].sort((a, b) => a.offset - b.offset);
  const hashes = sections.map(() => createHash("sha256"));
  const whole = createHash("sha256");
  let position = 0;
  try {
    for await (const chunk of createReadStream(join(dir, DATA_FILE)) as AsyncIterable<Buffer>) {
      whole.update(chunk);
      const end = position + chunk.byteLength;
      sections.forEach((s, i) => {
        const from = Math.max(s.offset, position);
        const to = Math.min(s.offset + s.bytes, end);
        if (from < to) hashes[i]!.update(chunk.subarray(from - position, to - position));
      });
      position = end;
    }
  } catch (cause) {
    throw new ArchiveDamagedError(
      `cannot read ${DATA_FILE} in ${dir}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const damaged = sections
    .filter((s, i) => s.offset + s.bytes > position || hashes[i]!.digest("hex") !== s.sha256)
    .map((s) => s.name);
  if (position !== manifest.data.bytes || whole.digest("hex") !== manifest.data.sha256) {
    throw new ArchiveDamagedError(
      `the export in ${dir} is damaged: ${DATA_FILE} does not match its manifest (${position} bytes, expected ${manifest.data.bytes})${damaged.length > 0 ? `; damaged: ${damaged.join(", ")}` : ""}`,
    );
  }
  if (damaged.length > 0) {
    throw new ArchiveDamagedError(`the export in ${dir} is damaged: ${damaged.join(", ")}`);
  }
}

/** The records of one section, parsed and shape-checked, in order. */
export async function* readSection(
  dir: string,
  range: SectionRange,
  threadId?: string,
): AsyncGenerator<ExportRecord> {
  if (range.bytes === 0) return;
  const input = createReadStream(join(dir, DATA_FILE), {
    start: range.offset,
    end: range.offset + range.bytes - 1,
  });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (line.length === 0) continue;
      yield parseRecord(line, threadId);
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

function parseRecord(line: string, threadId: string | undefined): ExportRecord {
  const bad = (what: string) =>
    new ArchiveDamagedError(`an export record is damaged: ${what}`, { threadId });
  let record: ExportRecord;
  try {
    record = JSON.parse(line) as ExportRecord;
  } catch {
    throw bad("not JSON");
  }
  const ok =
    (record?.k === "b" &&
      typeof record.ns === "string" &&
      typeof record.blob?.channel === "string") ||
    (record?.k === "w" && typeof record.ns === "string" && typeof record.cp === "string") ||
    (record?.k === "c" && typeof record.row?.id === "string") ||
    (record?.k === "i" && typeof record.item?.key === "string");
  if (!ok) throw bad(`unknown record ${JSON.stringify(line.slice(0, 80))}`);
  return record;
}

/** A wire value back as stored bytes. */
export function fromWire(value: WireValue, threadId?: string): SerializedValue {
  if (typeof value?.tag !== "string" || typeof value.b64 !== "string") {
    throw new ArchiveDamagedError("an export record has a value without tag or bytes", {
      threadId,
    });
  }
  const bytes = Buffer.from(value.b64, "base64");
  return {
    tag: value.tag,
    bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}

/** A blob record's blob as the seam stores it. */
export function blobFrom(record: Extract<ExportRecord, { k: "b" }>, threadId: string): StoredBlob {
  const { value, ...rest } = record.blob;
  return { ...rest, value: value === null ? null : fromWire(value, threadId) };
}

/** A write record's write as the seam stores it. */
export function writeFrom(
  record: Extract<ExportRecord, { k: "w" }>,
  threadId: string,
): StoredWrite {
  const { value, ...rest } = record.write;
  return { ...rest, value: fromWire(value, threadId) };
}
