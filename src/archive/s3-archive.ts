/**
 * An S3-compatible bucket as an archive target, through `@aws-sdk/client-s3` (an optional peer
 * dependency, loaded on first use). Each thread's archive is two objects under
 * `<prefix>threads/<storage key, URI-encoded>/`: `data.jsonl`, then `manifest.json` (written last,
 * so a manifest means a complete copy). After writing, both are read back and checked against the
 * manifest's hashes before the thread's rows may go. Works against AWS S3 as is (region and
 * credentials from options or the SDK's usual sources) and against S3-compatible servers
 * (`endpoint`, path-style addressing).
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ArchiveDamagedError, isRewindError, NotFoundError, StorageError } from "../errors.js";
import {
  type ArchiveTarget,
  archiveName,
  isThreadArchive,
  threadOfName,
} from "./archive-target.js";
import { DATA_FILE, type ExportManifest, MANIFEST_FILE } from "./export-format.js";
import { isMissing, openS3, type S3Like, type S3Options, type S3Sdk } from "./s3-client.js";

/** Options of {@link S3Archive}. */
export type S3ArchiveOptions = S3Options;

type Sdk = S3Sdk;

/**
 * Archives threads into an S3 bucket.
 *
 * @example
 * const target = new S3Archive({ bucket: "agent-archive", prefix: "rewind/", region: "eu-west-1" });
 */
export class S3Archive implements ArchiveTarget {
  readonly name: string;
  readonly #options: S3ArchiveOptions;
  readonly #prefix: string;
  #client: Promise<{ sdk: Sdk; s3: S3Like }> | undefined;

  constructor(options: S3ArchiveOptions) {
    if (typeof options?.bucket !== "string" || options.bucket.length === 0) {
      throw new StorageError("S3Archive needs a bucket name");
    }
    this.#options = options;
    this.#prefix = options.prefix ?? "";
    this.name = `s3://${options.bucket}/${this.#prefix}`;
  }

  locationOf(threadId: string): string {
    return `${this.name}${this.#dir(threadId)}`;
  }

  async upload(threadId: string, dir: string): Promise<void> {
    const manifestText = await readFile(join(dir, MANIFEST_FILE), "utf8");
    const manifest = JSON.parse(manifestText) as ExportManifest;
    const data = join(dir, DATA_FILE);
    await this.#call(`cannot archive thread "${threadId}" to ${this.name}`, async (sdk, s3) => {
      await s3.send(
        new sdk.PutObjectCommand({
          Bucket: this.#options.bucket,
          Key: this.#key(threadId, DATA_FILE),
          Body: createReadStream(data),
          ContentLength: (await stat(data)).size,
          ContentType: "application/x-ndjson",
        }),
      );
      await s3.send(
        new sdk.PutObjectCommand({
          Bucket: this.#options.bucket,
          Key: this.#key(threadId, MANIFEST_FILE),
          Body: manifestText,
          ContentType: "application/json",
        }),
      );
      // Read back what the bucket holds: the thread's rows go only if this copy is whole.
      const stored = await this.#get(sdk, s3, threadId, MANIFEST_FILE);
      const text = Buffer.from(await stored.transformToByteArray()).toString("utf8");
      const hash = createHash("sha256");
      let bytes = 0;
      for await (const chunk of toNode(await this.#get(sdk, s3, threadId, DATA_FILE))) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).byteLength;
      }
      if (
        text !== manifestText ||
        bytes !== manifest.data.bytes ||
        hash.digest("hex") !== manifest.data.sha256
      ) {
        throw new ArchiveDamagedError(
          `the copy of thread "${threadId}" stored at ${this.locationOf(threadId)} does not match what was written`,
          { threadId },
        );
      }
    });
  }

  async download(threadId: string, dir: string): Promise<void> {
    await this.#call(
      `cannot read the archive of thread "${threadId}" in ${this.name}`,
      async (sdk, s3) => {
        for (const file of [MANIFEST_FILE, DATA_FILE]) {
          const body = await this.#get(sdk, s3, threadId, file);
          await pipeline(toNode(body), createWriteStream(join(dir, file)));
        }
      },
    );
  }

  async remove(threadId: string): Promise<void> {
    await this.#call(
      `cannot remove the archive of thread "${threadId}" in ${this.name}`,
      async (sdk, s3) => {
        for (const file of [MANIFEST_FILE, DATA_FILE]) {
          await s3.send(
            new sdk.DeleteObjectCommand({
              Bucket: this.#options.bucket,
              Key: this.#key(threadId, file),
            }),
          );
        }
      },
    );
  }

  async *list(): AsyncIterable<string> {
    const names = new Set<string>();
    await this.#call(`cannot list ${this.name}`, async (sdk, s3) => {
      let token: string | undefined;
      do {
        const page = await s3.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.#options.bucket,
            Prefix: `${this.#prefix}threads/`,
            ContinuationToken: token,
          }),
        );
        for (const { Key } of page.Contents ?? []) {
          const name = String(Key).slice(`${this.#prefix}threads/`.length).split("/")[0];
          if (name) names.add(name);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    });
    for (const name of [...names].sort()) {
      const key = threadOfName(name);
      if (key !== undefined && isThreadArchive(key)) yield key;
    }
  }

  /** Ends the client's connections (it is created again on next use). */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) (await client.catch(() => undefined))?.s3.destroy();
  }

  #dir(threadId: string): string {
    return `threads/${archiveName(threadId)}/`;
  }

  #key(threadId: string, file: string): string {
    return `${this.#prefix}${this.#dir(threadId)}${file}`;
  }

  async #get(sdk: Sdk, s3: S3Like, threadId: string, file: string) {
    try {
      const out = await s3.send(
        new sdk.GetObjectCommand({ Bucket: this.#options.bucket, Key: this.#key(threadId, file) }),
      );
      return out.Body as { transformToByteArray(): Promise<Uint8Array> };
    } catch (error) {
      if (isMissing(error)) {
        throw new NotFoundError(
          `no archive of thread "${threadId}" at ${this.locationOf(threadId)}`,
          {
            threadId,
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  #open(): Promise<{ sdk: Sdk; s3: S3Like }> {
    this.#client ??= openS3(this.#options, "the S3 archive");
    return this.#client;
  }

  async #call(message: string, work: (sdk: Sdk, s3: S3Like) => Promise<void>): Promise<void> {
    const { sdk, s3 } = await this.#open();
    try {
      await work(sdk, s3);
    } catch (error) {
      if (isRewindError(error)) throw error;
      throw new StorageError(`${message}: ${(error as Error).message ?? String(error)}`, {
        cause: error,
      });
    }
  }
}

/** An SDK response body as a Node stream (it is one on Node). */
function toNode(body: unknown): Readable {
  return body instanceof Readable ? body : Readable.from(body as AsyncIterable<Uint8Array>);
}
