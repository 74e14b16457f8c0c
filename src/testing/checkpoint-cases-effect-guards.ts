/**
 * Conformance cases about what the effect ledger refuses: intents and outcomes fenced by a lost
 * lease, a deleted thread, another thread or tenant, and bad input. Every refusal leaves the
 * ledger as it was.
 */
import { expect } from "vitest";
import type { EffectOutcome, StoredEffect } from "../checkpoint/checkpoint-backend.js";
import { threadKey } from "../checkpoint/thread-key.js";
import { InvalidInputError, LeaseLostError, ThreadDeletedError } from "../errors.js";
import { effectIntent, effectOutcome } from "./checkpoint-cases-effects.js";
import { type CaseContext, type ConformanceCase, caught } from "./checkpoint-fixtures.js";

async function fenced(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("fence");
  const running = await ctx.checkpointer.acquireLease(threadId, "run-1", 60_000);
  if (!running) throw new Error("the first lease was refused");
  const mine = effectIntent(threadId, "a1", { token: running.token });
  await ctx.backend.beginEffect({ effect: mine, fence: running });
  const taken = await ctx.checkpointer.acquireLease(threadId, "run-2", 60_000, { steal: true });
  if (!taken) throw new Error("the steal was refused");
  // The fenced-out holder can neither record an intent nor an outcome, nor take an entry again.
  const refused = [
    () =>
      ctx.backend.beginEffect({
        effect: effectIntent(threadId, "b2", { token: running.token }),
        fence: running,
      }),
    () => ctx.backend.beginEffect({ effect: mine, retake: true, fence: running }),
    () =>
      ctx.backend.finishEffect({
        ...effectOutcome(threadId, "a1", 1, { token: running.token }),
        fence: running,
      }),
  ];
  for (const attempt of refused) {
    const error = await caught(attempt);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error).toMatchObject({ code: "LEASE_LOST", threadId });
  }
  expect(await ctx.backend.listEffects(threadId)).toEqual([mine]);
  // The new holder takes the entry over and records its outcome.
  const retaken = await ctx.backend.beginEffect({
    effect: { ...mine, token: taken.token },
    retake: true,
    fence: taken,
  });
  expect(retaken.effect).toMatchObject({ attempt: 2, token: taken.token, status: "started" });
  const done = await ctx.backend.finishEffect({
    ...effectOutcome(threadId, "a1", 2, { token: taken.token }),
    fence: taken,
  });
  expect(done?.effect).toMatchObject({ status: "done", attempt: 2, token: taken.token });
  await ctx.checkpointer.releaseLease(taken);
  const released = await caught(() =>
    ctx.backend.beginEffect({ effect: effectIntent(threadId, "c3"), fence: taken }),
  );
  expect(released).toBeInstanceOf(LeaseLostError);
  expect(await ctx.backend.listEffects(threadId)).toEqual([done?.effect]);
}

async function deleted(ctx: CaseContext): Promise<void> {
  const gone = ctx.thread("gone");
  const kept = ctx.thread("kept");
  await ctx.backend.beginEffect({ effect: effectIntent(gone, "a1") });
  await ctx.backend.beginEffect({ effect: effectIntent(gone, "b2") });
  await ctx.backend.finishEffect(effectOutcome(gone, "a1", 1));
  const survivor = effectIntent(kept, "a1");
  await ctx.backend.beginEffect({ effect: survivor });
  await ctx.checkpointer.deleteThread(gone);
  expect(await ctx.backend.listEffects(gone)).toEqual([]);
  const late = [
    () => ctx.backend.beginEffect({ effect: effectIntent(gone, "a1") }),
    () => ctx.backend.beginEffect({ effect: effectIntent(gone, "b2"), retake: true }),
    () => ctx.backend.finishEffect(effectOutcome(gone, "b2", 1)),
  ];
  for (const attempt of late) {
    const error = await caught(attempt);
    expect(error).toBeInstanceOf(ThreadDeletedError);
    expect(error).toMatchObject({ code: "THREAD_DELETED", threadId: gone });
  }
  expect(await ctx.backend.listEffects(gone)).toEqual([]);
  expect(await ctx.backend.listEffects(kept)).toEqual([survivor]);
}

async function isolated(ctx: CaseContext): Promise<void> {
  const plain = ctx.thread("shared-name");
  const name = plain.slice(plain.lastIndexOf("/") + 1);
  // The same thread id in the default tenant and two named tenants: three separate ledgers.
  const threads = [plain, threadKey(name, `acme-${ctx.tag}`), threadKey(name, `globex-${ctx.tag}`)];
  const other = ctx.thread("other");
  for (const [i, threadId] of threads.entries()) {
    await ctx.backend.beginEffect({
      effect: effectIntent(threadId, "a1", { args: `{"tenant":${i}}` }),
    });
  }
  await ctx.backend.finishEffect(effectOutcome(threads[1]!, "a1", 1));
  for (const [i, threadId] of threads.entries()) {
    const ledger = await ctx.backend.listEffects(threadId);
    expect(ledger.map((e) => [e.threadId, e.args, e.status])).toEqual([
      [threadId, `{"tenant":${i}}`, i === 1 ? "done" : "started"],
    ]);
  }
  expect(await ctx.backend.listEffects(other)).toEqual([]);
  expect(await ctx.backend.listEffects(other, ["a1"])).toEqual([]);
  expect(await ctx.backend.finishEffect(effectOutcome(other, "a1", 1))).toBeUndefined();
  expect(await ctx.backend.listEffects(other)).toEqual([]);
}

async function badInput(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("bad");
  const stored = effectIntent(threadId, "a1");
  await ctx.backend.beginEffect({ effect: stored });
  const expectInvalid = async (attempt: () => Promise<unknown>) => {
    const error = await caught(attempt);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ code: "INVALID_INPUT" });
  };
  const badIntents: Partial<Record<keyof StoredEffect, unknown>>[] = [
    { key: "" },
    { key: "a\u0000b" },
    { key: 7 },
    { name: "" },
    { attempt: 0 },
    { attempt: 1.5 },
    { token: -1 },
    { status: "done" },
    { outcome: '"early"' },
    { finishedAt: "2026-03-01T10:00:00.000Z" },
    { args: 42 },
    { args: '{"nul":"\u0000"}' },
    { args: '"lone \ud800"' },
    { checkpointId: "" },
    { taskId: "" },
    { node: 5 },
    { threadId: "" },
    { threadId: "line\nbreak" },
  ];
  for (const fields of badIntents) {
    const key = typeof fields.key === "string" ? fields.key : "b2";
    const effect = { ...effectIntent(threadId, key), ...fields } as StoredEffect;
    await expectInvalid(() => ctx.backend.beginEffect({ effect }));
    await expectInvalid(() => ctx.backend.beginEffect({ effect, retake: true }));
  }
  await expectInvalid(() =>
    ctx.backend.beginEffect({
      effect: effectIntent(threadId, "b2"),
      fence: { owner: "", token: 1 },
    }),
  );
  const badOutcomes: Partial<Record<keyof EffectOutcome, unknown>>[] = [
    { key: "" },
    { attempt: 0 },
    { attempt: -1 },
    { status: "started" },
    { status: "maybe" },
    { outcome: null },
    { outcome: "\u0000" },
    { outcome: "\udc00" },
    { token: 0.5 },
    { finishedAt: 12 },
    { threadId: "" },
  ];
  for (const fields of badOutcomes) {
    const outcome = { ...effectOutcome(threadId, "a1", 1), ...fields } as EffectOutcome;
    await expectInvalid(() => ctx.backend.finishEffect(outcome));
  }
  await expectInvalid(() => ctx.backend.listEffects(threadId, [""]));
  await expectInvalid(() => ctx.backend.listEffects(""));
  // Nothing was recorded, and the stored entry is as it was.
  expect(await ctx.backend.listEffects(threadId)).toEqual([stored]);
}

/** Cases of the "effect ledger guards" group. */
export const effectGuardCases: readonly ConformanceCase[] = [
  {
    name: "intents and outcomes fenced by a lost lease throw LeaseLostError and change nothing",
    run: fenced,
  },
  {
    name: "a deleted thread's ledger is gone, and it refuses intents and outcomes",
    run: deleted,
  },
  {
    name: "a thread's ledger is invisible from other threads and other tenants' keys",
    run: isolated,
  },
  {
    name: "bad intents and outcomes are InvalidInputError and record nothing",
    run: badInput,
  },
];
