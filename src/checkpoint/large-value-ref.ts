/**
 * Large values in checkpoints: a serialized value of a thread as a reference carrying its frame,
 * and its body opened from the frame, with errors naming thread, checkpoint and channel. The
 * naming and framing are the offload area's (large-value-frame.ts).
 */
import { CorruptionError } from "../errors.js";
import {
  type HashKeyOf,
  type Layered,
  openFrame,
  refValue,
  sealFrame,
} from "../offload/large-value-frame.js";
import type { SerializedValue } from "../serde/serializer.js";
import type { ValueSite } from "./checkpoint-codec.js";
import { tenantOfKey } from "./thread-key.js";

/** A serialized value of thread `threadId` as a reference carrying its frame. */
export function sealLarge(
  encoded: SerializedValue,
  threadId: string,
  seal: Layered,
  keyOf: HashKeyOf,
): SerializedValue {
  const { hash, framed } = sealFrame(encoded, tenantOfKey(threadId), seal, keyOf);
  return refValue(hash, framed);
}

/**
 * A large value's body from its frame (put back by the large-value store), opened and checked
 * against its hash; a missing or damaged one is a CorruptionError naming `site`.
 */
export function openLarge(
  hash: string,
  bytes: Uint8Array,
  site: ValueSite,
  open: Layered,
  keyOf: HashKeyOf,
): SerializedValue {
  return openFrame(
    tenantOfKey(site.threadId),
    hash,
    bytes,
    open,
    keyOf,
    (what) =>
      new CorruptionError(
        `checkpoint ${site.checkpointId} of thread "${site.threadId}" ${what} large value ${hash}${site.channel === undefined ? "" : ` (channel "${site.channel}")`}`,
        { threadId: site.threadId, checkpointId: site.checkpointId, channel: site.channel },
      ),
  );
}
