/**
 * A local S3-compatible server (s3rver on 127.0.0.1, a random port) for the tests of S3 targets,
 * with the buckets they name; `close` stops it.
 */
import S3rver from "s3rver";

/** The credentials s3rver accepts. */
export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** Starts a server keeping its objects in `directory`; resolves to its endpoint URL. */
export async function startS3Server(
  directory: string,
  buckets: readonly string[],
): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  const { port } = (await server.run()) as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, close: () => server.close() };
}
