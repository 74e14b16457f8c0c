/**
 * Two invocations of one LangGraph graph racing on one thread, through RewindSaver, on every
 * backend. Whatever the interleaving: at least one run succeeds, a run that fails fails with
 * ConflictError, every successful turn is in the thread, and nothing of a refused run is (its
 * message never reaches the winner's model, and sending it again does not duplicate it). With
 * LangGraph's default "async" durability a refused run may still have run a node before its
 * refusal reached it; nothing it did is kept.
 * `REWIND_SAVER_RACE_RUNS` sets the trials per backend (default: a smoke count).
 */
import { AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/errors.js";
import { BACKENDS } from "../support/backends.js";
import { saverOn } from "../support/savers.js";
import { trialCount } from "../support/trial-count.js";

const TRIALS = trialCount("REWIND_SAVER_RACE_RUNS", { smoke: 12, soak: 100 });

/** Yields to the event loop `turns` times: spreads the interleavings without measuring time. */
async function hops(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

const texts = (messages: readonly BaseMessage[]) => messages.map((m) => String(m.content));

for (const backend of BACKENDS) {
  describe(`RewindSaver races on ${backend.name}`, () => {
    it(
      `a run refused with ConflictError leaves nothing behind (${TRIALS} trials)`,
      async () => {
        const { saver } = saverOn(backend);
        // What each model call saw: the winner's must never hold a refused run's message.
        const seen: string[][] = [];
        const app = new StateGraph(MessagesAnnotation)
          .addNode("bot", async (state) => {
            seen.push(texts(state.messages));
            await hops(seen.length % 5);
            return { messages: [new AIMessage(`re ${String(state.messages.at(-1)?.content)}`)] };
          })
          .addEdge(START, "bot")
          .addEdge("bot", END)
          .compile({ checkpointer: saver });
        let refusals = 0;
        for (let trial = 0; trial < TRIALS; trial++) {
          const config = { configurable: { thread_id: `race-${trial}` } };
          await app.invoke({ messages: [new HumanMessage("hello")] }, config);
          seen.length = 0;
          const inputs = [`A${trial}`, `B${trial}`];
          const runs = inputs.map(async (text, i) => {
            await hops(i * (trial % 7));
            return app.invoke({ messages: [new HumanMessage(text)] }, config);
          });
          const outcomes = await Promise.allSettled(runs);
          expect(outcomes.some((o) => o.status === "fulfilled")).toBe(true);
          const head = texts((await app.getState(config)).values.messages);
          for (const [i, outcome] of outcomes.entries()) {
            const text = inputs[i]!;
            if (outcome.status === "fulfilled") {
              expect(head).toContain(text);
              expect(head).toContain(`re ${text}`);
              continue;
            }
            refusals++;
            expect(outcome.reason).toBeInstanceOf(ConflictError);
            expect(head).not.toContain(text);
            for (const [j, other] of outcomes.entries()) {
              if (other.status === "fulfilled") {
                expect(texts(other.value.messages)).not.toContain(text);
                // The winner's model call (the one answering its input) never saw the refused text.
                const answering = seen.filter((call) => call.at(-1) === inputs[j]);
                expect(answering.length).toBeGreaterThan(0);
                expect(answering.flat()).not.toContain(text);
              }
            }
            // Sent again, it lands once.
            const retried = texts(
              (await app.invoke({ messages: [new HumanMessage(text)] }, config)).messages,
            );
            expect(retried.filter((t) => t === text)).toHaveLength(1);
            expect(retried.slice(-2)).toEqual([text, `re ${text}`]);
          }
        }
        // Not an assertion on speed: the interleavings must have produced some races at all.
        if (TRIALS >= 12) expect(refusals).toBeGreaterThan(0);
        // A budget per trial, so a larger trial count never trips the default timeout.
      },
      30_000 + TRIALS * 10_000,
    );
  });
}
