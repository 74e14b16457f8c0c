/**
 * Large values in an S3-compatible bucket: one object per value at
 * `<prefix>large-values/<tenant>/<hash>` (the tenant URI-encoded after `t-`, `default` for the
 * default tenant). A touch copies the object onto itself, which renews its last-modified time:
 * the bucket's clock is its touch time.
 */

import {
  isMissing,
  openS3,
  type S3Like,
  type S3Options,
  type S3Sdk,
} from "../archive/s3-client.js";
import { InvalidInputError } from "../errors.js";
import { isValueHash } from "../offload/large-value-frame.js";
import type { LargeValueEntry, LargeValueTarget } from "../offload/large-value-target.js";

/**
 * Keeps large values in a bucket.
 *
 * @example
 * const target = new S3LargeValues({ bucket: "agent-values", prefix: "rewind/", region: "eu-west-1" });
 */
export class S3LargeValues implements LargeValueTarget {
  readonly name: string;
  readonly #options: S3Options;
  readonly #root: string;
  #client: Promise<{ sdk: S3Sdk; s3: S3Like }> | undefined;

  constructor(options: S3Options) {
    if (typeof options?.bucket !== "string" || options.bucket.length === 0) {
      throw new InvalidInputError("S3LargeValues needs a bucket name");
    }
    this.#options = options;
    this.#root = `${options.prefix ?? ""}large-values/`;
    this.name = `s3://${options.bucket}/${options.prefix ?? ""}`;
  }

  async put(tenant: string, hash: string, bytes: Uint8Array, now: number): Promise<void> {
    const { sdk, s3 } = await this.#open();
    const Key = this.#key(tenant, hash);
    const Bucket = this.#options.bucket;
    const touched = { touched: String(now) };
    try {
      await s3.send(new sdk.HeadObjectCommand({ Bucket, Key }));
      await s3.send(
        new sdk.CopyObjectCommand({
          Bucket,
          Key,
          CopySource: `${Bucket}/${encodeURIComponent(Key).replaceAll("%2F", "/")}`,
          MetadataDirective: "REPLACE",
          Metadata: touched,
        }),
      );
      return;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    await s3.send(new sdk.PutObjectCommand({ Bucket, Key, Body: bytes, Metadata: touched }));
  }

  async get(tenant: string, hash: string): Promise<Uint8Array | undefined> {
    const { sdk, s3 } = await this.#open();
    try {
      const out = await s3.send(
        new sdk.GetObjectCommand({ Bucket: this.#options.bucket, Key: this.#key(tenant, hash) }),
      );
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async *list(): AsyncIterable<LargeValueEntry> {
    const { sdk, s3 } = await this.#open();
    let token: string | undefined;
    do {
      const page = await s3.send(
        new sdk.ListObjectsV2Command({
          Bucket: this.#options.bucket,
          Prefix: this.#root,
          ContinuationToken: token,
        }),
      );
      for (const { Key, Size, LastModified } of page.Contents ?? []) {
        const [dir, hash] = String(Key).slice(this.#root.length).split("/");
        const tenant =
          dir === "default" ? "" : dir?.startsWith("t-") ? decode(dir.slice(2)) : undefined;
        if (tenant === undefined || !hash || !isValueHash(hash)) continue;
        yield {
          tenant,
          hash,
          bytes: Number(Size ?? 0),
          touchedAt: new Date(LastModified).getTime(),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Removes the object if the bucket's last-modified time is before `touchedBefore`. */
  async remove(tenant: string, hash: string, touchedBefore: number): Promise<boolean> {
    const { sdk, s3 } = await this.#open();
    const Bucket = this.#options.bucket;
    const Key = this.#key(tenant, hash);
    try {
      const head = await s3.send(new sdk.HeadObjectCommand({ Bucket, Key }));
      if (new Date(head.LastModified).getTime() >= touchedBefore) return false;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    await s3.send(new sdk.DeleteObjectCommand({ Bucket, Key }));
    return true;
  }

  /**
   * Stores `next` in place of `previous` (re-encryption), keeping the value's metadata: read,
   * compared, then written on the condition that the object is still the one read (`If-Match`
   * on its ETag, a compare-and-set where the server honours it: AWS S3 does; where it is not
   * honoured, a value is only ever replaced by another sealing of the same body, so a race
   * between two replacements leaves one of them, both readable). The write renews the bucket's
   * last-modified time, which only delays its collection.
   */
  async replace(tenant: string, hash: string, previous: Uint8Array, next: Uint8Array) {
    const { sdk, s3 } = await this.#open();
    const Bucket = this.#options.bucket;
    const Key = this.#key(tenant, hash);
    let held: { bytes: Uint8Array; etag: string | undefined; metadata: Record<string, string> };
    try {
      const out = await s3.send(new sdk.GetObjectCommand({ Bucket, Key }));
      held = {
        bytes: await out.Body.transformToByteArray(),
        etag: out.ETag,
        metadata: out.Metadata ?? {},
      };
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
    if (!Buffer.from(held.bytes).equals(previous)) return false;
    try {
      await s3.send(
        new sdk.PutObjectCommand({
          Bucket,
          Key,
          Body: next,
          Metadata: held.metadata,
          ...(held.etag ? { IfMatch: held.etag } : {}),
        }),
      );
    } catch (error) {
      if (isPreconditionFailed(error)) return false;
      throw error;
    }
    return true;
  }

  /** Ends the client's connections (it is created again on next use). */
  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) (await client.catch(() => undefined))?.s3.destroy();
  }

  #open() {
    this.#client ??= openS3(this.#options, "the S3 store of large values");
    return this.#client;
  }

  #key(tenant: string, hash: string): string {
    if (!isValueHash(hash)) throw new InvalidInputError(`"${hash}" is not a large value's hash`);
    return `${this.#root}${tenant === "" ? "default" : `t-${encodeURIComponent(tenant)}`}/${hash}`;
  }
}

/** Whether an SDK error is a failed `If-Match` (the object changed since it was read). */
function isPreconditionFailed(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === "PreconditionFailed" || $metadata?.httpStatusCode === 412;
}

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
