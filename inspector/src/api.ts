/** The inspector's calls to its server: JSON in and out, errors thrown with the server's message. */

/** The write token, from the page address's `#token=` part (never sent in a URL). */
const token = new URLSearchParams(location.hash.slice(1)).get("token") ?? "";

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`api${path}`, init);
  } catch (error) {
    throw new ApiError(`the inspector's server does not answer (${String(error)})`, "OFFLINE", 0);
  }
  const body = await response.json().catch(() => ({ error: response.statusText, code: "ERROR" }));
  if (!response.ok) throw new ApiError(body.error, body.code, response.status);
  return body as T;
}

const post = <T>(path: string, body: unknown) =>
  call<T>(path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-rewind-token": token },
    body: JSON.stringify(body),
  });

const t = (key: string) => `/threads/${encodeURIComponent(key)}`;

export interface Info {
  label: string;
  readOnly: boolean;
  backend: string;
}
export interface ThreadRow {
  key: string;
  threadId: string;
  tenantId?: string;
  checkpoints: number;
  bytes: number;
  updatedAt: string;
  status: string;
}
export interface HistoryNode {
  checkpointId: string;
  parentId?: string;
  step: number;
  source: string;
  createdAt: string;
  children: string[];
}
export interface Branch {
  headId: string;
  forkedFrom?: string;
  checkpointIds: string[];
  isCurrent: boolean;
}
export interface History {
  currentId?: string;
  forkPoints: string[];
  branches: Branch[];
  nodes: HistoryNode[];
  damaged: { checkpointId: string; reason: string }[];
}
export interface Interrupt {
  id: string;
  value: unknown;
  node: string;
  kind: string;
}
export interface CheckpointView {
  checkpointId: string;
  parentId?: string;
  step: number;
  createdAt: string;
  metadata: Record<string, unknown>;
  next: string[];
  state: Record<string, unknown>;
  interrupts: Interrupt[];
  status: string;
}
export interface Change {
  path: (string | number)[];
  kind: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}
export interface Effect {
  key: string;
  name: string;
  status: string;
  checkpointId: string;
}
export interface ForkPreview {
  reused: Effect[];
  rerun: Effect[];
  unknown: Effect[];
}

export const api = {
  info: () => call<Info>("/info"),
  threads: (q: Record<string, string>) =>
    call<{ threads: ThreadRow[]; next?: string }>(`/threads?${new URLSearchParams(q)}`),
  history: (key: string) => call<History>(`${t(key)}/history`),
  checkpoint: (key: string, id: string) =>
    call<CheckpointView>(`${t(key)}/checkpoints/${encodeURIComponent(id)}`),
  diff: (key: string, from: string, to: string) =>
    call<Change[]>(`${t(key)}/diff?${new URLSearchParams({ from, to })}`),
  preview: (key: string, checkpoint: string) =>
    call<ForkPreview>(`${t(key)}/fork-preview?${new URLSearchParams({ checkpoint })}`),
  fork: (key: string, checkpointId: string, values: unknown) =>
    post<{ checkpointId: string }>(`${t(key)}/fork`, { checkpointId, values }),
  resume: (key: string, answer: unknown) =>
    post<{ answered: string[] }>(`${t(key)}/resume`, { answer }),
  storage: (q: Record<string, string>) =>
    call<DatabaseStorage>(`/storage?${new URLSearchParams(q)}`),
};

export interface DatabaseStorage {
  threads: number;
  checkpoints: number;
  bytes: number;
  tenants: Record<string, { threads: number; checkpoints: number; bytes: number }>;
  biggest: Omit<ThreadRow, "status">[];
  largeValues?: { values: number; storedBytes: number; references: number; dedupeRatio: number };
}

export interface ThreadStorage {
  bytes: number;
  checkpoints: number;
  channels: { channel: string; bytes: number }[];
  biggest: { checkpointId: string; bytes: number }[];
  keepLast?: { n: number; checkpoints: number; bytes: number; lost?: string };
}

export const storageOf = (key: string, keepLast: number) =>
  fetch(`api/threads/${encodeURIComponent(key)}/storage?keepLast=${keepLast}`).then(async (r) => {
    const body = await r.json();
    if (!r.ok) throw new ApiError(body.error, body.code, r.status);
    return body as ThreadStorage;
  });
