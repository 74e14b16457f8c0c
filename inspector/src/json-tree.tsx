/**
 * A value as a collapsible tree. Children are rendered only once opened, so a state with
 * thousands of messages shows its top level at once.
 */
import { useState } from "preact/hooks";

export function JsonTree({
  name,
  value,
  open = false,
}: {
  name: string;
  value: unknown;
  open?: boolean;
}) {
  const [expanded, setExpanded] = useState(open);
  if (value === null || typeof value !== "object") {
    return (
      <div class="leaf">
        <span class="key">{name}</span>:{" "}
        <span class={`v-${typeof value}`}>{JSON.stringify(value)}</span>
      </div>
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return (
    <div class="node">
      <button type="button" class="toggle" onClick={() => setExpanded(!expanded)}>
        {expanded ? "▾" : "▸"} <span class="key">{name}</span> <span class="count">{summary}</span>
      </button>
      {expanded && (
        <div class="children">
          {entries.map(([k, v]) => (
            <JsonTree key={k} name={k} value={v} />
          ))}
        </div>
      )}
    </div>
  );
}
