import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BYTES_TAG, JSON_TAG, type SerializedValue } from "../src/backend.js";
import { JsonSerializer, SerializationError } from "../src/index.js";
import { frame, unframe } from "../src/offload/large-value-frame.js";

const serde = () => new JsonSerializer();
const roundTrip = (value: unknown, s = serde()) => s.decode(s.encode(value));
const bytesOf = (text: string) => new TextEncoder().encode(text);

function failure(fn: () => unknown): SerializationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SerializationError);
    expect((error as SerializationError).code).toBe("SERIALIZATION");
    return error as SerializationError;
  }
  throw new Error("expected a SerializationError");
}

describe("JsonSerializer round-trips", () => {
  it("short texts, ASCII or not, are stored as the UTF-8 TextEncoder writes", () => {
    // Texts up to 64 characters take a path of their own (ASCII copied a character a byte).
    const s = serde();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 70 }),
          fc.string({ maxLength: 70, unit: "grapheme" }),
          fc.string({ maxLength: 70, unit: "binary" }),
        ),
        (text) => {
          const stored = s.encode(text);
          expect(new TextEncoder().encode(new TextDecoder().decode(stored.bytes))).toEqual(
            stored.bytes,
          );
          expect(s.decode(stored)).toBe(text);
        },
      ),
    );
  });

  it("keeps every supported type exactly, nested anywhere", () => {
    const value = {
      date: new Date("1999-12-31T23:59:59.999Z"),
      invalidDate: new Date(Number.NaN),
      map: new Map<unknown, unknown>([
        [{ objectKey: 1 }, "object keys survive"],
        [3n, new Set([undefined, null])],
      ]),
      set: new Set([1, "1", [1]]),
      big: -(2n ** 100n),
      bytes: new Uint8Array([0, 1, 254, 255]),
      buffer: Buffer.from("hi"),
      undef: undefined,
      arrayHoles: [undefined, 1, undefined],
      negZero: -0,
      nan: Number.NaN,
      inf: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
      regexp: /x\/y+/imsu,
      error: Object.assign(new TypeError("boom"), { code: "E_BOOM" }),
      text: 'quotes " and \\ and \u0000 and 😀',
    };
    const back = roundTrip(value) as typeof value;
    expect(back.date).toStrictEqual(value.date);
    expect(Number.isNaN(back.invalidDate.getTime())).toBe(true);
    expect(back.map).toStrictEqual(value.map);
    expect(back.set).toStrictEqual(value.set);
    expect(back.big).toBe(value.big);
    expect(back.bytes).toStrictEqual(value.bytes);
    // A Buffer comes back as the Uint8Array it is, with the same bytes.
    expect(back.buffer).toBeInstanceOf(Uint8Array);
    expect([...(back.buffer as Uint8Array)]).toEqual([104, 105]);
    expect("undef" in back && back.undef === undefined).toBe(true);
    expect(back.arrayHoles).toStrictEqual([undefined, 1, undefined]);
    expect(Object.is(back.negZero, -0)).toBe(true);
    expect(back.nan).toBeNaN();
    expect(back.inf).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    expect(back.regexp).toStrictEqual(value.regexp);
    expect(back.error).toBeInstanceOf(Error);
    expect(back.error).toMatchObject({ name: "TypeError", message: "boom", code: "E_BOOM" });
    expect(back.text).toBe(value.text);
  });

  it("stores a top-level Uint8Array as raw bytes under its own tag", () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x80, 0xc3, 0x28]);
    const encoded = serde().encode(bytes);
    expect(encoded.tag).toBe(BYTES_TAG);
    expect([...encoded.bytes]).toEqual([...bytes]);
    expect(serde().decode(encoded)).toStrictEqual(bytes);
  });

  it("writes plain data as ordinary JSON, so stored metadata stays queryable", () => {
    const encoded = serde().encode({ source: "loop", step: 3, nested: { ok: [true, null] } });
    expect(encoded.tag).toBe(JSON_TAG);
    expect(JSON.parse(new TextDecoder().decode(encoded.bytes))).toEqual({
      source: "loop",
      step: 3,
      nested: { ok: [true, null] },
    });
    expect(serde().parse(serde().stringify({ when: new Date(5) }))).toStrictEqual({
      when: new Date(5),
    });
  });

  it("does not mistake user data shaped like its tags for tagged values", () => {
    const value = { $rw: "date", v: "2020-01-01", nested: [{ $rw: "class", n: "Evil", v: {} }] };
    expect(roundTrip(value)).toStrictEqual(value);
  });

  it("finds a tagged value behind any number of other dollar signs, and none where there is none", () => {
    const prices = Array.from({ length: 50 }, (_, i) => `$${i} or "$rw" as text, $rw`);
    const value = { prices, $: "$", at: new Date(7), big: [1n, { $x: "$rw$" }] };
    expect(roundTrip(value)).toStrictEqual(value);
    // The same text with no tagged value: parsed as is, dollar signs and all.
    const plain = { prices, $: "$", big: [{ $x: "$rw$" }] };
    expect(roundTrip(plain)).toStrictEqual(plain);
    expect(serde().parse('"$rw"')).toBe("$rw");
    expect(serde().parse('["$rw", {"$rw": "undef"}]')).toStrictEqual(["$rw", undefined]);
  });

  it("keeps an own key named __proto__ as data, without touching prototypes", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "n": -0}') as Record<
      string,
      unknown
    >;
    value.n = -0; // forces the tagged path on decode
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(["__proto__", "n"]);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const escaped = JSON.parse('{"__proto__": 1, "$rw": "x"}');
    expect(Object.keys(roundTrip(escaped) as object)).toEqual(["__proto__", "$rw"]);
  });

  it("keeps shared references that are not cycles", () => {
    const shared = { n: 1 };
    expect(roundTrip({ a: shared, b: [shared] })).toStrictEqual({ a: { n: 1 }, b: [{ n: 1 }] });
  });

  it("round-trips arbitrary generated values", () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withTypedArray: false,
          withNullPrototype: false,
          withBoxedValues: false,
          withObjectString: false,
          withSparseArray: false,
          withUnicodeString: true,
        }),
        (value) => {
          expect(roundTrip(value)).toStrictEqual(value);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("registered classes", () => {
  class Money {
    static constructed = 0;
    constructor(
      readonly cents: bigint,
      readonly currency: string,
    ) {
      Money.constructed++;
    }
    label(): string {
      return `${this.cents} ${this.currency}`;
    }
  }

  it("come back as instances without their constructor being called", () => {
    const s = serde().register("Money", Money);
    const encoded = s.encode({ price: new Money(250n, "EUR") });
    const before = Money.constructed;
    const back = s.decode(encoded) as { price: Money };
    expect(Money.constructed).toBe(before);
    expect(back.price).toBeInstanceOf(Money);
    expect(back.price.label()).toBe("250 EUR");
  });

  it("use a codec when one is given", () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const s = serde().register("Point", Point, {
      toData: (p) => [p.x, p.y],
      fromData: ([x, y]: [number, number]) => new Point(x, y),
    });
    const encoded = s.encode(new Point(1, -0));
    expect(new TextDecoder().decode(encoded.bytes)).toContain('"n":"Point"');
    const back = s.decode(encoded) as Point;
    expect(back).toBeInstanceOf(Point);
    expect(Object.is(back.y, -0)).toBe(true);
  });

  it("an unregistered class is refused at encode time, naming the fix", () => {
    const error = failure(() => serde().encode({ price: new Money(1n, "USD") }));
    expect(error.message).toContain('register("Money"');
  });

  it("a stored class name that is not registered fails closed on decode", () => {
    const stored = serde().register("Money", Money).encode(new Money(1n, "USD"));
    const error = failure(() => serde().decode(stored));
    expect(error.message).toContain('"Money"');
  });

  it("a registration needs a name", () => {
    failure(() => serde().register("", Money));
  });
});

describe("refusals", () => {
  it("unknown serializer tags fail closed", () => {
    const error = failure(() => serde().decode({ tag: "pickle", bytes: bytesOf("{}") }));
    expect(error.message).toContain("pickle");
  });

  it("unknown value tags inside JSON fail closed", () => {
    const error = failure(() => serde().decode({ tag: "json", bytes: bytesOf('{"$rw":"evil"}') }));
    expect(error.message).toContain("evil");
  });

  it("bytes that are not UTF-8 or not JSON are reported, not half-decoded", () => {
    failure(() => serde().decode({ tag: "json", bytes: new Uint8Array([0xff, 0xfe]) }));
    failure(() => serde().decode({ tag: "json", bytes: bytesOf('{"a":') }));
  });

  it("cycles, functions and symbols are refused at encode time", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(failure(() => serde().encode(cyclic)).message).toContain("cyclic");
    failure(() => serde().encode({ fn: () => 1 }));
    failure(() => serde().encode([Symbol("s")]));
  });

  it("decoding never touches Object.prototype", () => {
    const stored: SerializedValue = {
      tag: "json",
      bytes: bytesOf('{"__proto__":{"polluted":true},"d":{"$rw":"undef"}}'),
    };
    const back = serde().decode(stored) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect("d" in back && back.d === undefined).toBe(true);
  });
});

describe("long texts and large-value frames", () => {
  const ascii = { file: "0123456789abcdef".repeat(8 * 1024), note: "a note" };
  const accented = { file: "é-ü-ß ".repeat(20 * 1024) };

  it("encodes long texts to exactly the UTF-8 TextEncoder gives, ASCII or not", () => {
    for (const value of [ascii, accented]) {
      const encoded = serde().encode(value);
      expect(Buffer.from(encoded.bytes).equals(bytesOf(JSON.stringify(value)))).toBe(true);
      expect(roundTrip(value)).toEqual(value);
    }
  });

  it("decodes long texts exactly, ASCII or not, and refuses long bytes that are not UTF-8", () => {
    // Over the size from which all-ASCII bytes take Node's one-byte path.
    const big = { file: "0123456789abcdef".repeat(40 * 1024), accent: "é at the end" };
    const bigAscii = { file: "0123456789abcdef".repeat(40 * 1024) };
    for (const value of [big, bigAscii, { file: `${"x".repeat(700_000)}\u0000"\\😀` }]) {
      expect(serde().decode({ tag: "json", bytes: bytesOf(JSON.stringify(value)) })).toEqual(value);
    }
    const broken = bytesOf(JSON.stringify(bigAscii));
    broken[broken.length - 5] = 0xff;
    expect(failure(() => serde().decode({ tag: "json", bytes: broken }))).toBeInstanceOf(
      SerializationError,
    );
  });

  it("frames a long text in place, without copying it, and only once", () => {
    const encoded = serde().encode(ascii);
    const copy = Buffer.from(encoded.bytes);
    const framed = frame(encoded);
    // Same memory: the header went into the room in front of the bytes.
    expect(framed.buffer).toBe(encoded.bytes.buffer);
    expect(Buffer.from(encoded.bytes).equals(copy)).toBe(true);
    const body = unframe(framed)!;
    expect(body.tag).toBe(encoded.tag);
    expect(Buffer.from(body.bytes).equals(copy)).toBe(true);
    // A second frame of the same bytes must not overwrite the first one's header: it copies.
    const again = frame({ tag: "other", bytes: encoded.bytes });
    expect(again.buffer).not.toBe(encoded.bytes.buffer);
    expect(unframe(framed)!.tag).toBe(encoded.tag);
    expect(unframe(again)!.tag).toBe("other");
  });
});

describe("long strings written apart from the rest of the text", () => {
  const long = (seed: number, length = 70 * 1024) =>
    Array.from({ length: Math.ceil(length / 16) }, (_, i) => `${seed}-${i}-abcdefgh`.slice(0, 16))
      .join("")
      .slice(0, length);

  it("gives exactly JSON.stringify's UTF-8, whatever surrounds the long strings", () => {
    const values: unknown[] = [
      long(1),
      { file: long(2), n: 1, note: "é ü and a \u0000 byte" },
      [long(3), { deep: [long(4), "short"] }, long(5)],
      { $rw: "looks like a tag", file: long(6) },
      new Map([["k", long(7)]]),
      { withQuote: `${long(8)}"`, withNewline: `${long(9)}\n`, lone: `${long(10)}\ud800` },
      { accented: "é".repeat(70 * 1024), emoji: "😀".repeat(40 * 1024) },
      { placeholder: "\u0000rw-leaf-0123456789abcdef01234567-0", file: long(11) },
    ];
    for (const value of values) {
      const s = serde();
      const encoded = s.encode(value);
      expect(new TextDecoder().decode(encoded.bytes)).toBe(s.stringify(value));
      expect(s.decode(encoded)).toEqual(value);
    }
  });

  it("round-trips generated values holding long strings", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(long(12))), { maxLength: 6 }),
        fc.string(),
        (items, tail) => {
          const s = serde();
          const value = { items, big: long(13) + tail };
          const encoded = s.encode(value);
          expect(new TextDecoder().decode(encoded.bytes)).toBe(s.stringify(value));
        },
      ),
      { numRuns: 30 },
    );
  });
});
