import { describeCheckpointBackend } from "../../src/testing/index.js";
import { describeOn } from "../support/backends.js";

describeOn("memory", (backend) =>
  describeCheckpointBackend(backend.name, {
    ...backend.checkpoints,
    // The backend keeps what it was given: rot the bytes of the checkpoint's own values in place.
    corrupt: async (storage, key) => {
      const raw = await storage.getCheckpoint(key.threadId, key.ns, key.checkpointId);
      const own = Object.values(raw?.blobs ?? {})
        .flat()
        .filter((blob) => blob.version === key.checkpointId && blob.value);
      if (own.length === 0)
        throw new Error(`nothing to corrupt for checkpoint ${key.checkpointId}`);
      for (const blob of own) blob.value!.bytes[0]! ^= 0x20;
    },
  }),
);
