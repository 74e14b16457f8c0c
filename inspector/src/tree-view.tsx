/**
 * A thread's branch tree, drawn like `git log --graph`: one row per checkpoint in time order,
 * each branch in its own lane, a line from every checkpoint to its parent. Fork points, branch
 * heads and the current head are marked; damaged checkpoints get a row saying why. Only the rows
 * near the scrolled-to place are in the page, so a history of thousands stays quick.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { History } from "./api";

const ROW = 26;
const LANE = 18;
/** Rows kept in the page above and below the visible ones. */
const OVERSCAN = 40;

export interface TreeProps {
  history: History;
  selected?: string | undefined;
  compared?: string | undefined;
  onPick: (id: string, compare: boolean) => void;
}

export function TreeView({ history, selected, compared, onPick }: TreeProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 900 });
  const scroller = () => ref.current?.closest<HTMLElement>(".history") ?? undefined;
  useEffect(() => {
    const el = scroller();
    if (!el) return;
    const update = () =>
      setView({ top: el.scrollTop - ref.current!.offsetTop, height: el.clientHeight });
    update();
    el.addEventListener("scroll", update, { passive: true });
    return () => el.removeEventListener("scroll", update);
  }, []);
  const lane = new Map<string, number>();
  history.branches.forEach((branch, i) => {
    for (const id of branch.checkpointIds) if (!lane.has(id)) lane.set(id, i);
  });
  const rows = [
    ...history.nodes.map((n) => ({ id: n.checkpointId, node: n, damage: undefined })),
    ...history.damaged.map((d) => ({ id: d.checkpointId, node: undefined, damage: d.reason })),
  ].sort((a, b) => (a.id < b.id ? -1 : 1));
  const rowOf = new Map(rows.map((r, i) => [r.id, i]));
  const heads = new Set(history.branches.map((b) => b.headId));
  const forks = new Set(history.forkPoints);
  const lanes = Math.max(1, history.branches.length);
  const x = (id: string) => 10 + (lane.get(id) ?? 0) * LANE;
  const y = (i: number) => i * ROW + ROW / 2;
  const first = Math.max(0, Math.floor(view.top / ROW) - OVERSCAN);
  const last = Math.min(rows.length - 1, Math.ceil((view.top + view.height) / ROW) + OVERSCAN);
  const shown = (a: number, b: number) => Math.max(a, b) >= first && Math.min(a, b) <= last;
  useEffect(() => {
    // Bring the picked checkpoint into view (the current head when a thread opens).
    const el = scroller();
    const i = selected === undefined ? undefined : rowOf.get(selected);
    if (!el || i === undefined) return;
    const at = ref.current!.offsetTop + i * ROW;
    if (at < el.scrollTop || at + ROW > el.scrollTop + el.clientHeight) {
      el.scrollTop = at - el.clientHeight / 2;
    }
  }, [history, selected]);
  return (
    <div class="tree" ref={ref} style={{ height: `${rows.length * ROW}px` }}>
      <svg
        class="tree-lines"
        width={lanes * LANE + 10}
        height={rows.length * ROW}
        aria-hidden="true"
      >
        {history.nodes.map((n) => {
          const from = rowOf.get(n.checkpointId)!;
          const to = n.parentId === undefined ? undefined : rowOf.get(n.parentId);
          if (to === undefined || !shown(from, to)) return null;
          const x1 = x(n.checkpointId);
          const x2 = x(n.parentId!);
          return (
            <path
              key={`l${n.checkpointId}`}
              d={`M${x2},${y(to)} C${x2},${y(to) + ROW} ${x1},${y(from) - ROW} ${x1},${y(from)}`}
              class="edge"
            />
          );
        })}
        {rows.map((r, i) =>
          r.node && shown(i, i) ? (
            <circle
              key={`c${r.id}`}
              cx={x(r.id)}
              cy={y(i)}
              r={r.id === history.currentId ? 6 : 4.5}
              class={`dot lane${(lane.get(r.id) ?? 0) % 6}${r.id === history.currentId ? " current" : ""}`}
            />
          ) : null,
        )}
      </svg>
      {rows.slice(first, last + 1).map((r, k) => {
        const i = first + k;
        return (
          <button
            type="button"
            key={r.id}
            data-checkpoint={r.id}
            class={`row${r.id === selected ? " selected" : ""}${r.id === compared ? " compared" : ""}${r.damage ? " damaged" : ""}`}
            style={{ top: `${i * ROW}px`, paddingLeft: `${lanes * LANE + 18}px` }}
            onClick={(e) => r.node && onPick(r.id, e.shiftKey)}
            title={r.damage ?? "click: show state; shift-click: compare with the selected one"}
          >
            {r.node ? (
              <>
                <span class="step">step {r.node.step}</span>
                <span class={`source ${r.node.source}`}>{r.node.source}</span>
                <span class="id">{r.id.slice(-12)}</span>
                <span class="time">{r.node.createdAt.slice(11, 19)}</span>
                {forks.has(r.id) && <span class="badge fork">fork point</span>}
                {heads.has(r.id) && r.id !== history.currentId && (
                  <span class="badge">branch head</span>
                )}
                {r.id === history.currentId && <span class="badge current">current</span>}
              </>
            ) : (
              <span class="damage">
                damaged checkpoint {r.id.slice(-12)}: {r.damage}
              </span>
            )}
          </button>
        );
      })}
    </div>
  );
}
