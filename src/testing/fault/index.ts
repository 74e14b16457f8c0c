/** Backends that inject faults (failed writes, torn reads, slow calls) into another backend, for tests. */
export {
  type FaultDecision,
  type FaultKind,
  type FaultOptions,
  FaultPlan,
  type FaultRule,
  InjectedFault,
} from "./fault-plan.js";
export { type CheckpointMethod, FaultyCheckpointBackend } from "./faulty-checkpoint-backend.js";
export { FaultyStoreBackend, type StoreMethod } from "./faulty-store-backend.js";
