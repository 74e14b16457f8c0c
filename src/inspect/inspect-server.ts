/**
 * `rewind inspect`'s web server: the API of `inspect-routes.ts` under `/api`, and the prebuilt
 * single-page app (built by Vite into the package) for every other path. It listens on
 * 127.0.0.1 unless another host is asked for, and answers only requests addressed to the host it
 * listens on (a DNS-rebinding page gets 403).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { InvalidInputError } from "../errors.js";
import { inspectRoutes } from "./inspect-routes.js";

/** Options of {@link startInspector}. */
export interface InspectorOptions {
  readonly checkpointer: Checkpointer;
  readonly label: string;
  /** Default 127.0.0.1. */
  readonly host?: string | undefined;
  /** Default 0: any free port. */
  readonly port?: number | undefined;
  readonly readOnly?: boolean | undefined;
  /** The built app's folder. Default: the one shipped in the package. */
  readonly assets?: string | undefined;
}

/** A running inspector. */
export interface Inspector {
  /** The address to open, the write token in its fragment (never sent to the server). */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Hosts that mean "every address": the Host check is off, as the user asked to be reachable. */
const WILDCARDS = new Set(["0.0.0.0", "::"]);

/**
 * The folder of the app shipped with the package (`dist/inspector`, next to this file's folder
 * once built; from the sources, the repository's `dist/inspector`).
 */
export const SHIPPED_ASSETS =
  [new URL("../inspector/", import.meta.url), new URL("../../dist/inspector/", import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((dir) => existsSync(join(dir, "index.html"))) ??
  fileURLToPath(new URL("../inspector/", import.meta.url));

/** Starts the server; resolves once it listens. */
export async function startInspector(options: InspectorOptions): Promise<Inspector> {
  const host = options.host ?? "127.0.0.1";
  const assets = options.assets ?? SHIPPED_ASSETS;
  if (!existsSync(join(assets, "index.html"))) {
    throw new InvalidInputError(
      `the inspector's page is not built (no index.html in ${assets}): run npm run build`,
    );
  }
  const files = readAssets(assets);
  const token = randomBytes(24).toString("base64url");
  const shown = host.includes(":") ? `[${host}]` : host;
  let port = 0;
  const app = new Hono();
  app.use("*", async (c, next) => {
    // A page on another site that resolves its own name to this address (DNS rebinding) sends
    // its name as Host: refused. Listening on every address (0.0.0.0, ::) takes any name.
    const hostHeader = c.req.header("host") ?? "";
    const allowed = [`${shown}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`];
    if (!WILDCARDS.has(host) && !allowed.includes(hostHeader)) {
      return c.text("unexpected Host header", 403);
    }
    await next();
    c.header("x-content-type-options", "nosniff");
    c.header("x-frame-options", "DENY");
  });
  app.route(
    "/api",
    inspectRoutes({
      checkpointer: options.checkpointer,
      label: options.label,
      readOnly: options.readOnly === true,
      token,
    }),
  );
  app.get("*", (c) => {
    const file = files.get(c.req.path) ?? files.get("/index.html")!;
    return c.body(file.body, 200, { "content-type": file.type });
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 0 }, () =>
      resolve(s),
    );
    s.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "EADDRINUSE" || error.code === "EACCES" || error.code === "EADDRNOTAVAIL"
          ? new InvalidInputError(
              `cannot listen on ${host}:${options.port ?? 0} (${error.code}): pick another --port or --host`,
              { cause: error },
            )
          : error,
      ),
    );
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${shown}:${port}/#token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

function readAssets(dir: string): Map<string, { body: Uint8Array<ArrayBuffer>; type: string }> {
  const files = new Map<string, { body: Uint8Array<ArrayBuffer>; type: string }>();
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else {
        const type = TYPES[extname(entry.name)] ?? "application/octet-stream";
        files.set(rel, { body: new Uint8Array(readFileSync(join(dir, rel))), type });
      }
    }
  };
  walk("");
  return files;
}
