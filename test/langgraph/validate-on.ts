/**
 * LangGraph's own checkpointer validation suite, run on one backend of the shared registry.
 * Each checkpointer gets storage of its own: the suite's list tests count rows across all threads.
 */
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import type { CheckpointBackend } from "../../src/checkpoint/checkpoint-backend.js";
import { RewindSaver } from "../../src/langgraph/index.js";
import { type BackendName, describeOn } from "../support/backends.js";

/** Registers the validation suite on the backend `name` (skipped when `BACKENDS` leaves it out). */
export function validateOn(name: BackendName): void {
  describeOn(name, ({ checkpoints }) => {
    const backends = new WeakMap<RewindSaver, CheckpointBackend>();
    const initializer = {
      checkpointerName: `rewind-${name}`,
      beforeAllTimeout: 30_000,
      createCheckpointer: async () => {
        const backend = await checkpoints.create();
        const saver = new RewindSaver(backend);
        backends.set(saver, backend);
        return saver;
      },
      destroyCheckpointer: async (saver: RewindSaver) => {
        await saver.close();
        await checkpoints.destroy?.(backends.get(saver)!);
      },
    };
    validate(initializer);
    deltaChannelHistoryTests(initializer);
  });
}
