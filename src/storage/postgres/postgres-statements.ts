/**
 * Runs the backend's queries as named prepared statements, so that the server parses and plans
 * each one once per connection instead of on every call (planning a checkpoint read alone cost
 * about 1 ms of server CPU, five times its execution).
 */
import { createHash } from "node:crypto";
import type { PgPoolLike, PgQueryResult } from "./pg-types.js";

/**
 * Server errors that mean the connection does not keep our prepared statements: another client
 * already made one of that name in the same session (a pooler or PGlite sharing one session), or
 * it is gone (PgBouncer in transaction mode, `DISCARD ALL`). Both fail before the statement runs.
 */
const SESSION_NOT_OURS = new Set(["42P05", "26000"]);

/** Statements named per client stay few: fixed texts plus the list shapes. */
const MAX_NAMED = 256;

/** A pool's queries, prepared by name when the connection allows it. */
export class PostgresStatements {
  readonly #names = new Map<string, string>();
  #prepare: boolean;

  /** `prepare: false` sends every query unnamed (for poolers that share server sessions). */
  constructor(prepare: boolean) {
    this.#prepare = prepare;
  }

  /**
   * Runs `text` with `values` on `pool`, abandoned after `timeoutMs` when given. A `text` passed
   * with `named: false` (one whose shape varies without bound) is never prepared. Driver errors
   * are thrown as they are; the client names them.
   */
  async query(
    pool: PgPoolLike,
    text: string,
    values: unknown[],
    named: boolean,
    timeoutMs: number | undefined,
  ): Promise<PgQueryResult> {
    const timeout = timeoutMs ? { query_timeout: timeoutMs } : {};
    const name = this.#prepare && named ? this.#nameOf(text) : undefined;
    if (name === undefined) return await pool.query({ text, values, ...timeout });
    try {
      return await pool.query({ name, text, values, ...timeout });
    } catch (error) {
      if (!SESSION_NOT_OURS.has((error as { code?: string }).code ?? "")) throw error;
      // The statement never ran; from now on these queries are sent unnamed.
      this.#prepare = false;
      return await pool.query({ text, values, ...timeout });
    }
  }

  #nameOf(text: string): string | undefined {
    let name = this.#names.get(text);
    if (name === undefined) {
      if (this.#names.size >= MAX_NAMED) return undefined;
      // The hash covers the text, schema included: one name never stands for two statements.
      name = `rewind_${createHash("sha256").update(text).digest("base64url").slice(0, 24)}`;
      this.#names.set(text, name);
    }
    return name;
  }
}
