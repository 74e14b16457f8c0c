/**
 * The inspector's two writes, done on storage alone (no graph code needed): a fork that stores
 * a new checkpoint whose parent is a chosen one, with some channels replaced by edited values;
 * and an answer to a pending interrupt, recorded as the resume claim the next run of the graph
 * picks up (the graph has to run for the paused node to continue; this only records the answer).
 */
import { randomUUID } from "node:crypto";
import type { ChannelUpdate, Checkpointer } from "../checkpoint/checkpointer.js";
import { AlreadyResumedError, InvalidInputError, NotFoundError } from "../errors.js";
import { RESUME_CHANNEL } from "../graph/constants.js";
import type { ForkPreview } from "../graph/effect-admin.js";
import { previewFork } from "../graph/effect-admin.js";
import { claimTaskId, PendingIndex } from "../graph/pending.js";
import { newCheckpointId } from "../ids.js";
import { userChannels } from "./inspect-reads.js";

/** What a fork wrote, and what re-running from it would do with recorded side effects. */
export interface ForkResult {
  readonly checkpointId: string;
  readonly parentId: string;
  readonly channels: readonly string[];
  readonly effects: ForkPreview;
}

/**
 * Stores a child of checkpoint `checkpointId` whose channels named in `values` hold those values
 * as given (they replace the stored value: no reducer runs, there is no graph here); the other
 * channels and the nodes to run next are the parent's. Only channels the parent has may be set.
 * The write is a compare-and-set on the thread's head: a run writing meanwhile makes it fail
 * with `ConflictError` and nothing is stored.
 */
export async function forkWithValues(
  checkpointer: Checkpointer,
  key: string,
  checkpointId: string,
  values: unknown,
): Promise<ForkResult> {
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new InvalidInputError("a fork's edit must be an object of channel -> value");
  }
  const edits = Object.entries(values as Record<string, unknown>);
  if (edits.length === 0) throw new InvalidInputError("a fork must set at least one channel");
  const base = await checkpointer.get(key, { checkpointId });
  if (!base) {
    throw new NotFoundError(`checkpoint ${checkpointId} not found in thread "${key}"`, {
      threadId: key,
      checkpointId,
    });
  }
  const c = base.checkpoint;
  const known = Object.keys(userChannels(c.channelVersions));
  const unknown = edits.map(([k]) => k).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `unknown channel${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")}: this state has ${known.map((k) => `"${k}"`).join(", ") || "no channels"}`,
      { threadId: key, checkpointId },
    );
  }
  const headId = await checkpointer.headId(key);
  const id = newCheckpointId(headId);
  const updates: ChannelUpdate[] = edits.map(([channel, value]) => ({
    channel,
    version: id,
    value,
  }));
  const step = c.metadata.step + 1;
  await checkpointer.put(
    {
      threadId: key,
      id,
      parentId: c.id,
      channelVersions: { ...c.channelVersions, ...Object.fromEntries(edits.map(([k]) => [k, id])) },
      versionsSeen: c.versionsSeen,
      metadata: { source: "fork", step, edited: edits.map(([k]) => k), by: "inspector" },
      schemaVersion: c.schemaVersion,
      format: c.format,
      extra: c.extra,
      updates,
    },
    { expectedHead: headId ?? null },
  );
  return {
    checkpointId: id,
    parentId: c.id,
    channels: edits.map(([k]) => k),
    effects: await previewFork(checkpointer, key, c.id),
  };
}

/** The answers recorded for the head's pending interrupts. */
export interface RecordedAnswer {
  readonly checkpointId: string;
  readonly answered: readonly string[];
}

/**
 * Records `answer` for the pending interrupt at the thread's head (or, given a map of interrupt
 * id -> answer, for each named one): the claim a resume writes, so the graph's next run
 * (`invoke(null, { threadId })`) continues the paused node with it. A claim another resume won
 * first fails with `AlreadyResumedError`.
 */
export async function recordAnswer(
  checkpointer: Checkpointer,
  key: string,
  answer: unknown,
): Promise<RecordedAnswer> {
  const head = await checkpointer.get(key);
  if (!head) throw new NotFoundError(`thread "${key}" has no checkpoints`, { threadId: key });
  const where = { threadId: key, checkpointId: head.checkpoint.id };
  const open = new PendingIndex(head.pendingWrites).interrupts;
  if (open.length === 0) {
    throw new AlreadyResumedError(`thread "${key}" has no pending interrupt to answer`, where);
  }
  const ids = new Set(open.map((i) => i.id));
  let answers: [string, unknown][];
  if (isAnswerMap(answer, ids)) answers = Object.entries(answer as Record<string, unknown>);
  else if (open.length === 1) answers = [[open[0]!.id, answer]];
  else {
    throw new InvalidInputError(
      `${open.length} interrupts are pending (${[...ids].join(", ")}); answer with a map of interrupt id -> answer`,
      where,
    );
  }
  const runId = `inspector:${randomUUID()}`;
  await checkpointer.putWrites(
    { threadId: key, checkpointId: head.checkpoint.id },
    answers.map(([id, value]) => ({
      taskId: claimTaskId(id),
      taskPath: "",
      idx: 0,
      channel: RESUME_CHANNEL,
      value: { runId, answer: value },
    })),
  );
  const fresh = await checkpointer.get(key, { checkpointId: head.checkpoint.id });
  const claims = new PendingIndex(fresh?.pendingWrites ?? []).claims;
  for (const [id] of answers) {
    if (claims.get(id)?.runId !== runId) {
      throw new AlreadyResumedError(`interrupt ${id} was already answered`, where);
    }
  }
  return { checkpointId: head.checkpoint.id, answered: answers.map(([id]) => id) };
}

function isAnswerMap(answer: unknown, ids: ReadonlySet<string>): boolean {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) return false;
  const keys = Object.keys(answer);
  return keys.length > 0 && keys.every((k) => ids.has(k));
}
