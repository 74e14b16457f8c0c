/**
 * A thread's storage: bytes per channel and the biggest checkpoints, and what keeping only the
 * last N checkpoints would free (a dry run: nothing changes).
 */
import { useEffect, useState } from "preact/hooks";
import { storageOf, type ThreadStorage } from "./api";

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export function StorageView({ threadKey, version }: { threadKey: string; version: string }) {
  const [keepLast, setKeepLast] = useState(10);
  const [storage, setStorage] = useState<ThreadStorage>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setError(undefined);
    storageOf(threadKey, keepLast).then(setStorage, (e) => setError(String(e.message ?? e)));
  }, [threadKey, version, keepLast]);
  if (error) return <section class="panel storage error-inline">Storage: {error}</section>;
  if (!storage) return null;
  return (
    <section class="panel storage">
      <h3>
        Storage{" "}
        <span class="count">
          {kb(storage.bytes)} in {storage.checkpoints} checkpoints
        </span>
      </h3>
      {storage.channels.length > 0 && (
        <div class="muted">
          Values in rows of their own:{" "}
          {storage.channels.map((c) => `${c.channel} ${kb(c.bytes)}`).join(" · ")}
        </div>
      )}
      <div class="muted">
        Biggest checkpoints:{" "}
        {storage.biggest
          .slice(0, 5)
          .map((c) => `${c.checkpointId.slice(-12)} ${kb(c.bytes)}`)
          .join(" · ")}
      </div>
      <label class="keep">
        Keep the last{" "}
        <input
          type="number"
          min={1}
          value={keepLast}
          onChange={(e) => setKeepLast(Math.max(1, Number(e.currentTarget.value) || 1))}
        />{" "}
        checkpoints:{" "}
        {storage.keepLast && storage.keepLast.checkpoints > 0
          ? `frees about ${kb(storage.keepLast.bytes)} (${storage.keepLast.checkpoints} checkpoints; ${storage.keepLast.lost ?? ""})`
          : "frees nothing"}
      </label>
    </section>
  );
}
