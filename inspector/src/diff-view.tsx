/** The changes between two checkpoints: one line per added, removed or changed path. */
import type { Change } from "./api";

const short = (v: unknown) => {
  const text = JSON.stringify(v) ?? "undefined";
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
};

export function DiffView({ from, to, changes }: { from: string; to: string; changes: Change[] }) {
  return (
    <section class="panel diff">
      <h3>
        Diff {from.slice(-12)} → {to.slice(-12)}{" "}
        <span class="count">
          {changes.filter((c) => c.kind === "added").length} added,{" "}
          {changes.filter((c) => c.kind === "removed").length} removed,{" "}
          {changes.filter((c) => c.kind === "changed").length} changed
        </span>
      </h3>
      {changes.length === 0 && <p class="muted">No changes in the state.</p>}
      <ul>
        {changes.map((c) => (
          <li key={`${c.kind}${c.path.join(".")}`} class={`change ${c.kind}`}>
            <span class="mark">{c.kind === "added" ? "+" : c.kind === "removed" ? "−" : "~"}</span>
            <span class="path">{c.path.join(".") || "(state)"}</span>
            {c.kind === "changed" && (
              <>
                <span class="before">{short(c.before)}</span> →{" "}
                <span class="after">{short(c.after)}</span>
              </>
            )}
            {c.kind === "added" && <span class="after">{short(c.after)}</span>}
            {c.kind === "removed" && <span class="before">{short(c.before)}</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}
