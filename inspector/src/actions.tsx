/**
 * The two writes: answer a pending interrupt (free JSON, or approve / reject for a yes-no
 * question), and fork from the shown checkpoint with an edited state, after seeing which recorded
 * side effects a re-run from there would reuse and which would fire anew.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type CheckpointView, type ForkPreview } from "./api";

interface ActionProps {
  threadKey: string;
  view: CheckpointView;
  readOnly: boolean;
  onDone: (message: string, checkpointId?: string) => void;
  onError: (error: unknown) => void;
}

export function ResumeForm({ threadKey, view, readOnly, onDone, onError }: ActionProps) {
  const [answer, setAnswer] = useState('"yes"');
  const [problem, setProblem] = useState<string>();
  const send = async (value: unknown) => {
    try {
      const r = await api.resume(threadKey, value);
      onDone(
        `Answer recorded for ${r.answered.length} interrupt(s); the graph's next run continues with it.`,
      );
    } catch (error) {
      onError(error);
    }
  };
  const submit = () => {
    try {
      setProblem(undefined);
      void send(JSON.parse(answer));
    } catch {
      setProblem("The answer must be JSON (text in quotes).");
    }
  };
  return (
    <section class="panel interrupts">
      <h3>Pending interrupts</h3>
      {view.interrupts.map((i) => (
        <div key={i.id} class="interrupt">
          <div class="muted">
            {i.kind} in <b>{i.node}</b> · {i.id}
          </div>
          <pre>{JSON.stringify(i.value, null, 2)}</pre>
        </div>
      ))}
      <label>
        Answer (JSON)
        <textarea
          name="answer"
          rows={3}
          value={answer}
          onInput={(e) => setAnswer(e.currentTarget.value)}
        />
      </label>
      {problem && <p class="error-inline">{problem}</p>}
      <div class="buttons">
        <button type="button" onClick={submit}>
          Resume with this answer
        </button>
        <button type="button" onClick={() => void send({ approved: true })}>
          Approve
        </button>
        <button type="button" onClick={() => void send({ approved: false })}>
          Reject
        </button>
      </div>
      {readOnly && <p class="muted">Read-only mode: the server refuses answers.</p>}
      <p class="muted">
        Recorded as the resume of this interrupt; the paused node continues the next time the graph
        runs on this thread (<code>invoke(null, {"{ threadId }"})</code>).
      </p>
    </section>
  );
}

export function ForkForm({ threadKey, view, readOnly, onDone, onError }: ActionProps) {
  const [text, setText] = useState(() => JSON.stringify(view.state, null, 2));
  const [preview, setPreview] = useState<ForkPreview>();
  useEffect(() => {
    setText(JSON.stringify(view.state, null, 2));
    api.preview(threadKey, view.checkpointId).then(setPreview, onError);
  }, [threadKey, view.checkpointId]);
  const channels = Object.keys(view.state);
  let problem: string | undefined;
  let hint: string | undefined;
  let edits: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      problem = "The state must be a JSON object of channel → value.";
    } else {
      const unknown = Object.keys(parsed).filter((k) => !channels.includes(k));
      if (unknown.length > 0)
        problem = `Unknown channel(s): ${unknown.join(", ")}. This state has: ${channels.join(", ")}.`;
      edits = Object.fromEntries(
        Object.entries(parsed).filter(
          ([k, v]) => JSON.stringify(v) !== JSON.stringify(view.state[k]),
        ),
      );
      if (!problem && Object.keys(edits).length === 0) hint = "Edit a value to fork.";
    }
  } catch (error) {
    problem = `Not JSON: ${(error as Error).message}`;
  }
  const submit = async () => {
    try {
      const r = await api.fork(threadKey, view.checkpointId, edits);
      onDone(
        `Forked: new checkpoint ${r.checkpointId.slice(-12)} (set ${Object.keys(edits).join(", ")}).`,
        r.checkpointId,
      );
    } catch (error) {
      onError(error);
    }
  };
  return (
    <section class="panel fork">
      <h3>Fork from step {view.step}</h3>
      <label>
        State (edit channel values; changed channels replace the stored ones, no reducer runs)
        <textarea
          name="fork-state"
          rows={10}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
      </label>
      {problem && <p class="error-inline">{problem}</p>}
      {hint && <p class="muted">{hint}</p>}
      <div class="effects">
        <b>Recorded side effects after this checkpoint</b>
        {preview === undefined ? (
          <p class="muted">reading…</p>
        ) : preview.reused.length + preview.unknown.length + preview.rerun.length === 0 ? (
          <p class="muted">
            None recorded: a re-run from here has no tracked side effect to reuse; every call fires
            anew.
          </p>
        ) : (
          <ul>
            {preview.reused.map((e) => (
              <li key={e.key}>reused (not run again): {e.name}</li>
            ))}
            {preview.unknown.map((e) => (
              <li key={e.key}>never reported back: {e.name} (its policy decides)</li>
            ))}
            {preview.rerun.map((e) => (
              <li key={e.key}>fires anew: {e.name}</li>
            ))}
          </ul>
        )}
      </div>
      <button
        type="button"
        disabled={problem !== undefined || hint !== undefined}
        onClick={() => void submit()}
      >
        Fork with these values
      </button>
      {readOnly && <p class="muted">Read-only mode: the server refuses forks.</p>}
    </section>
  );
}
