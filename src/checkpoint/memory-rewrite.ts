/**
 * Re-encryption on the in-memory backend: every channel value, pending write and effect text of
 * one thread handed to a {@link ValueRewrite}, each replacement stored in place. Runs to
 * completion on the event loop, so no other write lands in between.
 */
import type { ValueRewrite } from "./checkpoint-backend.js";
import type { ThreadEntry } from "./memory-retention.js";

/** Rewrites `thread`'s values through `rewrite`; returns how many were replaced. */
export function rewriteValuesIn(thread: ThreadEntry | undefined, rewrite: ValueRewrite): number {
  if (!thread) return 0;
  let replaced = 0;
  for (const [key, blob] of thread.blobs) {
    const next =
      blob.kind === "empty" ? undefined : rewrite.blob(key.slice(0, key.indexOf("\0")), blob);
    if (next) {
      thread.blobs.set(key, next);
      replaced++;
    }
  }
  for (const [key, writes] of thread.writes) {
    const cut = key.lastIndexOf("\0");
    for (const [id, write] of writes) {
      const next = rewrite.write(key.slice(0, cut), key.slice(cut + 1), write);
      if (next) {
        writes.set(id, next);
        replaced++;
      }
    }
  }
  for (const [key, effect] of thread.effects) {
    const args = rewrite.effect(key, "args", effect.args);
    const outcome =
      effect.outcome === null ? undefined : rewrite.effect(key, effect.status, effect.outcome);
    if (args === undefined && outcome === undefined) continue;
    thread.effects.set(key, {
      ...effect,
      args: args ?? effect.args,
      outcome: outcome ?? effect.outcome,
    });
    replaced += (args === undefined ? 0 : 1) + (outcome === undefined ? 0 : 1);
  }
  return replaced;
}
