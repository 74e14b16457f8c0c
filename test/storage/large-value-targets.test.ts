/**
 * External places for large values, selected in one line: a local directory and an
 * S3-compatible bucket (s3rver on 127.0.0.1, a random port, started here). Each keeps a value
 * once per tenant, serves reads, honours the touch time on removal, and is collected.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { StorageError } from "../../src/errors.js";
import type { Checkpointer } from "../../src/index.js";
import {
  collectLargeValues,
  DirectoryLargeValues,
  largeValueStats,
  S3LargeValues,
} from "../../src/large-values/index.js";
import type { LargeValueTarget } from "../../src/offload/large-value-target.js";
import { BACKENDS } from "../support/backends.js";
import { S3_CREDENTIALS, startS3Server } from "../support/s3-server.js";
import { putFile } from "./large-value-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "rewind-large-targets-"));
const FILE = "an attachment in a bucket, ".repeat(1_500);
const LONG = "a line of a long tool output\n".repeat(3_000);
let server: Awaited<ReturnType<typeof startS3Server>> | undefined;
let endpoint = "";
const credentials = S3_CREDENTIALS;

beforeAll(async () => {
  server = await startS3Server(join(dir, "s3"), ["values"]);
  endpoint = server.endpoint;
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const put = (checkpointer: Checkpointer, threadId: string, file: string) =>
  putFile(checkpointer, threadId, file);

const backend = BACKENDS.find((b) => b.name === "sqlite") ?? BACKENDS[0]!;
const TARGETS: [string, () => LargeValueTarget][] = [
  ["a local directory", () => new DirectoryLargeValues(join(dir, "values"))],
  [
    "an S3-compatible bucket",
    () => new S3LargeValues({ bucket: "values", prefix: "rw/", endpoint, credentials }),
  ],
];

describe.each(TARGETS)("large values in %s", (_, make) => {
  it(`keep ${backend.name} values once per tenant, read back, and are collected`, async () => {
    const target = make();
    const checkpointer = backend.checkpointer({
      largeValues: { target, thresholdBytes: 16 * 1024 },
    });
    try {
      await put(checkpointer, "a", FILE);
      await put(checkpointer, "b", FILE);
      await put(checkpointer, threadKey("a", "acme"), FILE);
      await put(checkpointer, "gone", `${FILE}gone`);
      expect((await checkpointer.get("b"))?.checkpoint.values.file).toBe(FILE);
      expect(await largeValueStats(checkpointer)).toMatchObject({ values: 3, references: 4 });
      await checkpointer.deleteThread("gone");
      expect(await collectLargeValues(checkpointer)).toMatchObject({ values: 3, removed: 0 });
      const later = Date.now() + 120_000;
      expect(await collectLargeValues(checkpointer, { graceMs: 60_000, now: later })).toMatchObject(
        {
          values: 3,
          removed: 1,
        },
      );
      expect((await checkpointer.get("a"))?.checkpoint.values.file).toBe(FILE);
      const acme = await checkpointer.get(threadKey("a", "acme"));
      expect(acme?.checkpoint.values.file).toBe(FILE);
      // 64K+ characters: the frame is a view into the serializer's buffer, not a copy of its own.
      await put(checkpointer, "long", LONG);
      expect((await checkpointer.get("long"))?.checkpoint.values.file).toBe(LONG);
    } finally {
      await checkpointer.close();
    }
  });
});

describe("external large-value targets", () => {
  it("lay a directory out by tenant and hash", async () => {
    const root = join(dir, "layout");
    const checkpointer = backend.checkpointer({
      largeValues: { target: new DirectoryLargeValues(root), thresholdBytes: 16 * 1024 },
    });
    try {
      await put(checkpointer, threadKey("t", "acme"), FILE);
      expect(readdirSync(root)).toStrictEqual(["t-acme"]);
      expect(readdirSync(join(root, "t-acme"))[0]).toMatch(/^[0-9a-f]{64}$/);
      expect(existsSync(join(root, "default"))).toBe(false);
    } finally {
      await checkpointer.close();
    }
  });

  it("an unreachable bucket fails the write with a StorageError and stores no row", async () => {
    const target = new S3LargeValues({
      bucket: "values",
      endpoint: "http://127.0.0.1:9",
      credentials,
    });
    const checkpointer = backend.checkpointer({
      largeValues: { target, thresholdBytes: 16 * 1024 },
    });
    try {
      await expect(put(checkpointer, "t", FILE)).rejects.toBeInstanceOf(StorageError);
      expect(await checkpointer.get("t")).toBeUndefined();
    } finally {
      await checkpointer.close();
    }
  });
});
