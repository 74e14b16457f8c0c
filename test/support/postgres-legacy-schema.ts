/**
 * The PostgreSQL checkpoint schema exactly as Rewind released it at versions 1 to 6, when each
 * numbered migration still created its stored functions whole. Frozen here (never edit it) so
 * upgrade tests can build a schema an older Rewind left behind, old function bodies included.
 */

import { adminPool, freshSchema } from "./postgres.js";

/**
 * A fresh schema taken to `version` by the released migrations, functions and all, as an older
 * Rewind left it; dropped with the test file's other schemas.
 */
export async function legacySchemaAt(version: number): Promise<string> {
  const schema = freshSchema();
  const admin = adminPool();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.query(
    `CREATE TABLE "${schema}".rewind_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  );
  for (const [i, migration] of LEGACY_POSTGRES_MIGRATIONS.slice(0, version).entries()) {
    await admin.query(migration(`"${schema}"`));
    await admin.query(`INSERT INTO "${schema}".rewind_migrations (version) VALUES ($1)`, [i + 1]);
  }
  return schema;
}

/** Versions 1 to 6, oldest first; `s` is the quoted schema name. */
export const LEGACY_POSTGRES_MIGRATIONS: readonly ((s: string) => string)[] = [
  (s) => `
  CREATE TABLE ${s}.rewind_threads (
    thread_id TEXT PRIMARY KEY,
    deleted BOOLEAN NOT NULL DEFAULT false,
    lease_owner TEXT,
    lease_token BIGINT NOT NULL DEFAULT 0,
    lease_expires_at BIGINT
  );
  CREATE TABLE ${s}.rewind_heads (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    head_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, ns)
  );
  CREATE TABLE ${s}.rewind_checkpoints (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    parent_id TEXT,
    created_at TEXT NOT NULL,
    versions JSONB NOT NULL,
    metadata JSONB NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (thread_id, ns, id)
  );
  CREATE INDEX rewind_checkpoints_id ON ${s}.rewind_checkpoints (id COLLATE "C");
  CREATE INDEX rewind_checkpoints_metadata ON ${s}.rewind_checkpoints USING GIN (metadata jsonb_path_ops);
  CREATE TABLE ${s}.rewind_blobs (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    channel TEXT NOT NULL,
    version TEXT NOT NULL,
    kind SMALLINT NOT NULL,
    prev_version TEXT,
    depth INTEGER NOT NULL,
    tag TEXT,
    value BYTEA,
    PRIMARY KEY (thread_id, ns, channel, version)
  );
  CREATE TABLE ${s}.rewind_writes (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id TEXT COLLATE "C" NOT NULL,
    idx INTEGER NOT NULL,
    task_path TEXT COLLATE "C" NOT NULL,
    channel TEXT NOT NULL,
    tag TEXT NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id, task_id, idx)
  );
  -- Writes take the thread row's lock in the same statement as their checks, so a tombstone,
  -- a lease takeover and a compare-and-set on the head are each atomic with the write.
  CREATE FUNCTION ${s}.rewind_put_checkpoint(
    p_thread TEXT, p_ns TEXT, p_id TEXT, p_parent TEXT, p_created TEXT, p_versions JSONB,
    p_metadata JSONB, p_body TEXT, p_cas BOOLEAN, p_expected TEXT, p_fence BIGINT,
    p_channels TEXT[], p_bversions TEXT[], p_kinds SMALLINT[], p_prevs TEXT[], p_depths INTEGER[],
    p_tags TEXT[], p_values BYTEA[]
  ) RETURNS TEXT LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD; h TEXT;
  BEGIN
    INSERT INTO ${s}.rewind_threads (thread_id) VALUES (p_thread) ON CONFLICT DO NOTHING;
    SELECT deleted, lease_token, lease_expires_at INTO t FROM ${s}.rewind_threads
      WHERE thread_id = p_thread FOR UPDATE;
    IF t.deleted THEN RETURN 'deleted'; END IF;
    IF p_fence IS NOT NULL AND (t.lease_token <> p_fence OR t.lease_expires_at IS NULL
        OR t.lease_expires_at <= (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT) THEN
      RETURN 'lease';
    END IF;
    SELECT head_id INTO h FROM ${s}.rewind_heads WHERE thread_id = p_thread AND ns = p_ns;
    IF p_cas AND h IS DISTINCT FROM p_expected THEN RETURN 'conflict:' || COALESCE(h, ''); END IF;
    INSERT INTO ${s}.rewind_blobs (thread_id, ns, channel, version, kind, prev_version, depth, tag, value)
      SELECT p_thread, p_ns, b.* FROM unnest(p_channels, p_bversions, p_kinds, p_prevs, p_depths, p_tags, p_values) AS b
      ON CONFLICT DO NOTHING;
    INSERT INTO ${s}.rewind_checkpoints (thread_id, ns, id, parent_id, created_at, versions, metadata, body)
      VALUES (p_thread, p_ns, p_id, p_parent, p_created, p_versions, p_metadata, p_body)
      ON CONFLICT (thread_id, ns, id) DO UPDATE SET parent_id = EXCLUDED.parent_id,
        created_at = EXCLUDED.created_at, versions = EXCLUDED.versions,
        metadata = EXCLUDED.metadata, body = EXCLUDED.body;
    INSERT INTO ${s}.rewind_heads (thread_id, ns, head_id) VALUES (p_thread, p_ns, p_id)
      ON CONFLICT (thread_id, ns) DO UPDATE
      SET head_id = GREATEST(${s}.rewind_heads.head_id COLLATE "C", EXCLUDED.head_id COLLATE "C");
    RETURN 'ok';
  END $fn$;
  CREATE FUNCTION ${s}.rewind_put_writes(
    p_thread TEXT, p_ns TEXT, p_checkpoint TEXT, p_fence BIGINT, p_tasks TEXT[], p_paths TEXT[],
    p_idx INTEGER[], p_channels TEXT[], p_tags TEXT[], p_values BYTEA[]
  ) RETURNS TEXT LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD;
  BEGIN
    INSERT INTO ${s}.rewind_threads (thread_id) VALUES (p_thread) ON CONFLICT DO NOTHING;
    SELECT deleted, lease_token, lease_expires_at INTO t FROM ${s}.rewind_threads
      WHERE thread_id = p_thread FOR SHARE;
    IF t.deleted THEN RETURN 'deleted'; END IF;
    IF p_fence IS NOT NULL AND (t.lease_token <> p_fence OR t.lease_expires_at IS NULL
        OR t.lease_expires_at <= (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT) THEN
      RETURN 'lease';
    END IF;
    INSERT INTO ${s}.rewind_writes (thread_id, ns, checkpoint_id, task_id, task_path, idx, channel, tag, value)
      SELECT p_thread, p_ns, p_checkpoint, w.* FROM unnest(p_tasks, p_paths, p_idx, p_channels, p_tags, p_values) AS w
      ON CONFLICT (thread_id, ns, checkpoint_id, task_id, idx) DO UPDATE
      SET task_path = EXCLUDED.task_path, channel = EXCLUDED.channel, tag = EXCLUDED.tag, value = EXCLUDED.value
      WHERE EXCLUDED.idx < 0;
    RETURN 'ok';
  END $fn$;
  CREATE FUNCTION ${s}.rewind_acquire_lease(p_thread TEXT, p_owner TEXT, p_ttl BIGINT, p_steal BOOLEAN)
  RETURNS TABLE (status TEXT, token BIGINT, expires_at BIGINT, stolen_from TEXT) LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD; now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT; held BOOLEAN;
  BEGIN
    INSERT INTO ${s}.rewind_threads (thread_id) VALUES (p_thread) ON CONFLICT DO NOTHING;
    SELECT * INTO t FROM ${s}.rewind_threads WHERE thread_id = p_thread FOR UPDATE;
    IF t.deleted THEN RETURN QUERY SELECT 'deleted'::TEXT, 0::BIGINT, 0::BIGINT, NULL::TEXT; RETURN; END IF;
    held := t.lease_expires_at IS NOT NULL AND t.lease_expires_at > now_ms AND t.lease_owner <> p_owner;
    IF held AND NOT p_steal THEN RETURN QUERY SELECT 'busy'::TEXT, 0::BIGINT, 0::BIGINT, NULL::TEXT; RETURN; END IF;
    UPDATE ${s}.rewind_threads SET lease_owner = p_owner, lease_token = t.lease_token + 1,
      lease_expires_at = now_ms + p_ttl WHERE thread_id = p_thread;
    RETURN QUERY SELECT 'ok'::TEXT, t.lease_token + 1, now_ms + p_ttl,
      CASE WHEN held THEN t.lease_owner ELSE NULL END;
  END $fn$;`,
  // 2: exact metadata beside its jsonb copy (jsonb refuses \u0000 and lone surrogates); listing
  // indexes for every thread and for one thread across namespaces; reads costed so that the
  // server does not JIT-compile them; a delete that sees every write committed before it (the
  // single-statement delete of version 1 could miss a racing write).
  (s) => `
  ALTER TABLE ${s}.rewind_checkpoints ADD COLUMN metadata_text TEXT;
  DROP INDEX ${s}.rewind_checkpoints_id;
  CREATE INDEX rewind_checkpoints_all ON ${s}.rewind_checkpoints (id, thread_id, ns);
  CREATE INDEX rewind_checkpoints_thread ON ${s}.rewind_checkpoints (thread_id, id, ns);
  DROP FUNCTION ${s}.rewind_put_checkpoint(TEXT, TEXT, TEXT, TEXT, TEXT, JSONB, JSONB, TEXT,
    BOOLEAN, TEXT, BIGINT, TEXT[], TEXT[], SMALLINT[], TEXT[], INTEGER[], TEXT[], BYTEA[]);
  CREATE FUNCTION ${s}.rewind_put_checkpoint(
    p_thread TEXT, p_ns TEXT, p_id TEXT, p_parent TEXT, p_created TEXT, p_versions JSONB,
    p_metadata JSONB, p_metadata_text TEXT, p_body TEXT, p_cas BOOLEAN, p_expected TEXT,
    p_fence BIGINT, p_channels TEXT[], p_bversions TEXT[], p_kinds SMALLINT[], p_prevs TEXT[],
    p_depths INTEGER[], p_tags TEXT[], p_values BYTEA[]
  ) RETURNS TEXT LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD; h TEXT;
  BEGIN
    INSERT INTO ${s}.rewind_threads (thread_id) VALUES (p_thread) ON CONFLICT DO NOTHING;
    SELECT deleted, lease_token, lease_expires_at INTO t FROM ${s}.rewind_threads
      WHERE thread_id = p_thread FOR UPDATE;
    IF t.deleted THEN RETURN 'deleted'; END IF;
    IF p_fence IS NOT NULL AND (t.lease_token <> p_fence OR t.lease_expires_at IS NULL
        OR t.lease_expires_at <= (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT) THEN
      RETURN 'lease';
    END IF;
    SELECT head_id INTO h FROM ${s}.rewind_heads WHERE thread_id = p_thread AND ns = p_ns;
    IF p_cas AND h IS DISTINCT FROM p_expected THEN RETURN 'conflict:' || COALESCE(h, ''); END IF;
    INSERT INTO ${s}.rewind_blobs (thread_id, ns, channel, version, kind, prev_version, depth, tag, value)
      SELECT p_thread, p_ns, b.* FROM unnest(p_channels, p_bversions, p_kinds, p_prevs, p_depths, p_tags, p_values) AS b
      ON CONFLICT DO NOTHING;
    INSERT INTO ${s}.rewind_checkpoints (thread_id, ns, id, parent_id, created_at, versions, metadata, metadata_text, body)
      VALUES (p_thread, p_ns, p_id, p_parent, p_created, p_versions, p_metadata, p_metadata_text, p_body)
      ON CONFLICT (thread_id, ns, id) DO UPDATE SET parent_id = EXCLUDED.parent_id,
        created_at = EXCLUDED.created_at, versions = EXCLUDED.versions, metadata = EXCLUDED.metadata,
        metadata_text = EXCLUDED.metadata_text, body = EXCLUDED.body;
    INSERT INTO ${s}.rewind_heads (thread_id, ns, head_id) VALUES (p_thread, p_ns, p_id)
      ON CONFLICT (thread_id, ns) DO UPDATE
      SET head_id = GREATEST(${s}.rewind_heads.head_id COLLATE "C", EXCLUDED.head_id COLLATE "C");
    RETURN 'ok';
  END $fn$;
  -- jsonb_each_text is costed at 100 rows a call, so a page of 100 checkpoints looked costly
  -- enough to JIT-compile (tens of ms) a query that runs in one. This wrapper is costed at a real
  -- size; its SET clause keeps the planner from inlining it back into jsonb_each_text.
  CREATE FUNCTION ${s}.rewind_versions(p_versions JSONB) RETURNS TABLE (channel TEXT, version TEXT)
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 8 SET search_path = pg_catalog
    AS $fn$ SELECT key, value FROM jsonb_each_text(p_versions) $fn$;
  -- The tombstone takes the thread row's lock first (waiting out any write holding it); each
  -- DELETE after it is a statement of its own, so it sees the rows that write committed.
  CREATE FUNCTION ${s}.rewind_delete_thread(p_thread TEXT) RETURNS VOID LANGUAGE plpgsql AS $fn$
  BEGIN
    INSERT INTO ${s}.rewind_threads (thread_id, deleted) VALUES (p_thread, true)
      ON CONFLICT (thread_id) DO UPDATE SET deleted = true, lease_owner = NULL, lease_expires_at = NULL;
    DELETE FROM ${s}.rewind_heads WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_checkpoints WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_blobs WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_writes WHERE thread_id = p_thread;
  END $fn$;`,
  // 3: the lease records where its holder's work starts (the root head when it was granted, or
  // the start of the run a rollback preempted) and which process holds it (host, pid, process
  // start), so a rollback never discards a finished run and a killed holder is taken over at
  // once. A grant may replace a holder by token (one the caller found gone).
  (s) => `
  ALTER TABLE ${s}.rewind_threads ADD COLUMN lease_started_from TEXT,
    ADD COLUMN lease_host TEXT, ADD COLUMN lease_pid INTEGER, ADD COLUMN lease_process_start TEXT;
  DROP FUNCTION ${s}.rewind_acquire_lease(TEXT, TEXT, BIGINT, BOOLEAN);
  CREATE FUNCTION ${s}.rewind_acquire_lease(p_thread TEXT, p_owner TEXT, p_ttl BIGINT,
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
  // 4: damage. A `versions` value that is not an object names no channels (the core reports the
  // checkpoint) instead of failing every read of a page; damaged checkpoints a repair moves off
  // the head are kept, as stored, in `rewind_quarantine`, which a thread's delete clears too.
  (s) => `
  CREATE OR REPLACE FUNCTION ${s}.rewind_versions(p_versions JSONB) RETURNS TABLE (channel TEXT, version TEXT)
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE ROWS 8 SET search_path = pg_catalog
    AS $fn$ SELECT key, value FROM jsonb_each_text(
      CASE WHEN jsonb_typeof(p_versions) = 'object' THEN p_versions ELSE '{}'::jsonb END) $fn$;
  CREATE TABLE ${s}.rewind_quarantine (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    parent_id TEXT,
    created_at TEXT,
    versions TEXT,
    metadata TEXT,
    body TEXT,
    reason TEXT NOT NULL,
    quarantined_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, ns, id)
  );
  -- Moves checkpoints of (thread, ns) aside and the head back to the newest one left, provided
  -- the head is still p_expected (a run that wrote meanwhile wins; the repair is retried).
  CREATE FUNCTION ${s}.rewind_quarantine_checkpoints(
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
  END $fn$;
  -- The delete of versions 2 and 3 stays as it was, under a new name, and runs first.
  ALTER FUNCTION ${s}.rewind_delete_thread(TEXT) RENAME TO rewind_delete_thread_rows;
  CREATE FUNCTION ${s}.rewind_delete_thread(p_thread TEXT) RETURNS VOID LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM ${s}.rewind_delete_thread_rows(p_thread);
    DELETE FROM ${s}.rewind_quarantine WHERE thread_id = p_thread;
  END $fn$;`,
  // 5: the effect ledger (see postgres-effects.ts). Its functions form one block: the gate (the
  // tombstone and fence checks of every write, under a share lock on the thread row), an intent
  // and an outcome, each one round trip. A thread's delete clears the ledger too.
  (s) => `
  CREATE TABLE ${s}.rewind_effects (
    thread_id TEXT NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    node TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    token BIGINT NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (thread_id, key)
  );
  CREATE FUNCTION ${s}.rewind_effect_gate(p_thread TEXT, p_fence BIGINT) RETURNS TEXT
  LANGUAGE plpgsql AS $fn$
  DECLARE t RECORD;
  BEGIN
    INSERT INTO ${s}.rewind_threads (thread_id) VALUES (p_thread) ON CONFLICT DO NOTHING;
    SELECT deleted, lease_token, lease_expires_at INTO t FROM ${s}.rewind_threads
      WHERE thread_id = p_thread FOR SHARE;
    IF t.deleted THEN RETURN 'deleted'; END IF;
    IF p_fence IS NOT NULL AND (t.lease_token <> p_fence OR t.lease_expires_at IS NULL
        OR t.lease_expires_at <= (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT) THEN
      RETURN 'lease';
    END IF;
    RETURN 'ok';
  END $fn$;
  -- Inserts the intent, or with p_retake takes a 'started' entry again; a racing insert of the
  -- same key waits for the first to commit, then reads the entry back (recorded = false).
  CREATE FUNCTION ${s}.rewind_begin_effect(
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
  END $fn$;
  -- Records the outcome only while the entry is 'started' at p_attempt (the first one wins);
  -- entry is all NULL when the thread has no entry of p_key.
  CREATE FUNCTION ${s}.rewind_finish_effect(
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
  END $fn$;
  CREATE OR REPLACE FUNCTION ${s}.rewind_delete_thread(p_thread TEXT) RETURNS VOID
  LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM ${s}.rewind_delete_thread_rows(p_thread);
    DELETE FROM ${s}.rewind_quarantine WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_effects WHERE thread_id = p_thread;
  END $fn$;`,
  // 6: retention. Pinned checkpoints (no prune deletes them; a thread's delete clears them), and
  // one prune batch as one call: under the thread row's lock it checks that no listed
  // checkpoint is a head, pinned, a branch head or a fork point, then writes the rebased values
  // and deletes checkpoints, their writes and the listed values (see postgres-retention.ts).
  (s) => `
  CREATE TABLE ${s}.rewind_pins (
    thread_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    pinned_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_id)
  );
  CREATE OR REPLACE FUNCTION ${s}.rewind_delete_thread(p_thread TEXT) RETURNS VOID LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM ${s}.rewind_delete_thread_rows(p_thread);
    DELETE FROM ${s}.rewind_quarantine WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_effects WHERE thread_id = p_thread;
    DELETE FROM ${s}.rewind_pins WHERE thread_id = p_thread;
  END $fn$;
  CREATE FUNCTION ${s}.rewind_prune_checkpoints(
    p_thread TEXT, p_ns TEXT, p_ids TEXT[], p_channels TEXT[], p_versions TEXT[],
    p_rchannels TEXT[], p_rversions TEXT[], p_rtags TEXT[], p_rvalues BYTEA[]
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
      SELECT p_thread, p_ns, r.channel, r.version, 0, NULL, 0, r.tag, r.value
      FROM unnest(p_rchannels, p_rversions, p_rtags, p_rvalues) AS r (channel, version, tag, value)
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
];
