import { describe, expect, it } from "vitest";
import { lastValue, MigrationError, START, StateGraph } from "../../src/index.js";
import { BACKENDS, type TestBackend } from "../support/backends.js";

const checkpointerFor = (backend: TestBackend) => backend.checkpointer();

for (const backend of BACKENDS) {
  describe(`on ${backend.name}`, () => {
    describe("versioned state", () => {
      it("state written by v1 is migrated when v2 reads it, and stored in the new shape from then on", async () => {
        const checkpointer = checkpointerFor(backend);
        const v1 = new StateGraph({ name: lastValue<string>(), greeting: lastValue<string>() })
          .addNode("greet", (s) => ({ greeting: `hello ${s.name}` }))
          .addEdge(START, "greet")
          .compile({ checkpointer });
        await v1.invoke({ name: "Ada Lovelace" }, { threadId: "t" });

        const v2 = new StateGraph({
          first: lastValue<string>(),
          last: lastValue<string>(),
          greeting: lastValue<string>(),
        })
          .addNode("greet", (s) => ({ greeting: `hello ${s.first} (${s.last})` }))
          .addEdge(START, "greet")
          .compile({
            checkpointer,
            schemaVersion: 2,
            migrations: {
              2: ({ name, ...rest }) => {
                const [first, last] = String(name).split(" ");
                return { ...rest, first, last };
              },
            },
          });
        const state = await v2.getState({ threadId: "t" });
        expect(state?.values).toEqual({
          first: "Ada",
          last: "Lovelace",
          greeting: "hello Ada Lovelace",
        });
        const next = await v2.invoke({}, { threadId: "t" });
        expect(next.values.greeting).toBe("hello Ada (Lovelace)");
        const head = await checkpointer.get("t");
        expect(head?.checkpoint.schemaVersion).toBe(2);
        expect(head?.checkpoint.values).toMatchObject({ first: "Ada", last: "Lovelace" });
        expect(head?.checkpoint.values).not.toHaveProperty("name");
      });

      it("state from newer code, a missing step, or a failing migration is refused by name and left intact", async () => {
        const checkpointer = checkpointerFor(backend);
        const build = (schemaVersion: number, migrations = {}) =>
          new StateGraph({ x: lastValue<number>() })
            .addNode("n", () => undefined)
            .addEdge(START, "n")
            .compile({ checkpointer, schemaVersion, migrations });
        await build(3, {
          2: (v: Record<string, unknown>) => v,
          3: (v: Record<string, unknown>) => v,
        }).invoke({ x: 1 }, { threadId: "t" });
        await expect(
          build(2, { 2: (v: Record<string, unknown>) => v }).getState({ threadId: "t" }),
        ).rejects.toThrow(MigrationError);
        await expect(
          build(2, { 2: (v: Record<string, unknown>) => v }).invoke({ x: 2 }, { threadId: "t" }),
        ).rejects.toThrow(/newer/);
        expect(() => build(2, { 5: (v: Record<string, unknown>) => v })).toThrow(MigrationError);
        const failing = build(4, {
          2: (v: Record<string, unknown>) => v,
          3: (v: Record<string, unknown>) => v,
          4: () => {
            throw new Error("bad data");
          },
        });
        await expect(failing.getState({ threadId: "t" })).rejects.toThrow(
          /migration to state schema 4 failed: bad data/,
        );
        expect((await checkpointer.get("t"))?.checkpoint.values.x).toBe(1);
      });
    });
  });
}
