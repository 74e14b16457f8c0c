/**
 * Checkpoint headers: what a history view, a tree or a pager shows of a checkpoint (id, parent,
 * step, source, metadata, creation time) without reading or decoding any channel value or
 * pending write. Rows are still checksum-verified, so a damaged header is reported, not shown.
 */
import type { CheckpointHeader, CheckpointTuple } from "./checkpoint-types.js";

/** The header of each tuple of a headers-only listing (`includeValues: false`), in order. */
export async function* headersOf(
  tuples: AsyncIterable<CheckpointTuple>,
): AsyncIterable<CheckpointHeader> {
  for await (const { checkpoint: c } of tuples) {
    yield {
      threadId: c.threadId,
      ns: c.ns,
      id: c.id,
      parentId: c.parentId,
      createdAt: c.createdAt,
      step: c.metadata.step,
      source: c.metadata.source,
      metadata: c.metadata,
    };
  }
}
