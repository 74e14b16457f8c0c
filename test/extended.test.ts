import { describe, expect, it } from "vitest";
import { extended } from "../src/extended.js";

describe("extended", () => {
  it("is { ...base, ...more }: a new object, later keys winning, the base unchanged", () => {
    const base = { a: 1, b: 2 };
    const copy = extended(base, { b: 3, c: 4 });
    expect(copy).toEqual({ a: 1, b: 3, c: 4 });
    expect(Object.keys(copy)).toEqual(["a", "b", "c"]);
    expect(copy).not.toBe(base);
    expect(base).toEqual({ a: 1, b: 2 });
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });

  it('keeps an own "__proto__" key as a key, as a spread does, never as the prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object;
    for (const copy of [extended(parsed, { b: 2 }), extended({ b: 2 }, parsed)]) {
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
      expect(Object.hasOwn(copy, "__proto__")).toBe(true);
      expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
      expect(JSON.parse(JSON.stringify(copy))).toEqual(JSON.parse(JSON.stringify({ ...copy })));
    }
    expect(JSON.stringify(extended(parsed, { b: 2 }))).toBe(
      '{"__proto__":{"polluted":true},"a":1,"b":2}',
    );
  });
});
