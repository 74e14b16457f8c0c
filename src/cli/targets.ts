/**
 * The archive target a command names: `s3://bucket/prefix` (S3 or, with `--s3-endpoint`, an
 * S3-compatible server; region and credentials from the options or the AWS SDK's usual
 * environment) or a directory path.
 */

import type { ArchiveTarget } from "../archive/archive-target.js";
import { DirectoryArchive } from "../archive/directory-archive.js";
import { S3Archive } from "../archive/s3-archive.js";
import { UsageError } from "./cli-run.js";
import { type OpenStorage, openStorage } from "./storage.js";

/** Options naming how to reach an S3 target. */
export interface TargetOptions {
  readonly s3Endpoint?: string | undefined;
  readonly region?: string | undefined;
}

/** The target `spec` names. */
export function openArchive(spec: string, options: TargetOptions): ArchiveTarget {
  if (typeof spec !== "string" || spec.length === 0) {
    throw new UsageError("name an archive: a directory or s3://bucket/prefix");
  }
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(spec);
  if (!s3) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) {
      throw new UsageError(`unknown archive "${spec}": use a directory or s3://bucket/prefix`);
    }
    return new DirectoryArchive(spec);
  }
  const prefix = s3[2] && !s3[2].endsWith("/") ? `${s3[2]}/` : (s3[2] ?? "");
  const endpoint =
    options.s3Endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  return new S3Archive({ bucket: s3[1]!, prefix, endpoint, region: options.region });
}

/** Ends a target's connections, if it has any. */
export async function closeTarget(target: ArchiveTarget): Promise<void> {
  await (target as { close?: () => Promise<void> }).close?.();
}

/** Opens the database and the archive, runs `work`, and closes both whatever happens. */
export async function withArchive<T>(
  database: string,
  spec: string | undefined,
  options: TargetOptions & { readonly schema?: string | undefined },
  work: (storage: OpenStorage, target: ArchiveTarget | undefined) => Promise<T>,
): Promise<T> {
  const target = spec === undefined ? undefined : openArchive(spec, options);
  try {
    const storage = await openStorage(database, { schema: options.schema });
    try {
      return await work(storage, target);
    } finally {
      await storage.close();
    }
  } finally {
    if (target) await closeTarget(target);
  }
}
