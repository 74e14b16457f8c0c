/**
 * The inspector's page: threads on the left (search, status filter, paged), the chosen thread's
 * branch tree in the middle, and on the right the picked checkpoint's state, its pending
 * interrupts, a fork form, or the diff of two picked checkpoints. Every failure is shown.
 */
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ForkForm, ResumeForm } from "./actions";
import {
  ApiError,
  api,
  type Change,
  type CheckpointView,
  type History,
  type Info,
  type ThreadRow,
} from "./api";
import { DatabaseView } from "./database-view";
import { DiffView } from "./diff-view";
import { JsonTree } from "./json-tree";
import { StorageView } from "./storage-view";
import { TreeView } from "./tree-view";
import "./style.css";

const describe = (error: unknown) =>
  error instanceof ApiError ? `${error.message} (${error.code})` : String(error);

function App() {
  const [info, setInfo] = useState<Info>();
  const [threads, setThreads] = useState<ThreadRow[]>([]);
  const [next, setNext] = useState<string>();
  const [search, setSearch] = useState("");
  const [tenant, setTenant] = useState("");
  const [status, setStatus] = useState("");
  const [metadata, setMetadata] = useState("");
  const [thread, setThread] = useState<string>();
  const [history, setHistory] = useState<History>();
  const [picked, setPicked] = useState<string>();
  const [compared, setCompared] = useState<string>();
  /** The key of the thread whose history is shown (`thread` changes first, on the click). */
  const [historyOf, setHistoryOf] = useState<string>();
  const [view, setView] = useState<CheckpointView>();
  const [viewError, setViewError] = useState<string>();
  const [changes, setChanges] = useState<Change[]>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const fail = (e: unknown) => setError(describe(e));
  const threadQuery = useRef(0);

  const loadThreads = async (after?: string) => {
    const q: Record<string, string> = { limit: "50" };
    if (search) q.search = search;
    if (tenant) q.tenant = tenant;
    if (status) q.status = status;
    if (metadata) q.metadata = metadata;
    if (after) q.after = after;
    const asked = ++threadQuery.current;
    try {
      const page = await api.threads(q);
      // A slower answer to an older query (an earlier keystroke) is dropped.
      if (asked !== threadQuery.current) return;
      setThreads(after ? [...threads, ...page.threads] : page.threads);
      setNext(page.next);
    } catch (e) {
      fail(e);
    }
  };
  useEffect(() => {
    api.info().then(setInfo, fail);
  }, []);
  useEffect(() => {
    void loadThreads();
  }, [search, tenant, status, metadata]);

  const openThread = async (key: string, pick?: string) => {
    setThread(key);
    setError(undefined);
    setChanges(undefined);
    setCompared(undefined);
    try {
      const h = await api.history(key);
      setHistory(h);
      setHistoryOf(key);
      await pickCheckpoint(key, pick ?? h.currentId!);
    } catch (e) {
      setHistory(undefined);
      setHistoryOf(undefined);
      setView(undefined);
      fail(e);
    }
  };
  const pickCheckpoint = async (key: string, id: string) => {
    setPicked(id);
    setViewError(undefined);
    try {
      setView(await api.checkpoint(key, id));
    } catch (e) {
      setView(undefined);
      setViewError(describe(e));
    }
  };
  const onPick = async (id: string, compare: boolean) => {
    if (!thread) return;
    if (compare && picked) {
      setCompared(id);
      try {
        setChanges(await api.diff(thread, picked, id));
      } catch (e) {
        fail(e);
      }
      return;
    }
    setCompared(undefined);
    setChanges(undefined);
    await pickCheckpoint(thread, id);
  };
  const done = (message: string, checkpointId?: string) => {
    setNotice(message);
    setError(undefined);
    if (thread) void openThread(thread, checkpointId);
    void loadThreads();
  };

  return (
    <div class="app">
      <header>
        <h1>Rewind inspector</h1>
        <span class="label">{info?.label}</span>
        {info?.readOnly && <span class="badge ro">read-only</span>}
      </header>
      {error && (
        <div class="banner error" role="alert">
          {error}{" "}
          <button type="button" onClick={() => setError(undefined)}>
            dismiss
          </button>
        </div>
      )}
      {notice && (
        <div class="banner notice" role="status">
          {notice}{" "}
          <button type="button" onClick={() => setNotice(undefined)}>
            dismiss
          </button>
        </div>
      )}
      <main>
        <aside class="threads">
          <input
            type="search"
            placeholder="search thread ids"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
          <input
            type="search"
            placeholder="tenant"
            value={tenant}
            onInput={(e) => setTenant(e.currentTarget.value)}
          />
          <input
            type="search"
            placeholder='metadata, e.g. {"user":"ana"}'
            aria-label="metadata filter"
            value={metadata}
            onChange={(e) => setMetadata(e.currentTarget.value)}
          />
          <select
            value={status}
            onChange={(e) => setStatus(e.currentTarget.value)}
            aria-label="status"
          >
            <option value="">any status</option>
            {["running", "interrupted", "done", "failed", "damaged"].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <ul>
            {threads.map((t) => (
              <li key={t.key}>
                <button
                  type="button"
                  class={`thread${t.key === thread ? " selected" : ""}`}
                  data-thread={t.threadId}
                  onClick={() => void openThread(t.key)}
                >
                  <span class="name">
                    {t.tenantId ? <span class="tenant">{t.tenantId}/</span> : null}
                    {t.threadId}
                  </span>
                  <span class={`status ${t.status}`}>{t.status}</span>
                  <span class="muted">
                    {t.checkpoints} checkpoints · {(t.bytes / 1024).toFixed(1)} KB ·{" "}
                    {t.updatedAt.slice(0, 16).replace("T", " ")}
                  </span>
                </button>
              </li>
            ))}
          </ul>
          {threads.length === 0 && <p class="muted">No threads.</p>}
          {next && (
            <button type="button" class="more" onClick={() => void loadThreads(next)}>
              more threads
            </button>
          )}
        </aside>
        <section class="history" data-history={historyOf}>
          {history ? (
            <>
              <h2>
                History{" "}
                <span class="muted">
                  {history.nodes.length} checkpoints, {history.branches.length} branches
                </span>
              </h2>
              <p class="muted">
                Click a checkpoint to see its state; shift-click another to diff the two.
              </p>
              <TreeView
                history={history}
                selected={picked}
                compared={compared}
                onPick={(id, c) => void onPick(id, c)}
              />
            </>
          ) : (
            <>
              <p class="muted">Pick a thread.</p>
              <DatabaseView tenant={tenant} onOpen={(key) => void openThread(key)} />
            </>
          )}
        </section>
        <section class="detail">
          {changes && picked && compared && (
            <DiffView from={picked} to={compared} changes={changes} />
          )}
          {viewError && (
            <div class="banner error" role="alert">
              Checkpoint {picked?.slice(-12)} cannot be shown: {viewError}
            </div>
          )}
          {view && thread && !changes && (
            <>
              <section class="panel">
                <h3>
                  Step {view.step} <span class={`status ${view.status}`}>{view.status}</span>
                </h3>
                <div class="muted">
                  {view.checkpointId} · {view.createdAt} · next:{" "}
                  {view.next.join(", ") || "nothing (done)"}
                </div>
                <JsonTree name="metadata" value={view.metadata} />
                <JsonTree name="state" value={view.state} open />
              </section>
              {view.interrupts.length > 0 && (
                <ResumeForm
                  threadKey={thread}
                  view={view}
                  readOnly={info?.readOnly === true}
                  onDone={done}
                  onError={fail}
                />
              )}
              <ForkForm
                threadKey={thread}
                view={view}
                readOnly={info?.readOnly === true}
                onDone={done}
                onError={fail}
              />
              <StorageView threadKey={thread} version={history?.currentId ?? ""} />
            </>
          )}
        </section>
      </main>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
