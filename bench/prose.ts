/**
 * Message text for the benchmarks: about `bytes` bytes of words drawn from a fixed vocabulary by
 * a seeded generator, so that messages differ from each other and compress like prose (a
 * repeated phrase would let a compressing store collapse a whole message list to almost nothing
 * and flatter its byte counts).
 */
export function prose(bytes: number, seed: number): string {
  let state = (seed * 2654435761 + 1) >>> 0;
  const next = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state;
  };
  let out = `turn ${seed}:`;
  while (out.length < bytes) out += ` ${VOCABULARY[next() % VOCABULARY.length]}`;
  return out.slice(0, bytes);
}

const VOCABULARY = (() => {
  const syllables = ["ka", "lo", "mi", "ren", "to", "sa", "vel", "dor", "qui", "na", "bre", "ux"];
  const words: string[] = [];
  for (const a of syllables)
    for (const b of syllables) for (const c of ["", "s", "ed", "ing"]) words.push(a + b + c);
  return words;
})();
