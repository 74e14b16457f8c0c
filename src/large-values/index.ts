/**
 * `rewind/large-values`: values above a threshold stored once per tenant by content hash (on by
 * default, in the same database; see `CheckpointerOptions.largeValues`), the external places to
 * keep them (a local directory, an S3-compatible bucket), and their garbage collection.
 */

export type { S3Options } from "../archive/s3-client.js";
export {
  type CollectOptions,
  type CollectReport,
  collectLargeValues,
  DEFAULT_GRACE_MS,
  type LargeValueStats,
  largeValueStats,
} from "../checkpoint/large-value-gc.js";
export type { LargeValueOptions } from "../offload/large-value-store.js";
export { LARGE_VALUE_DEFAULTS } from "../offload/large-value-store.js";
export type { LargeValueEntry, LargeValueTarget } from "../offload/large-value-target.js";
export { MemoryLargeValues } from "../offload/large-value-target.js";
export { DirectoryLargeValues } from "./directory-large-values.js";
export { S3LargeValues } from "./s3-large-values.js";
