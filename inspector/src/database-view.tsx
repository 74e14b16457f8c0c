/**
 * The database at a glance, shown while no thread is open: threads, checkpoints and bytes, per
 * tenant, the biggest threads (click one to open it) and the large values kept.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type DatabaseStorage } from "./api";

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export function DatabaseView({
  tenant,
  onOpen,
}: {
  tenant: string;
  onOpen: (key: string) => void;
}) {
  const [storage, setStorage] = useState<DatabaseStorage>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    setError(undefined);
    api
      .storage(tenant ? { tenant, top: "10" } : { top: "10" })
      .then(setStorage, (e) => setError(String(e.message ?? e)));
  }, [tenant]);
  if (error) return <section class="panel database error-inline">Storage: {error}</section>;
  if (!storage) return <p class="muted">Reading the database's storage…</p>;
  const large = storage.largeValues;
  return (
    <section class="panel database">
      <h3>
        Storage{" "}
        <span class="count">
          {storage.threads} threads · {storage.checkpoints} checkpoints · {kb(storage.bytes)}
        </span>
      </h3>
      {large && large.values > 0 && (
        <div class="muted">
          Large values: {large.values} ({kb(large.storedBytes)} stored, {large.references}{" "}
          references, dedupe {large.dedupeRatio.toFixed(2)}×)
        </div>
      )}
      <div class="muted">
        Per tenant:{" "}
        {Object.entries(storage.tenants)
          .map(([name, t]) => `${name || "(default)"} ${t.threads} threads, ${kb(t.bytes)}`)
          .join(" · ")}
      </div>
      <h4>Biggest threads</h4>
      <ol class="biggest">
        {storage.biggest.map((t) => (
          <li key={t.key}>
            <button
              type="button"
              class="link"
              data-biggest={t.threadId}
              onClick={() => onOpen(t.key)}
            >
              {t.tenantId ? `${t.tenantId}/` : ""}
              {t.threadId}
            </button>{" "}
            <span class="muted">
              {kb(t.bytes)} · {t.checkpoints} checkpoints · last{" "}
              {t.updatedAt.slice(0, 16).replace("T", " ")}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
