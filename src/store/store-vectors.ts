/**
 * Semantic search: pluggable embeddings turn item text and queries into vectors; backends keep
 * each item's vector as float32 bytes and rank candidates by cosine similarity with the shared
 * {@link rankBySimilarity}, so every backend orders results identically.
 */
import { InvalidInputError, StorageError } from "../errors.js";
import type { JsonSerializer } from "../serde/serializer.js";
import { compareCodePoints } from "./namespace-path.js";

/**
 * Turns texts into vectors of `dims` numbers, one per text, in order. Wrap any provider, e.g.
 * `embed: (texts) => openAiEmbeddings.embedDocuments([...texts])`.
 */
export type EmbedFunction = (texts: readonly string[]) => Promise<readonly (readonly number[])[]>;

/** Enables semantic search on a store. */
export interface StoreIndexConfig {
  embed: EmbedFunction;
  /** Length of every vector `embed` returns. */
  dims: number;
  /**
   * Dot paths of the value fields whose text is embedded (joined by newlines); a string field is
   * taken as is, anything else as JSON. Default: the whole value.
   */
  fields?: readonly string[];
}

/** Longest query text, in UTF-16 units. */
export const MAX_QUERY_LENGTH = 10_000;

/** The text of `value` to embed per `fields` (`undefined`: nothing to embed). */
export function textToEmbed(
  value: unknown,
  fields: readonly string[] | undefined,
  serializer: JsonSerializer,
): string | undefined {
  const show = (v: unknown) => (typeof v === "string" ? v : serializer.stringify(v));
  if (fields === undefined) return show(value);
  const parts: string[] = [];
  for (const field of fields) {
    let current: unknown = value;
    for (const segment of field.split(".")) {
      current =
        current !== null && typeof current === "object" && Object.hasOwn(current, segment)
          ? (current as Record<string, unknown>)[segment]
          : undefined;
    }
    if (current !== undefined) parts.push(show(current));
  }
  return parts.length > 0 ? parts.join("\n") : undefined;
}

/** Checks the embedder's answer and stores it as float32. */
export function toVector(raw: unknown, dims: number): Float32Array {
  if (!Array.isArray(raw) || raw.length !== dims || !raw.every((x) => Number.isFinite(x))) {
    throw new StorageError(
      `the embedding function returned ${Array.isArray(raw) ? `${raw.length} values` : typeof raw}, expected ${dims} finite numbers`,
    );
  }
  return Float32Array.from(raw as number[]);
}

/** Checks index settings. */
export function validateIndex(index: StoreIndexConfig | undefined): StoreIndexConfig | undefined {
  if (index === undefined) return undefined;
  if (typeof index.embed !== "function") {
    throw new InvalidInputError("index.embed must be a function from texts to vectors");
  }
  if (!Number.isInteger(index.dims) || index.dims < 1 || index.dims > 65_536) {
    throw new InvalidInputError("index.dims must be an integer from 1 to 65536");
  }
  if (index.fields !== undefined && !index.fields.every((f) => typeof f === "string" && f)) {
    throw new InvalidInputError("index.fields must be non-empty dot paths");
  }
  return index;
}

/** Float32 little-endian bytes of a vector, as stored. */
export function vectorToBytes(vector: Float32Array): Uint8Array {
  const bytes = new Uint8Array(vector.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i]!, true);
  return bytes;
}

/** Inverse of {@link vectorToBytes}. */
export function vectorFromBytes(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vector = new Float32Array(bytes.byteLength >> 2);
  for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(i * 4, true);
  return vector;
}

/** A candidate of a semantic search. */
export interface RankCandidate {
  readonly path: string;
  readonly key: string;
  readonly updatedAt: number;
  readonly vector: Float32Array;
}

/**
 * Candidates ordered by cosine similarity to `query` (highest first; ties by most recent update,
 * then namespace and key), paged, each with its `score`. Vectors of another length (an index
 * configured with other dims) are left out.
 */
export function rankBySimilarity<C extends RankCandidate>(
  candidates: readonly C[],
  query: Float32Array,
  offset: number,
  limit: number,
): (C & { score: number })[] {
  return candidates
    .filter((c) => c.vector.length === query.length)
    .map((c) => ({ ...c, score: cosine(c.vector, query) }))
    .sort(
      (a, b) =>
        b.score - a.score ||
        b.updatedAt - a.updatedAt ||
        compareCodePoints(a.path, b.path) ||
        compareCodePoints(a.key, b.key),
    )
    .slice(offset, offset + limit);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
