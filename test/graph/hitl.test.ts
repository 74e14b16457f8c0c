import { describe, expect, it } from "vitest";
import {
  AlreadyResumedError,
  appendChannel,
  Command,
  END,
  InvalidInputError,
  interrupt,
  lastValue,
  START,
  StateGraph,
} from "../../src/index.js";
import { BACKENDS, type TestBackend } from "../support/backends.js";
import { trialCount } from "../support/trial-count.js";

const RESUME_TRIALS = trialCount("REWIND_RACE_TRIALS", { smoke: 10, soak: 100 });

interface Flight {
  to: string;
  price: number;
}

function bookingGraph(backend: TestBackend, counter: { booked: number; planned: number }) {
  return new StateGraph({
    flight: lastValue<Flight | undefined>(),
    status: lastValue<string>(() => "new"),
  })
    .addNode("plan", () => {
      counter.planned++;
      return { flight: { to: "Tokyo", price: 900 } };
    })
    .addNode("book", (s) => {
      const answer = interrupt<{ approved: boolean; flight?: Flight }>({
        question: "Book it?",
        flight: s.flight,
      });
      if (!answer.approved) return { status: "rejected" };
      counter.booked++;
      return {
        status: `booked ${(answer.flight ?? s.flight)!.to}`,
        flight: answer.flight ?? s.flight,
      };
    })
    .addEdge(START, "plan")
    .addEdge("plan", "book")
    .addEdge("book", END)
    .compile({ checkpointer: backend.checkpointer() });
}

for (const backend of BACKENDS) {
  describe(`on ${backend.name}`, () => {
    describe("interrupt and resume", () => {
      it("approve: the run pauses with the interrupt, getState shows it, resume finishes the node", async () => {
        const counter = { booked: 0, planned: 0 };
        const app = bookingGraph(backend, counter);
        const paused = await app.invoke({}, { threadId: "t" });
        expect(paused.status).toBe("interrupted");
        expect(paused.interrupts).toHaveLength(1);
        expect(paused.interrupts[0]).toMatchObject({
          node: "book",
          kind: "interrupt",
          value: { question: "Book it?", flight: { to: "Tokyo" } },
        });
        const state = await app.getState({ threadId: "t" });
        expect(state?.next).toEqual(["book"]);
        expect(state?.interrupts.map((i) => i.id)).toEqual([paused.interrupts[0]!.id]);
        expect(state?.tasks[0]).toMatchObject({ node: "book", status: "interrupted" });

        const done = await app.invoke(Command.resume({ approved: true }), { threadId: "t" });
        expect(done.status).toBe("done");
        expect(done.values.status).toBe("booked Tokyo");
        expect(counter).toEqual({ booked: 1, planned: 1 });
        expect((await app.getState({ threadId: "t" }))?.interrupts).toEqual([]);
      });

      it("edit: the human's edited arguments reach the node", async () => {
        const app = bookingGraph(backend, { booked: 0, planned: 0 });
        await app.invoke({}, { threadId: "t" });
        const done = await app.invoke(
          Command.resume({ approved: true, flight: { to: "Osaka", price: 700 } }),
          { threadId: "t" },
        );
        expect(done.values).toMatchObject({
          status: "booked Osaka",
          flight: { to: "Osaka", price: 700 },
        });
      });

      it("reject: the node sees the rejection and nothing is booked", async () => {
        const counter = { booked: 0, planned: 0 };
        const app = bookingGraph(backend, counter);
        await app.invoke({}, { threadId: "t" });
        const done = await app.invoke(Command.resume({ approved: false }), { threadId: "t" });
        expect(done.values.status).toBe("rejected");
        expect(counter.booked).toBe(0);
      });

      it("several interrupt() calls in one node are answered in order", async () => {
        const app = new StateGraph({ answers: appendChannel<string>() })
          .addNode("ask", () => {
            const name = interrupt<string>("name?");
            const city = interrupt<string>("city?");
            return { answers: [name, city] };
          })
          .addEdge(START, "ask")
          .compile({ checkpointer: backend.checkpointer() });
        const first = await app.invoke({}, { threadId: "t" });
        expect(first.interrupts[0]!.value).toBe("name?");
        const second = await app.invoke(Command.resume("Ada"), { threadId: "t" });
        expect(second.status).toBe("interrupted");
        expect(second.interrupts[0]!.value).toBe("city?");
        const done = await app.invoke(Command.resume("London"), { threadId: "t" });
        expect(done.values.answers).toEqual(["Ada", "London"]);
      });

      it("parallel interrupts are answered by id; a sibling that finished is not run again", async () => {
        const runs: Record<string, number> = { a: 0, b: 0, c: 0 };
        const app = new StateGraph({ out: appendChannel<string>() })
          .addNode("a", () => {
            runs.a!++;
            return { out: `a:${interrupt<string>("a?")}` };
          })
          .addNode("b", () => {
            runs.b!++;
            return { out: `b:${interrupt<string>("b?")}` };
          })
          .addNode("c", () => {
            runs.c!++;
            return { out: "c" };
          })
          .addEdge(START, "a")
          .addEdge(START, "b")
          .addEdge(START, "c")
          .compile({ checkpointer: backend.checkpointer() });
        const paused = await app.invoke({}, { threadId: "t" });
        expect(paused.interrupts.map((i) => i.node).sort()).toEqual(["a", "b"]);
        await expect(app.invoke(Command.resume("x"), { threadId: "t" })).rejects.toThrow(
          InvalidInputError,
        );
        const [ia, ib] = [
          paused.interrupts.find((i) => i.node === "a")!,
          paused.interrupts.find((i) => i.node === "b")!,
        ];
        const partial = await app.invoke(Command.resume({ [ia.id]: "yes" }), { threadId: "t" });
        expect(partial.status).toBe("interrupted");
        expect(partial.interrupts.map((i) => i.id)).toEqual([ib.id]);
        const done = await app.invoke(Command.resume({ [ib.id]: "no" }), { threadId: "t" });
        expect(done.values.out).toEqual(["a:yes", "b:no", "c"]);
        expect(runs.c).toBe(1);
        expect(runs.a).toBe(2);
        expect(runs.b).toBe(3);
      });

      it("a resume may carry a state update and a goto", async () => {
        const app = new StateGraph({
          note: lastValue<string>(() => ""),
          path: appendChannel<string>(),
        })
          .addNode("ask", () => {
            interrupt("go?");
            return { path: "ask" };
          })
          .addNode("normal", () => ({ path: "normal" }))
          .addNode("escalate", (s) => ({ path: `escalate:${s.note}` }))
          .addEdge(START, "ask")
          .addEdge("ask", "normal")
          .compile({ checkpointer: backend.checkpointer() });
        await app.invoke({}, { threadId: "t" });
        const done = await app.invoke(
          new Command({ resume: true, update: { note: "vip" }, goto: "escalate" }),
          { threadId: "t" },
        );
        expect(done.values.path).toEqual(["ask", "escalate:vip", "normal"]);
      });
    });

    describe("resume is exactly-once", () => {
      it("resuming a thread that is not interrupted, or the same interrupt twice, is refused by name", async () => {
        const app = bookingGraph(backend, { booked: 0, planned: 0 });
        await expect(app.invoke(Command.resume(1), { threadId: "fresh" })).rejects.toThrow(
          AlreadyResumedError,
        );
        const paused = await app.invoke({}, { threadId: "t" });
        await app.invoke(Command.resume({ approved: true }), { threadId: "t" });
        await expect(
          app.invoke(Command.resume({ approved: true }), { threadId: "t" }),
        ).rejects.toThrow(AlreadyResumedError);
        await expect(
          app.invoke(Command.resume({ [paused.interrupts[0]!.id]: { approved: true } }), {
            threadId: "t",
          }),
        ).rejects.toThrow(AlreadyResumedError);
      });

      it("a resume retried after its run failed continues with the recorded answer; a different answer is refused", async () => {
        let failures = 1;
        const seen: unknown[] = [];
        const app = new StateGraph({
          note: lastValue<string>(() => ""),
          path: appendChannel<string>(),
        })
          .addNode("ask", () => {
            const answer = interrupt<string>("seat?");
            seen.push(answer);
            if (failures-- > 0) throw new Error("the booking API timed out");
            return { path: `ask:${answer}` };
          })
          .addNode("after", (s) => ({ path: `after:${s.note}` }))
          .addEdge(START, "ask")
          .addEdge("ask", "after")
          .compile({ checkpointer: backend.checkpointer() });
        await app.invoke({}, { threadId: "t" });
        const resume = () => new Command({ resume: "aisle", update: { note: "vip" } });
        await expect(app.invoke(resume(), { threadId: "t" })).rejects.toMatchObject({
          code: "NODE_FAILED",
        });
        const other = app.invoke(Command.resume("window"), { threadId: "t" });
        await expect(other).rejects.toThrow(AlreadyResumedError);
        await expect(other).rejects.toThrow(/different answer/);
        const done = await app.invoke(resume(), { threadId: "t" });
        expect(done.status).toBe("done");
        expect(done.values.path).toEqual(["ask:aisle", "after:vip"]);
        expect(seen).toEqual(["aisle", "aisle"]);
        await expect(app.invoke(resume(), { threadId: "t" })).rejects.toThrow(AlreadyResumedError);
      });

      for (const onBusy of ["reject", "enqueue"] as const) {
        it(
          `two racing resumes give one continuation; the side effect happens once (onBusy ${onBusy}, ${RESUME_TRIALS} trials)`,
          async () => {
            for (let trial = 0; trial < RESUME_TRIALS; trial++) {
              const counter = { booked: 0, planned: 0 };
              const app = bookingGraph(backend, counter);
              await app.invoke({}, { threadId: `t${trial}` });
              const results = await Promise.allSettled([
                app.invoke(Command.resume({ approved: true }), { threadId: `t${trial}`, onBusy }),
                app.invoke(Command.resume({ approved: true }), { threadId: `t${trial}`, onBusy }),
              ]);
              const ok = results.filter((r) => r.status === "fulfilled");
              const refused = results.filter(
                (r) => r.status === "rejected",
              ) as PromiseRejectedResult[];
              expect(ok).toHaveLength(1);
              expect(refused).toHaveLength(1);
              // reject: the loser finds the thread busy (or, if it came after the winner finished,
              // the interrupt answered); enqueue: it waits, then finds the interrupt answered.
              const allowed =
                onBusy === "reject" ? ["THREAD_BUSY", "ALREADY_RESUMED"] : ["ALREADY_RESUMED"];
              expect(allowed).toContain(refused[0]!.reason.code);
              expect(counter.booked).toBe(1);
            }
          },
          60_000 + RESUME_TRIALS * 3_000,
        );
      }
    });

    describe("static breakpoints", () => {
      const build = (options: { interruptBefore?: string[]; interruptAfter?: string[] }) =>
        new StateGraph({ path: appendChannel<string>() })
          .addNode("a", () => ({ path: "a" }))
          .addNode("b", () => ({ path: "b" }))
          .addEdge(START, "a")
          .addEdge("a", "b")
          .compile({ ...options, checkpointer: backend.checkpointer() });

      it("interruptBefore pauses before the node; invoke(null) continues", async () => {
        const app = build({ interruptBefore: ["b"] });
        const paused = await app.invoke({}, { threadId: "t" });
        expect(paused.status).toBe("interrupted");
        expect(paused.interrupts[0]).toMatchObject({ kind: "before", node: "b" });
        expect(paused.values.path).toEqual(["a"]);
        expect(paused.next).toEqual(["b"]);
        const done = await app.invoke(null, { threadId: "t" });
        expect(done.status).toBe("done");
        expect(done.values.path).toEqual(["a", "b"]);
      });

      it("interruptAfter per call pauses after the node", async () => {
        const app = build({});
        const paused = await app.invoke({}, { threadId: "t", interruptAfter: ["a"] });
        expect(paused.interrupts[0]).toMatchObject({ kind: "after", node: "a" });
        expect(paused.values.path).toEqual(["a"]);
        const done = await app.invoke(null, { threadId: "t" });
        expect(done.values.path).toEqual(["a", "b"]);
      });
    });
  });
}
