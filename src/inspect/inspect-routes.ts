/**
 * The inspector's HTTP API (a Hono app): reads for threads, history, checkpoints, diffs and fork
 * previews; two write routes (fork, resume) that read-only mode refuses and that otherwise need
 * the per-launch token in the `x-rewind-token` header (a cross-site page cannot set it without a
 * CORS preflight, which is never granted). Errors come back as `{ error, code }` with a status.
 */
import { timingSafeEqual } from "node:crypto";
import { type Context, Hono } from "hono";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { threadKey } from "../checkpoint/thread-key.js";
import { isRewindError } from "../errors.js";
import { previewFork } from "../graph/effect-admin.js";
import { readDatabaseStorage } from "./database-storage.js";
import {
  diffCheckpoints,
  listThreadPage,
  parseMetadataFilter,
  readCheckpoint,
  type ThreadStatus,
} from "./inspect-reads.js";
import { forkWithValues, recordAnswer } from "./inspect-writes.js";
import { lineageJson, readHistory } from "./thread-history.js";
import { readThreadStorage } from "./thread-storage.js";

/** What the routes work on. */
export interface InspectApi {
  readonly checkpointer: Checkpointer;
  /** Shown in the page's header: `sqlite:<path>` or the URL without its password. */
  readonly label: string;
  readonly readOnly: boolean;
  /** The per-launch secret every write route requires. */
  readonly token: string;
}

const STATUSES = new Set(["running", "interrupted", "done", "failed", "damaged"]);

const STATUS_OF: Record<string, 400 | 404 | 409 | 422 | 503> = {
  INVALID_INPUT: 400,
  NOT_FOUND: 404,
  THREAD_DELETED: 404,
  CONFLICT: 409,
  ALREADY_RESUMED: 409,
  THREAD_BUSY: 409,
  CORRUPTED: 422,
  SERIALIZATION: 422,
  CONNECTION: 503,
  TIMEOUT: 503,
};

/** The API's routes under `/api`. */
export function inspectRoutes(api: InspectApi): Hono {
  const app = new Hono();
  const { checkpointer } = api;
  app.onError((error, c) => {
    if (isRewindError(error)) {
      return c.json(
        { error: error.message, code: error.code, checkpointId: error.checkpointId },
        STATUS_OF[error.code] ?? 500,
      );
    }
    if (error instanceof SyntaxError)
      return c.json({ error: error.message, code: "INVALID_INPUT" }, 400);
    return c.json(
      { error: error instanceof Error ? error.message : String(error), code: "ERROR" },
      500,
    );
  });
  app.use("*", async (c, next) => {
    if (c.req.method === "GET") return next();
    if (api.readOnly) {
      return c.json(
        { error: "the inspector was started with --read-only", code: "READ_ONLY" },
        403,
      );
    }
    if (!sameSecret(c.req.header("x-rewind-token") ?? "", api.token)) {
      return c.json({ error: "missing or wrong inspector token", code: "TOKEN" }, 401);
    }
    return next();
  });

  app.get("/info", (c) =>
    c.json({ label: api.label, readOnly: api.readOnly, backend: checkpointer.name }),
  );
  app.get("/threads", async (c) => {
    const status = c.req.query("status") || undefined;
    const limit = Number(c.req.query("limit") ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      return c.json(
        { error: "limit must be an integer from 1 to 500", code: "INVALID_INPUT" },
        400,
      );
    }
    if (status !== undefined && !STATUSES.has(status)) {
      return c.json({ error: `unknown status "${status}"`, code: "INVALID_INPUT" }, 400);
    }
    const metadata = parseMetadataFilter(c.req.query("metadata"));
    if (metadata instanceof Error) {
      return c.json({ error: metadata.message, code: "INVALID_INPUT" }, 400);
    }
    return c.json(
      await listThreadPage(checkpointer, {
        after: c.req.query("after") || undefined,
        prefix: tenantPrefix(c.req.query("tenant")),
        search: c.req.query("search") || undefined,
        status: status as ThreadStatus | undefined,
        metadata,
        limit,
      }),
    );
  });
  app.get("/storage", async (c) => {
    const top = Number(c.req.query("top") ?? 10);
    if (!Number.isInteger(top) || top < 1 || top > 100) {
      return c.json({ error: "top must be an integer from 1 to 100", code: "INVALID_INPUT" }, 400);
    }
    return c.json(
      await readDatabaseStorage(checkpointer, { tenant: c.req.query("tenant") || undefined, top }),
    );
  });
  app.get("/threads/:key/history", async (c) => {
    const lineage = await readHistory(checkpointer, key(c));
    if (lineage.nodes.size === 0 && (lineage.damaged ?? []).length === 0) {
      return c.json(
        { error: `thread "${key(c)}" has no checkpoints (deleted?)`, code: "NOT_FOUND" },
        404,
      );
    }
    return c.json(lineageJson(lineage));
  });
  app.get("/threads/:key/checkpoints/:id", async (c) => {
    const id = c.req.param("id");
    return c.json(await readCheckpoint(checkpointer, key(c), id === "head" ? undefined : id));
  });
  app.get("/threads/:key/diff", async (c) =>
    c.json(
      await diffCheckpoints(
        checkpointer,
        key(c),
        c.req.query("from") ?? "",
        c.req.query("to") ?? "",
      ),
    ),
  );
  app.get("/threads/:key/storage", async (c) => {
    const text = c.req.query("keepLast");
    const keepLast = text ? Number(text) : undefined;
    if (keepLast !== undefined && (!Number.isInteger(keepLast) || keepLast < 1)) {
      return c.json({ error: "keepLast must be a positive integer", code: "INVALID_INPUT" }, 400);
    }
    return c.json(await readThreadStorage(checkpointer, key(c), keepLast));
  });
  app.get("/threads/:key/fork-preview", async (c) =>
    c.json(await previewFork(checkpointer, key(c), c.req.query("checkpoint") ?? "")),
  );
  app.post("/threads/:key/fork", async (c) => {
    const body = await c.req.json<{ checkpointId?: unknown; values?: unknown }>();
    if (typeof body.checkpointId !== "string") {
      return c.json({ error: "checkpointId is required", code: "INVALID_INPUT" }, 400);
    }
    return c.json(await forkWithValues(checkpointer, key(c), body.checkpointId, body.values));
  });
  app.post("/threads/:key/resume", async (c) => {
    const body = await c.req.json<{ answer?: unknown }>();
    if (!("answer" in body))
      return c.json({ error: "answer is required", code: "INVALID_INPUT" }, 400);
    return c.json(await recordAnswer(checkpointer, key(c), body.answer));
  });
  return app;
}

const key = (c: Context) => c.req.param("key") ?? "";

/** The storage-key prefix of a tenant's threads (none for no tenant). */
const tenantPrefix = (tenant: string | undefined) =>
  tenant ? threadKey("x", tenant).slice(0, -1) : undefined;

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
