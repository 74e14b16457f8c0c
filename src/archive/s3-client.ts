/**
 * One way to reach an S3-compatible bucket through `@aws-sdk/client-s3` (an optional peer
 * dependency, loaded on first use), shared by the S3 archive and the S3 store of large values:
 * AWS S3 as is (region and credentials from options or the SDK's usual sources), or an
 * S3-compatible server (`endpoint`, path-style addressing).
 */
import { importOptionalPeer } from "../optional-peer.js";

/** Where a bucket is and how to sign in. */
export interface S3Options {
  readonly bucket: string;
  /** Key prefix inside the bucket, e.g. `"rewind/"`. Default `""`. */
  readonly prefix?: string | undefined;
  /** Default: the SDK's (environment, profile). */
  readonly region?: string | undefined;
  /** An S3-compatible server's URL; addressing is then path-style unless told otherwise. */
  readonly endpoint?: string | undefined;
  readonly forcePathStyle?: boolean | undefined;
  /** Default: the SDK's credential chain. */
  readonly credentials?:
    | { accessKeyId: string; secretAccessKey: string; sessionToken?: string | undefined }
    | undefined;
}

/** The calls of `S3Client` Rewind makes (`send` of the SDK's commands). */
export interface S3Like {
  send(command: unknown): Promise<any>;
  destroy(): void;
}

export type S3Sdk = typeof import("@aws-sdk/client-s3");

/** The SDK and a client for `options`; `what` names the feature in the missing-peer error. */
export async function openS3(
  options: S3Options,
  what: string,
): Promise<{ sdk: S3Sdk; s3: S3Like }> {
  const sdk = await importOptionalPeer(
    "@aws-sdk/client-s3",
    what,
    () => import("@aws-sdk/client-s3"),
  );
  const { region, endpoint, credentials, forcePathStyle } = options;
  const s3 = new sdk.S3Client({
    ...(region ? { region } : endpoint ? { region: "us-east-1" } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    forcePathStyle: forcePathStyle ?? endpoint !== undefined,
    // Checksums only where S3 requires them: a streamed body with a trailing checksum
    // (aws-chunked) is not understood by every S3-compatible server; Rewind verifies what it
    // reads back itself (archives against their manifest, large values against their hash).
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  return { sdk, s3 };
}

/** Whether an SDK error means "no such object". */
export function isMissing(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  return name === "NoSuchKey" || name === "NotFound";
}
