/** Retention: policies, lineage-safe prune (plan first), pins and the background sweeper. */
export { pin, unpin } from "./pins.js";
export { type PruneOptions, prune } from "./prune.js";
export type { PruneReport, PruneTally, ThreadPrune } from "./prune-report.js";
export type { RetentionPolicy, RetentionRule } from "./retention-policy.js";
export { type Sweeper, type SweeperOptions, startSweeper } from "./sweeper.js";
