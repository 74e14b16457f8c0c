/**
 * Conformance cases of the effect ledger's semantics: an intent is recorded once, a `started`
 * entry can be taken again, only the attempt still running records an outcome (the first one
 * wins), the ledger lists in intent order, text round-trips exactly, and racing intents of one
 * key record exactly one.
 */
import { expect } from "vitest";
import type { StoredEffect } from "../checkpoint/checkpoint-backend.js";
import type { CaseContext, ConformanceCase } from "./checkpoint-fixtures.js";

/** A `started` intent of `key` on `threadId`, recorded at `startedAt`. */
export function effectIntent(
  threadId: string,
  key: string,
  fields: Partial<StoredEffect> = {},
): StoredEffect {
  return {
    threadId,
    key,
    name: "book-flight",
    args: JSON.stringify({ from: "LIS", to: "OSL", key }),
    status: "started",
    outcome: null,
    ns: "",
    checkpointId: "cp-1",
    taskId: "task-1",
    node: "book",
    attempt: 1,
    token: 0,
    startedAt: "2026-03-01T10:00:00.000Z",
    finishedAt: null,
    ...fields,
  };
}

/** An outcome of `key` for `attempt`. */
export function effectOutcome(
  threadId: string,
  key: string,
  attempt: number,
  fields: Partial<{ status: "done" | "failed"; outcome: string; token: number }> = {},
) {
  return {
    threadId,
    key,
    attempt,
    status: "done" as const,
    outcome: JSON.stringify({ booking: `B-${key}-${attempt}` }),
    token: 0,
    finishedAt: "2026-03-01T10:00:05.000Z",
    ...fields,
  };
}

async function recordedOnce(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("once");
  const first = effectIntent(threadId, "a1");
  expect(await ctx.backend.beginEffect({ effect: first })).toEqual({
    effect: first,
    recorded: true,
  });
  // Another run reaching the same effect (a resume, a fork) finds the entry as it was.
  const again = effectIntent(threadId, "a1", {
    args: '{"other":true}',
    taskId: "task-2",
    checkpointId: "cp-2",
    token: 4,
    startedAt: "2026-03-01T11:00:00.000Z",
  });
  expect(await ctx.backend.beginEffect({ effect: again })).toEqual({
    effect: first,
    recorded: false,
  });
  expect(await ctx.backend.listEffects(threadId)).toEqual([first]);
}

async function retake(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("retake");
  const first = effectIntent(threadId, "b2", { ns: "sub", token: 1 });
  await ctx.backend.beginEffect({ effect: first });
  // What a retake moves onto the entry: where and by whom the new intent was made.
  const moved = {
    ns: "",
    checkpointId: "cp-9",
    taskId: "task-9",
    node: "retry",
    token: 7,
    startedAt: "2026-03-01T12:00:00.000Z",
  };
  const taker = effectIntent(threadId, "b2", {
    ...moved,
    args: '{"ignored":"the stored arguments stay"}',
    name: "ignored-name",
  });
  const second = { ...first, ...moved, attempt: 2 };
  expect(await ctx.backend.beginEffect({ effect: taker, retake: true })).toEqual({
    effect: second,
    recorded: true,
  });
  const third = await ctx.backend.beginEffect({ effect: { ...taker, token: 8 }, retake: true });
  expect(third).toEqual({ effect: { ...second, token: 8, attempt: 3 }, recorded: true });
  // Without `retake` a started entry is returned unchanged.
  expect(await ctx.backend.beginEffect({ effect: taker })).toEqual({
    effect: third.effect,
    recorded: false,
  });
  const done = await ctx.backend.finishEffect(effectOutcome(threadId, "b2", 3, { token: 8 }));
  expect(done?.recorded).toBe(true);
  // An entry with an outcome is never taken again.
  expect(await ctx.backend.beginEffect({ effect: { ...taker, token: 9 }, retake: true })).toEqual({
    effect: done?.effect,
    recorded: false,
  });
  // `retake` on a key with no entry records the intent as given.
  const fresh = effectIntent(threadId, "b3");
  expect(await ctx.backend.beginEffect({ effect: fresh, retake: true })).toEqual({
    effect: fresh,
    recorded: true,
  });
  expect(await ctx.backend.listEffects(threadId, ["b2"])).toEqual([done?.effect]);
}

async function firstOutcomeWins(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("outcome");
  const intent = effectIntent(threadId, "c3", { token: 2 });
  await ctx.backend.beginEffect({ effect: intent });
  const retaken = await ctx.backend.beginEffect({
    effect: { ...intent, token: 3 },
    retake: true,
  });
  // A late outcome from the first attempt (a zombie finishing) changes nothing.
  const late = await ctx.backend.finishEffect(effectOutcome(threadId, "c3", 1, { token: 2 }));
  expect(late).toEqual({ effect: retaken.effect, recorded: false });
  const failure = JSON.stringify({ name: "PaymentDeclined", message: "card declined" });
  const failed = await ctx.backend.finishEffect(
    effectOutcome(threadId, "c3", 2, { status: "failed", outcome: failure, token: 3 }),
  );
  const stored: StoredEffect = {
    ...retaken.effect,
    status: "failed",
    outcome: failure,
    token: 3,
    finishedAt: "2026-03-01T10:00:05.000Z",
  };
  expect(failed).toEqual({ effect: stored, recorded: true });
  // A second outcome for the same attempt finds the first one recorded.
  const second = await ctx.backend.finishEffect(
    effectOutcome(threadId, "c3", 2, { token: 3, outcome: '"other"' }),
  );
  expect(second).toEqual({ effect: stored, recorded: false });
  expect(await ctx.backend.finishEffect(effectOutcome(threadId, "d4", 1))).toBeUndefined();
  const empty = ctx.thread("never-used");
  expect(await ctx.backend.finishEffect(effectOutcome(empty, "c3", 1))).toBeUndefined();
  expect(await ctx.backend.listEffects(threadId)).toEqual([stored]);
  expect(await ctx.backend.listEffects(empty)).toEqual([]);
}

async function listOrder(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("order");
  const at = (minute: number) => `2026-03-01T10:${String(minute).padStart(2, "0")}:00.000Z`;
  const entries = [
    effectIntent(threadId, "bb", { startedAt: at(2) }),
    effectIntent(threadId, "cc", { startedAt: at(1) }),
    effectIntent(threadId, "aa", { startedAt: at(1) }),
    effectIntent(threadId, "00", { startedAt: at(3) }),
  ];
  for (const effect of entries) await ctx.backend.beginEffect({ effect });
  const keys = async (filter?: string[]) =>
    (await ctx.backend.listEffects(threadId, filter)).map((e) => e.key);
  expect(await keys()).toEqual(["aa", "cc", "bb", "00"]);
  expect(await keys(["00", "missing", "aa"])).toEqual(["aa", "00"]);
  expect(await keys(["missing"])).toEqual([]);
  expect(await keys([])).toEqual([]);
  // Taking an entry again moves it to its new intent's place.
  await ctx.backend.beginEffect({
    effect: effectIntent(threadId, "aa", { startedAt: at(4) }),
    retake: true,
  });
  expect(await keys()).toEqual(["cc", "bb", "00", "aa"]);
}

async function exactText(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("text");
  const args = JSON.stringify({
    greeting: "héllo wörld, こんにちは, مرحبا, 🙂👩‍👩‍👧",
    escapes: 'quote " backslash \\ newline \n tab \t nul \u0000 line-sep \u2028',
    combining: "e\u0301 vs é",
    astral: "𝄞 𐍈",
  });
  const big = JSON.stringify({ text: "0123456789abcdef→🙂".repeat(60_000) });
  expect(big.length).toBeGreaterThan(1_000_000);
  const intent = effectIntent(threadId, "e5", { args });
  await ctx.backend.beginEffect({ effect: intent });
  const bigIntent = effectIntent(threadId, "e6", { args: big });
  await ctx.backend.beginEffect({ effect: bigIntent });
  await ctx.backend.finishEffect(effectOutcome(threadId, "e5", 1, { outcome: big }));
  await ctx.backend.finishEffect(effectOutcome(threadId, "e6", 1, { outcome: args }));
  const [small, large] = await ctx.backend.listEffects(threadId, ["e5", "e6"]);
  expect(small?.args).toBe(args);
  expect(small?.outcome).toBe(big);
  expect(large?.args).toBe(big);
  expect(large?.outcome).toBe(args);
}

async function racingIntents(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("race");
  const racers = Array.from({ length: 8 }, (_, i) =>
    effectIntent(threadId, "f7", { taskId: `task-${i}`, args: `{"racer":${i}}` }),
  );
  const results = await Promise.all(racers.map((effect) => ctx.backend.beginEffect({ effect })));
  const winners = results.filter((r) => r.recorded);
  expect(winners).toHaveLength(1);
  const [stored] = await ctx.backend.listEffects(threadId);
  for (const result of results) expect(result.effect).toEqual(stored);
  const outcomes = await Promise.all(
    racers.map((_, i) =>
      ctx.backend.finishEffect(effectOutcome(threadId, "f7", 1, { outcome: `"by ${i}"` })),
    ),
  );
  expect(outcomes.filter((r) => r?.recorded)).toHaveLength(1);
  const [finished] = await ctx.backend.listEffects(threadId);
  for (const result of outcomes) expect(result?.effect).toEqual(finished);
}

/** Cases of the "effect ledger" group. */
export const effectCases: readonly ConformanceCase[] = [
  {
    name: "an intent is recorded once; a later intent of its key gets it unchanged",
    run: recordedOnce,
  },
  {
    name: "retake takes a started entry again (attempt + 1), never one with an outcome",
    run: retake,
  },
  {
    name: "only the attempt still running records an outcome, and the first one wins",
    run: firstOutcomeWins,
  },
  { name: "the ledger lists oldest intent first, then by key; keys filter it", run: listOrder },
  { name: "arguments and outcomes round-trip exactly: unicode and ~1 MB of text", run: exactText },
  { name: "intents and outcomes racing on one key record exactly one", run: racingIntents },
];
