/**
 * `rewind/testing`: the conformance suites every storage backend runs, for Rewind's own
 * backends and for yours, with one harness shape for both seams, and a fake clock. Needs vitest.
 *
 * @example
 * describeCheckpointBackend("mine", { create: () => new MyCheckpointBackend() });
 * describeStoreBackend("mine", { create: () => new MyStoreBackend() });
 */
export {
  type CheckpointBackendHarness,
  checkpointConformanceCases,
  describeCheckpointBackend,
} from "./checkpoint-conformance.js";
export {
  type CaseContext as CheckpointCaseContext,
  type ConformanceCase as CheckpointCase,
  ConformanceMoney,
  conformanceSerializer,
} from "./checkpoint-fixtures.js";
export type {
  ConformanceHarness,
  ConformanceSkip,
  NamedCase,
} from "./conformance-suite.js";
export { FAKE_EPOCH, FakeClock } from "./fake-clock.js";
export {
  type CheckpointMethod,
  type FaultKind,
  type FaultOptions,
  FaultPlan,
  type FaultRule,
  FaultyCheckpointBackend,
  FaultyStoreBackend,
  InjectedFault,
  type StoreMethod,
} from "./fault/index.js";
export {
  describeStoreBackend,
  type StoreBackendHarness,
  storeConformanceCases,
} from "./store-conformance.js";
export type { OpenedStore, StoreCase, StoreCaseContext } from "./store-fixtures.js";
export {
  registerThreadTenancyProperty,
  type ThreadTenancyHarness,
} from "./thread-tenancy-property.js";
