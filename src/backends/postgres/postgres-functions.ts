/**
 * The PostgreSQL checkpoint backend's stored functions, each in its one current definition. The
 * migration runner applies them with `CREATE OR REPLACE` after the numbered migrations, in the
 * same transaction under the same lock, whenever a definition differs from the one the schema
 * records as applied (`rewind_functions`). Changing a function is therefore one edit here.
 * `CREATE OR REPLACE` cannot change a function's result (a numbered migration drops the old
 * function first, `postgres-migrations.ts`), and new parameters make an overload beside the old
 * function, whose signature then joins the functions no longer defined here in
 * {@link POSTGRES_RETIRED_FUNCTIONS}, which the runner drops wherever they are still found,
 * whatever version the schema reached with them.
 */

import { loadQuery } from "./postgres-queries.js";

/** One stored function: its name (the key of its `rewind_functions` record) and its definition. */
export interface PostgresFunction {
  readonly name: string;
  /** `CREATE OR REPLACE FUNCTION …` for the quoted schema name `s`. */
  definition(s: string): string;
}

/**
 * The start of every write: the thread row is created if missing and locked (`lock`: `FOR
 * UPDATE` for a checkpoint, which moves the head; `FOR SHARE` for task writes, which may run side
 * by side), then a tombstone and a lost lease (another token, or expired) refuse the write.
 */
const writeGuard = (s: string, lock: "FOR UPDATE" | "FOR SHARE") => `
    INSERT INTO ${s}.rewind_threads (thread_id) VALUES (p_thread) ON CONFLICT DO NOTHING;
    SELECT deleted, lease_token, lease_expires_at INTO t FROM ${s}.rewind_threads
      WHERE thread_id = p_thread ${lock};
    IF t.deleted THEN RETURN 'deleted'; END IF;
    IF p_fence IS NOT NULL AND (t.lease_token <> p_fence OR t.lease_expires_at IS NULL
        OR t.lease_expires_at <= (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT) THEN
      RETURN 'lease';
    END IF;`;

/**
 * Functions an older schema may still hold and nothing calls, as `name(argument types)`:
 * version 4 split the delete in two (a renamed copy of the old one, called first), and a schema
 * that reached version 5 or 6 before the functions were defined here kept that copy; the puts of
 * checkpoints and writes and the prune changed their parameters since.
 */
export const POSTGRES_RETIRED_FUNCTIONS: readonly string[] = [
  "rewind_delete_thread_rows(TEXT)",
  // These took their values as a bytea array (see rewind_put_checkpoint).
  "rewind_put_checkpoint(TEXT, TEXT, TEXT, TEXT, TEXT, JSONB, JSONB, TEXT, TEXT, BOOLEAN, TEXT, BIGINT, TEXT[], TEXT[], SMALLINT[], TEXT[], INTEGER[], TEXT[], BYTEA[])",
  "rewind_put_writes(TEXT, TEXT, TEXT, BIGINT, TEXT[], TEXT[], INTEGER[], TEXT[], TEXT[], BYTEA[])",
  // Before the put could release the lease with its write (p_release).
  "rewind_put_checkpoint(TEXT, TEXT, TEXT, TEXT, TEXT, JSONB, JSONB, TEXT, TEXT, BOOLEAN, TEXT, BIGINT, TEXT[], TEXT[], SMALLINT[], TEXT[], INTEGER[], TEXT[], BYTEA, INTEGER[], INTEGER[])",
  "rewind_prune_checkpoints(TEXT, TEXT, TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], BYTEA[])",
];

/** The current definitions, in the order they are applied. */
export const POSTGRES_FUNCTIONS: readonly PostgresFunction[] = [
  {
    // Writes take the thread row's lock in the same statement as their checks, so a tombstone,
    // a lease takeover and a compare-and-set on the head are each atomic with the write.
    // `p_metadata_text` is the exact metadata when jsonb cannot hold it (NUL, lone surrogates).
    // The values come as one byte string cut at `p_starts` (1-based; NULL: no value) for
    // `p_lengths` bytes: the client sends a bytea parameter as raw bytes, where an array of them
    // went as hex text in an array literal (twice the bytes, parsed character by character).
    // A value already stored at its (channel, version) stays as it is (first write wins). Every
    // write of blobs holds the thread row's FOR UPDATE lock (these puts and the prune), so a
    // look-then-insert per value cannot race; the multi-row `INSERT ... SELECT FROM unnest(...)
    // ON CONFLICT DO NOTHING` it replaced took 1.14-1.31x its time with 1 to 10 values per put,
    // 1.02x at 20, and 0.93-0.96x at 30 (bench/postgres-put-ab.ts, BENCH_CHANNELS): a
    // super-step writes the channels it changed, most often a few.
    // With `p_release` (and a fence, checked above under the row lock) the write is its lease
    // holder's last and releases the lease in the same transaction. It defaults to false, so a
    // process of the previous version, which calls with one argument fewer, still writes here
    // once the schema is upgraded (its old overload is retired, so the call finds this one).
    name: "rewind_put_checkpoint",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_put_checkpoint(
    p_thread TEXT, p_ns TEXT, p_id TEXT, p_parent TEXT, p_created TEXT, p_versions JSONB,
    p_metadata JSONB, p_metadata_text TEXT, p_body TEXT, p_cas BOOLEAN, p_expected TEXT,
    p_fence BIGINT, p_channels TEXT[], p_bversions TEXT[], p_kinds SMALLINT[], p_prevs TEXT[],
    p_depths INTEGER[], p_tags TEXT[], p_values BYTEA, p_starts INTEGER[], p_lengths INTEGER[],
    p_release BOOLEAN DEFAULT FALSE
  ) RETURNS TEXT LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD; h TEXT;
  BEGIN${writeGuard(s, "FOR UPDATE")}
    SELECT head_id INTO h FROM ${s}.rewind_heads WHERE thread_id = p_thread AND ns = p_ns;
    IF p_cas AND h IS DISTINCT FROM p_expected THEN RETURN 'conflict:' || COALESCE(h, ''); END IF;
    FOR i IN 1 .. coalesce(array_length(p_channels, 1), 0) LOOP
      PERFORM 1 FROM ${s}.rewind_blobs WHERE thread_id = p_thread AND ns = p_ns
        AND channel = p_channels[i] AND version = p_bversions[i];
      IF NOT FOUND THEN
        INSERT INTO ${s}.rewind_blobs (thread_id, ns, channel, version, kind, prev_version, depth, tag, value)
          VALUES (p_thread, p_ns, p_channels[i], p_bversions[i], p_kinds[i], p_prevs[i], p_depths[i],
            p_tags[i], substring(p_values FROM p_starts[i] FOR p_lengths[i]));
      END IF;
    END LOOP;
    INSERT INTO ${s}.rewind_checkpoints (thread_id, ns, id, parent_id, created_at, versions, metadata, metadata_text, body)
      VALUES (p_thread, p_ns, p_id, p_parent, p_created, p_versions, p_metadata, p_metadata_text, p_body)
      ON CONFLICT (thread_id, ns, id) DO UPDATE SET parent_id = EXCLUDED.parent_id,
        created_at = EXCLUDED.created_at, versions = EXCLUDED.versions, metadata = EXCLUDED.metadata,
        metadata_text = EXCLUDED.metadata_text, body = EXCLUDED.body;
    INSERT INTO ${s}.rewind_heads (thread_id, ns, head_id) VALUES (p_thread, p_ns, p_id)
      ON CONFLICT (thread_id, ns) DO UPDATE
      SET head_id = GREATEST(${s}.rewind_heads.head_id COLLATE "C", EXCLUDED.head_id COLLATE "C");
    IF p_release AND p_fence IS NOT NULL THEN
      UPDATE ${s}.rewind_threads SET lease_owner = NULL, lease_expires_at = NULL
        WHERE thread_id = p_thread;
    END IF;
    RETURN 'ok';
  END $fn$;`,
  },
  {
    // A task's pending writes; negative indexes (errors, interrupts) are overwritten, others kept.
    // Values come as in rewind_put_checkpoint.
    name: "rewind_put_writes",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_put_writes(
    p_thread TEXT, p_ns TEXT, p_checkpoint TEXT, p_fence BIGINT, p_tasks TEXT[], p_paths TEXT[],
    p_idx INTEGER[], p_channels TEXT[], p_tags TEXT[], p_values BYTEA, p_starts INTEGER[],
    p_lengths INTEGER[]
  ) RETURNS TEXT LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD;
  BEGIN${writeGuard(s, "FOR SHARE")}
    INSERT INTO ${s}.rewind_writes (thread_id, ns, checkpoint_id, task_id, task_path, idx, channel, tag, value)
      SELECT p_thread, p_ns, p_checkpoint, w.task, w.path, w.idx, w.channel, w.tag,
        substring(p_values FROM w.start FOR w.length)
      FROM unnest(p_tasks, p_paths, p_idx, p_channels, p_tags, p_starts, p_lengths)
        AS w (task, path, idx, channel, tag, start, length)
      ON CONFLICT (thread_id, ns, checkpoint_id, task_id, idx) DO UPDATE
      SET task_path = EXCLUDED.task_path, channel = EXCLUDED.channel, tag = EXCLUDED.tag, value = EXCLUDED.value
      WHERE EXCLUDED.idx < 0;
    RETURN 'ok';
  END $fn$;`,
  },
  {
    // The lease records where its holder's work starts (the root head when it was granted, or
    // the start of the run a rollback preempted) and which process holds it (host, pid, process
    // start). A grant may replace a holder by token (one the caller found gone).
    name: "rewind_acquire_lease",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_acquire_lease(p_thread TEXT, p_owner TEXT, p_ttl BIGINT,
    p_steal BOOLEAN, p_replacing BIGINT, p_inherit BOOLEAN, p_host TEXT, p_pid INTEGER,
    p_process_start TEXT)
  RETURNS TABLE (status TEXT, token BIGINT, expires_at BIGINT, stolen_from TEXT, started_from TEXT)
  LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD; now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
    held BOOLEAN; head TEXT;
  BEGIN
    INSERT INTO ${s}.rewind_threads (thread_id) VALUES (p_thread) ON CONFLICT DO NOTHING;
    SELECT * INTO t FROM ${s}.rewind_threads WHERE thread_id = p_thread FOR UPDATE;
    IF t.deleted THEN
      RETURN QUERY SELECT 'deleted'::TEXT, 0::BIGINT, 0::BIGINT, NULL::TEXT, NULL::TEXT; RETURN;
    END IF;
    held := t.lease_expires_at IS NOT NULL AND t.lease_expires_at > now_ms AND t.lease_owner <> p_owner;
    IF held AND NOT p_steal AND t.lease_token IS DISTINCT FROM p_replacing THEN
      RETURN QUERY SELECT 'busy'::TEXT, 0::BIGINT, 0::BIGINT, NULL::TEXT, NULL::TEXT; RETURN;
    END IF;
    IF held AND p_inherit THEN head := t.lease_started_from;
    ELSE SELECT head_id INTO head FROM ${s}.rewind_heads WHERE thread_id = p_thread AND ns = '';
    END IF;
    UPDATE ${s}.rewind_threads SET lease_owner = p_owner, lease_token = t.lease_token + 1,
      lease_expires_at = now_ms + p_ttl, lease_started_from = head, lease_host = p_host,
      lease_pid = p_pid, lease_process_start = p_process_start WHERE thread_id = p_thread;
    RETURN QUERY SELECT 'ok'::TEXT, t.lease_token + 1, now_ms + p_ttl,
      CASE WHEN held THEN t.lease_owner ELSE NULL END, head;
  END $fn$;`,
  },
  {
    // A run's start in one round trip: the grant (rewind_acquire_lease), then, only when
    // granted and under the thread row's lock it took, the thread's archive mark and its root
    // head with values and writes (the rows of the load query, postgres-queries.ts). The lease
    // comes first as a row tagged 'l'. Each statement here takes its own snapshot, so the head
    // read is at least as new as the grant: a write committed before the grant is seen.
    name: "rewind_acquire_lease_head",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_acquire_lease_head(p_thread TEXT, p_owner TEXT,
    p_ttl BIGINT, p_steal BOOLEAN, p_replacing BIGINT, p_inherit BOOLEAN, p_host TEXT,
    p_pid INTEGER, p_process_start TEXT)
  RETURNS TABLE (k TEXT, rn INTEGER, thread_id TEXT, ns TEXT, id TEXT, parent_id TEXT,
    created_at TEXT, versions TEXT, metadata TEXT, body TEXT, channel TEXT, version TEXT,
    kind SMALLINT, prev_version TEXT, depth INTEGER, o INTEGER, task_id TEXT, task_path TEXT,
    idx INTEGER, tag TEXT, value BYTEA, status TEXT, token BIGINT, expires_at BIGINT,
    stolen_from TEXT, started_from TEXT, archive_state SMALLINT, archive_stub TEXT)
  LANGUAGE plpgsql AS $fn$
  #variable_conflict use_column
  DECLARE g RECORD; a_state SMALLINT; a_stub TEXT;
  BEGIN
    SELECT * INTO g FROM ${s}.rewind_acquire_lease(p_thread, p_owner, p_ttl, p_steal,
      p_replacing, p_inherit, p_host, p_pid, p_process_start);
    IF g.status = 'ok' THEN
      SELECT t.archive_state, t.archive_stub INTO a_state, a_stub FROM ${s}.rewind_threads t
        WHERE t.thread_id = p_thread;
    END IF;
    RETURN QUERY SELECT 'l'::TEXT, NULL::INTEGER, NULL::TEXT, NULL::TEXT, NULL::TEXT,
      NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::TEXT, NULL::TEXT,
      NULL::SMALLINT, NULL::TEXT, NULL::INTEGER, NULL::INTEGER, NULL::TEXT, NULL::TEXT,
      NULL::INTEGER, NULL::TEXT, NULL::BYTEA, g.status, g.token, g.expires_at, g.stolen_from,
      g.started_from, a_state, a_stub;
    IF g.status <> 'ok' THEN RETURN; END IF;
    RETURN QUERY SELECT q.k::TEXT, q.rn::INTEGER, q.thread_id::TEXT, q.ns::TEXT, q.id::TEXT,
      q.parent_id::TEXT, q.created_at::TEXT, q.versions::TEXT, q.metadata::TEXT, q.body::TEXT,
      q.channel::TEXT, q.version::TEXT, q.kind::SMALLINT, q.prev_version::TEXT,
      q.depth::INTEGER, q.o::INTEGER, q.task_id::TEXT, q.task_path::TEXT, q.idx::INTEGER,
      q.tag::TEXT, q.value::BYTEA, NULL::TEXT, NULL::BIGINT, NULL::BIGINT, NULL::TEXT,
      NULL::TEXT, NULL::SMALLINT, NULL::TEXT
    FROM (${loadQuery(s, false).replaceAll("$1", "p_thread").replaceAll("$2", "''")}) q;
  END $fn$;`,
  },
  {
    // jsonb_each_text is costed at 100 rows a call, so a page of 100 checkpoints looked costly
    // enough to JIT-compile (tens of ms) a query that runs in one. This wrapper is costed at a
    // real size; its SET clause keeps the planner from inlining it back into jsonb_each_text. A
    // `versions` value that is not an object names no channels (the core reports the checkpoint)
    // instead of failing every read of a page.
    name: "rewind_versions",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_versions(p_versions JSONB) RETURNS TABLE (channel TEXT, version TEXT)
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 8 SET search_path = pg_catalog
    AS $fn$ SELECT key, value FROM jsonb_each_text(
      CASE WHEN jsonb_typeof(p_versions) = 'object' THEN p_versions ELSE '{}'::jsonb END) $fn$;`,
  },
  {
    // The tombstone takes the thread row's lock first (waiting out any write holding it); each
    // DELETE after it is a statement of its own, so it sees the rows that write committed. The
    // thread's quarantine, effect ledger and pins go with it.
    name: "rewind_delete_thread",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_delete_thread(p_thread TEXT) RETURNS VOID LANGUAGE plpgsql AS $fn$
  BEGIN
    INSERT INTO ${s}.rewind_threads (thread_id, deleted) VALUES (p_thread, true)
      ON CONFLICT (thread_id) DO UPDATE SET deleted = true, lease_owner = NULL, lease_expires_at = NULL,
        archive_state = NULL, archive_stub = NULL;
    DELETE FROM ${s}.rewind_heads WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_checkpoints WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_blobs WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_writes WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_quarantine WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_effects WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_pins WHERE thread_id = p_thread;
  END $fn$;`,
  },
  {
    // Moves checkpoints of (thread, ns) aside and the head back to the newest one left, provided
    // the head is still p_expected (a run that wrote meanwhile wins; the repair is retried).
    name: "rewind_quarantine_checkpoints",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_quarantine_checkpoints(
    p_thread TEXT, p_ns TEXT, p_expected TEXT, p_ids TEXT[], p_reasons TEXT[]
  ) RETURNS TEXT LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD; h TEXT;
  BEGIN
    SELECT deleted INTO t FROM ${s}.rewind_threads WHERE thread_id = p_thread FOR UPDATE;
    IF FOUND AND t.deleted THEN RETURN 'deleted'; END IF;
    SELECT head_id INTO h FROM ${s}.rewind_heads WHERE thread_id = p_thread AND ns = p_ns;
    IF h IS DISTINCT FROM p_expected THEN RETURN 'conflict:' || COALESCE(h, ''); END IF;
    INSERT INTO ${s}.rewind_quarantine (thread_id, ns, id, parent_id, created_at, versions,
        metadata, body, reason, quarantined_at)
      SELECT c.thread_id, c.ns, c.id, c.parent_id, c.created_at, c.versions::text,
        COALESCE(c.metadata_text, c.metadata::text), c.body, q.reason,
        (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT
      FROM ${s}.rewind_checkpoints c JOIN unnest(p_ids, p_reasons) AS q (id, reason) ON c.id = q.id
      WHERE c.thread_id = p_thread AND c.ns = p_ns
      ON CONFLICT (thread_id, ns, id) DO UPDATE SET parent_id = EXCLUDED.parent_id,
        created_at = EXCLUDED.created_at, versions = EXCLUDED.versions,
        metadata = EXCLUDED.metadata, body = EXCLUDED.body, reason = EXCLUDED.reason,
        quarantined_at = EXCLUDED.quarantined_at;
    DELETE FROM ${s}.rewind_checkpoints WHERE thread_id = p_thread AND ns = p_ns AND id = ANY (p_ids);
    SELECT max(id) INTO h FROM ${s}.rewind_checkpoints WHERE thread_id = p_thread AND ns = p_ns;
    IF h IS NULL THEN
      DELETE FROM ${s}.rewind_heads WHERE thread_id = p_thread AND ns = p_ns;
    ELSE
      UPDATE ${s}.rewind_heads SET head_id = h WHERE thread_id = p_thread AND ns = p_ns;
    END IF;
    RETURN 'ok';
  END $fn$;`,
  },
  {
    // The effect ledger's gate (see postgres-effects.ts): the checks of every task write, under
    // a share lock on the thread row, so an intent or outcome never lands on a deleted thread or
    // under a lost lease.
    name: "rewind_effect_gate",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_effect_gate(p_thread TEXT, p_fence BIGINT) RETURNS TEXT
  LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD;
  BEGIN${writeGuard(s, "FOR SHARE")}
    RETURN 'ok';
  END $fn$;`,
  },
  {
    // Inserts the intent, or with p_retake takes a 'started' entry again; a racing insert of the
    // same key waits for the first to commit, then reads the entry back (recorded = false).
    name: "rewind_begin_effect",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_begin_effect(
    p_thread TEXT, p_key TEXT, p_name TEXT, p_args TEXT, p_ns TEXT, p_checkpoint TEXT,
    p_task TEXT, p_node TEXT, p_attempt INTEGER, p_token BIGINT, p_started TEXT,
    p_retake BOOLEAN, p_fence BIGINT
  ) RETURNS TABLE (gate TEXT, recorded BOOLEAN, entry ${s}.rewind_effects)
  LANGUAGE plpgsql AS $fn$
  DECLARE g TEXT := ${s}.rewind_effect_gate(p_thread, p_fence); r ${s}.rewind_effects;
  BEGIN
    IF g <> 'ok' THEN RETURN QUERY SELECT g, false, NULL::${s}.rewind_effects; RETURN; END IF;
    INSERT INTO ${s}.rewind_effects AS x (thread_id, key, name, args, status, outcome, ns,
        checkpoint_id, task_id, node, attempt, token, started_at, finished_at)
      VALUES (p_thread, p_key, p_name, p_args, 'started', NULL, p_ns, p_checkpoint, p_task,
        p_node, p_attempt, p_token, p_started, NULL)
      ON CONFLICT (thread_id, key) DO UPDATE SET attempt = x.attempt + 1,
        token = EXCLUDED.token, started_at = EXCLUDED.started_at, ns = EXCLUDED.ns,
        checkpoint_id = EXCLUDED.checkpoint_id, task_id = EXCLUDED.task_id, node = EXCLUDED.node
      WHERE p_retake AND x.status = 'started'
      RETURNING x.* INTO r;
    IF FOUND THEN RETURN QUERY SELECT g, true, r; RETURN; END IF;
    SELECT x.* INTO r FROM ${s}.rewind_effects x WHERE x.thread_id = p_thread AND x.key = p_key;
    RETURN QUERY SELECT g, false, r;
  END $fn$;`,
  },
  {
    // Records the outcome only while the entry is 'started' at p_attempt (the first one wins);
    // entry is all NULL when the thread has no entry of p_key.
    name: "rewind_finish_effect",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_finish_effect(
    p_thread TEXT, p_key TEXT, p_attempt INTEGER, p_status TEXT, p_outcome TEXT,
    p_token BIGINT, p_finished TEXT, p_fence BIGINT
  ) RETURNS TABLE (gate TEXT, recorded BOOLEAN, entry ${s}.rewind_effects)
  LANGUAGE plpgsql AS $fn$
  DECLARE g TEXT := ${s}.rewind_effect_gate(p_thread, p_fence); r ${s}.rewind_effects;
  BEGIN
    IF g <> 'ok' THEN RETURN QUERY SELECT g, false, NULL::${s}.rewind_effects; RETURN; END IF;
    UPDATE ${s}.rewind_effects x SET status = p_status, outcome = p_outcome, token = p_token,
        finished_at = p_finished
      WHERE x.thread_id = p_thread AND x.key = p_key AND x.status = 'started'
        AND x.attempt = p_attempt
      RETURNING x.* INTO r;
    IF FOUND THEN RETURN QUERY SELECT g, true, r; RETURN; END IF;
    SELECT x.* INTO r FROM ${s}.rewind_effects x WHERE x.thread_id = p_thread AND x.key = p_key;
    RETURN QUERY SELECT g, false, r;
  END $fn$;`,
  },
  {
    // One prune batch as one call (see postgres-retention.ts): under the thread row's lock it
    // checks that no listed checkpoint is a head, pinned, a branch head or a fork point, then
    // writes the rebased values (passed as in rewind_put_checkpoint) and deletes checkpoints,
    // their writes and the listed values.
    name: "rewind_prune_checkpoints",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_prune_checkpoints(
    p_thread TEXT, p_ns TEXT, p_ids TEXT[], p_channels TEXT[], p_versions TEXT[],
    p_rchannels TEXT[], p_rversions TEXT[], p_rtags TEXT[], p_rvalues BYTEA, p_rstarts INTEGER[],
    p_rlengths INTEGER[]
  ) RETURNS TEXT LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD; h TEXT; bad RECORD; nc INTEGER; nb INTEGER; nw INTEGER;
  BEGIN
    SELECT deleted INTO t FROM ${s}.rewind_threads WHERE thread_id = p_thread FOR UPDATE;
    IF NOT FOUND THEN RETURN 'ok:0:0:0'; END IF;
    IF t.deleted THEN RETURN 'deleted'; END IF;
    SELECT head_id INTO h FROM ${s}.rewind_heads WHERE thread_id = p_thread AND ns = p_ns;
    WITH kids AS (
      SELECT k.parent_id, count(*) AS n FROM ${s}.rewind_checkpoints k
      WHERE k.thread_id = p_thread AND k.ns = p_ns AND k.parent_id = ANY (p_ids)
      GROUP BY k.parent_id)
    SELECT c.id, CASE WHEN c.id = h THEN 'head'
        WHEN EXISTS (SELECT 1 FROM ${s}.rewind_pins p WHERE p.thread_id = p_thread AND p.checkpoint_id = c.id) THEN 'pinned'
        WHEN coalesce(kids.n, 0) = 0 THEN 'leaf'
        ELSE 'fork' END AS why
      INTO bad
      FROM ${s}.rewind_checkpoints c LEFT JOIN kids ON kids.parent_id = c.id
      WHERE c.thread_id = p_thread AND c.ns = p_ns AND c.id = ANY (p_ids)
        AND (c.id = h OR coalesce(kids.n, 0) <> 1 OR EXISTS (SELECT 1 FROM ${s}.rewind_pins p
          WHERE p.thread_id = p_thread AND p.checkpoint_id = c.id))
      ORDER BY c.id LIMIT 1;
    IF FOUND THEN RETURN 'conflict:' || bad.why || ':' || bad.id; END IF;
    INSERT INTO ${s}.rewind_blobs (thread_id, ns, channel, version, kind, prev_version, depth, tag, value)
      SELECT p_thread, p_ns, r.channel, r.version, 0, NULL, 0, r.tag,
        substring(p_rvalues FROM r.start FOR r.length)
      FROM unnest(p_rchannels, p_rversions, p_rtags, p_rstarts, p_rlengths)
        AS r (channel, version, tag, start, length)
      ON CONFLICT (thread_id, ns, channel, version) DO UPDATE SET kind = 0, prev_version = NULL,
        depth = 0, tag = EXCLUDED.tag, value = EXCLUDED.value;
    DELETE FROM ${s}.rewind_writes WHERE thread_id = p_thread AND ns = p_ns AND checkpoint_id = ANY (p_ids);
    GET DIAGNOSTICS nw = ROW_COUNT;
    DELETE FROM ${s}.rewind_checkpoints WHERE thread_id = p_thread AND ns = p_ns AND id = ANY (p_ids);
    GET DIAGNOSTICS nc = ROW_COUNT;
    DELETE FROM ${s}.rewind_blobs b USING unnest(p_channels, p_versions) AS d (channel, version)
      WHERE b.thread_id = p_thread AND b.ns = p_ns AND b.channel = d.channel AND b.version = d.version;
    GET DIAGNOSTICS nb = ROW_COUNT;
    RETURN 'ok:' || nc || ':' || nb || ':' || nw;
  END $fn$;`,
  },
  {
    // Moves an archived thread's rows out under its row lock, leaving the archiver's stub (see
    // postgres-archive.ts): refused for a missing, deleted, archived or leased thread.
    name: "rewind_archive_thread",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_archive_thread(p_thread TEXT, p_stub TEXT, p_fence BIGINT) RETURNS TEXT
  LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD; now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
  BEGIN
    SELECT deleted, archive_state, lease_expires_at, lease_token INTO t FROM ${s}.rewind_threads
      WHERE thread_id = p_thread FOR UPDATE;
    IF NOT FOUND THEN RETURN 'missing'; END IF;
    IF t.deleted THEN RETURN 'deleted'; END IF;
    IF t.archive_state IS NOT NULL THEN RETURN 'archived'; END IF;
    IF NOT EXISTS (SELECT 1 FROM ${s}.rewind_checkpoints WHERE thread_id = p_thread) THEN
      RETURN 'missing';
    END IF;
    IF t.lease_expires_at IS NOT NULL AND t.lease_expires_at > now_ms
        AND t.lease_token IS DISTINCT FROM p_fence THEN
      RETURN 'busy';
    END IF;
    DELETE FROM ${s}.rewind_heads WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_checkpoints WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_blobs WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_writes WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_quarantine WHERE thread_id = p_thread;
    UPDATE ${s}.rewind_threads SET archive_state = 1, archive_stub = p_stub, lease_owner = NULL,
      lease_expires_at = NULL WHERE thread_id = p_thread;
    RETURN 'ok';
  END $fn$;`,
  },
  {
    // The trigger on checkpoints and writes: while a thread is archived, every insert or update
    // of its rows is refused (SQLSTATE RW001, the thread id in DETAIL), whoever writes.
    name: "rewind_refuse_archived",
    definition: (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_refuse_archived() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    IF EXISTS (SELECT 1 FROM ${s}.rewind_threads WHERE thread_id = NEW.thread_id AND archive_state = 1) THEN
      RAISE EXCEPTION 'thread "%" is archived; restore it before writing', NEW.thread_id
        USING ERRCODE = 'RW001', DETAIL = NEW.thread_id;
    END IF;
    RETURN NEW;
  END $fn$;`,
  },
];
