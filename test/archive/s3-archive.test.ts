/**
 * The S3 archive target against a local S3-compatible server (s3rver on 127.0.0.1, a random
 * port, started here): archive, list, restore exactly, erase; an unreachable bucket fails the
 * archive and leaves the thread as it was.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { archiveThreads, restoreThread } from "../../src/archive/archive-threads.js";
import { deleteThreads } from "../../src/archive/erase.js";
import { S3Archive } from "../../src/archive/s3-archive.js";
import { StorageError } from "../../src/errors.js";
import { BACKENDS } from "../support/backends.js";
import { S3_CREDENTIALS, startS3Server } from "../support/s3-server.js";
import { APPENDING, fillHistory, historyKeys, threadsOf } from "./archive-fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "rewind-s3rver-"));
let server: Awaited<ReturnType<typeof startS3Server>> | undefined;
let endpoint = "";
const credentials = S3_CREDENTIALS;

beforeAll(async () => {
  server = await startS3Server(dir, ["archive"]);
  endpoint = server.endpoint;
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("S3 archive target", () => {
  const backend = BACKENDS.find((b) => b.name === "sqlite") ?? BACKENDS[0]!;

  it(`archives ${backend.name} threads to a bucket, lists, restores exactly and erases them`, async () => {
    const target = new S3Archive({ bucket: "archive", prefix: "rw/", endpoint, credentials });
    const checkpointer = backend.checkpointer(APPENDING);
    await fillHistory(checkpointer, "s3");
    const keys = historyKeys("s3");
    const before = await threadsOf(checkpointer, keys);
    const results = await archiveThreads(checkpointer, target, { all: true });
    expect(results.map((r) => r.status)).toStrictEqual(["archived", "archived", "archived"]);
    const listed = [];
    for await (const key of target.list()) listed.push(key);
    expect(listed).toStrictEqual(keys);
    const mark = await checkpointer.door.readArchive(keys[0]!);
    expect(JSON.parse(mark!.stub).location).toBe(target.locationOf(keys[0]!));
    expect(target.locationOf(keys[0]!)).toMatch(/^s3:\/\/archive\/rw\/threads\//);
    for (const key of keys) await restoreThread(checkpointer, target, key, { keepArchive: true });
    expect(await threadsOf(checkpointer, keys)).toStrictEqual(before);
    // Erasure reaches the bucket's copies too.
    const report = await deleteThreads(checkpointer, { all: true }, { archive: target });
    expect(report.archives).toBe(3);
    const left = [];
    for await (const key of target.list()) left.push(key);
    expect(left).toStrictEqual([]);
    await target.close();
    await checkpointer.close();
  });

  it("a bucket that cannot be written fails the archive and keeps the thread", async () => {
    const target = new S3Archive({ bucket: "no-such-bucket", endpoint, credentials });
    const checkpointer = backend.checkpointer(APPENDING);
    await fillHistory(checkpointer, "nobucket");
    const before = await threadsOf(checkpointer, ["nobucket"]);
    const [result] = await archiveThreads(checkpointer, target, { threadIds: ["nobucket"] });
    expect(result?.status).toBe("failed");
    expect(result?.error).toBeInstanceOf(StorageError);
    expect(await threadsOf(checkpointer, ["nobucket"])).toStrictEqual(before);
    await target.close();
    await checkpointer.close();
  });
});
