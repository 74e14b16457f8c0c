/**
 * Whether a value is worth deflating, judged from a sample in a few microseconds of plain
 * JavaScript instead of a zlib call: a zlib stream per call allocates its window and hash tables
 * (about 256 KiB), which on a busy machine cost 30-300 µs per large put (`node --cpu-prof`),
 * a tenth of a 100 KB put's whole time, only to learn that a base64 file does not compress.
 *
 * The estimate models what deflate does: repeats of at least four bytes within the sample cost
 * about three bytes each (a length and a distance), the other bytes cost their order-0 entropy
 * (Huffman coding). Checked against level-1 deflate on message text, JSON, base64 and hex text,
 * random bytes and repeated random blocks (test/storage/sqlite-compressibility.test.ts).
 */

const HASH_BITS = 13;
const MIN_MATCH = 4;
const MAX_MATCH = 258;
/** Deflate's cost of one repeat in bytes, roughly: a length code and a distance code. */
const MATCH_COST = 3;

const counts = new Uint32Array(256);
const last = new Int32Array(1 << HASH_BITS);

/**
 * Estimated bytes of `sample` after deflate (the first `sampleBytes` of it), for deciding
 * whether deflating it pays; never an exact figure.
 */
export function estimateDeflated(bytes: Uint8Array, sampleBytes = 4096): number {
  const n = Math.min(bytes.byteLength, sampleBytes);
  counts.fill(0);
  last.fill(-1);
  let matches = 0;
  let literals = 0;
  let i = 0;
  while (i + MIN_MATCH <= n) {
    const word = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    const slot = Math.imul(word, 0x9e3779b1) >>> (32 - HASH_BITS);
    const prev = last[slot]!;
    last[slot] = i;
    if (
      prev >= 0 &&
      bytes[prev] === bytes[i] &&
      bytes[prev + 1] === bytes[i + 1] &&
      bytes[prev + 2] === bytes[i + 2] &&
      bytes[prev + 3] === bytes[i + 3]
    ) {
      let length = MIN_MATCH;
      while (i + length < n && length < MAX_MATCH && bytes[prev + length] === bytes[i + length]) {
        length++;
      }
      matches++;
      i += length;
      continue;
    }
    counts[bytes[i]!]!++;
    literals++;
    i++;
  }
  for (; i < n; i++) {
    counts[bytes[i]!]!++;
    literals++;
  }
  let bits = 0;
  for (let b = 0; b < 256; b++) {
    const c = counts[b]!;
    if (c > 0) bits -= c * Math.log2(c / literals);
  }
  return bits / 8 + matches * MATCH_COST;
}
