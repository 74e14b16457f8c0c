/**
 * A tenant's store items as an archive tier: exported (the export format, one store section),
 * stored in the target under a name of their own and verified there, then deleted from the
 * store; restored by importing them back with their original times. Archive a tenant's items
 * when it is idle: an item written between the export and the delete is deleted with the rest.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotFoundError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { StoreOp } from "../store/store-backend.js";
import { validateTenantId } from "../store/store-validation.js";
import { type ArchiveTarget, storeArchiveKey } from "./archive-target.js";
import { ExportFile } from "./export-file.js";
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION } from "./export-format.js";
import { readManifest, readSection, verifyData } from "./export-read.js";
import { importStoreSections } from "./import-threads.js";
import { exportStoreItems } from "./store-items.js";

/** Archives every item of `tenantId` to `target` and deletes them; returns how many. */
export async function archiveStoreItems(
  store: Store,
  target: ArchiveTarget,
  tenantId: string,
): Promise<number> {
  validateTenantId(tenantId);
  const dir = await mkdtemp(join(tmpdir(), "rewind-archive-store-"));
  try {
    const file = await ExportFile.create(dir);
    const section = await exportStoreItems(store, tenantId, file);
    const manifest = await file.finish({
      format: EXPORT_FORMAT,
      version: EXPORT_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      source: store.backend.name,
      counts: { threads: 0, checkpoints: 0, writes: 0, blobs: 0, items: section.items },
      threads: [],
      store: [section],
    });
    if (section.items === 0) return 0;
    await target.upload(storeArchiveKey(tenantId), dir);
    // Only what the verified copy holds is deleted (read back from it, not from the store).
    const deletes: StoreOp[] = [];
    for await (const item of readSection(dir, manifest.store[0]!)) {
      if (item.k !== "i") continue;
      deletes.push({
        kind: "delete",
        tenant: tenantId,
        namespace: item.item.namespace,
        key: item.item.key,
      });
    }
    for (let at = 0; at < deletes.length; at += 500) {
      await store.backend.batch(deletes.slice(at, at + 500), Date.now());
    }
    return section.items;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Puts a tenant's archived store items back and removes the archived copy; returns how many. */
export async function restoreStoreItems(
  store: Store,
  target: ArchiveTarget,
  tenantId: string,
): Promise<number> {
  validateTenantId(tenantId);
  const dir = await mkdtemp(join(tmpdir(), "rewind-restore-store-"));
  try {
    try {
      await target.download(storeArchiveKey(tenantId), dir);
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new NotFoundError(
          `no archived store items of tenant "${tenantId}" in ${target.name}`,
        );
      }
      throw error;
    }
    const manifest = await readManifest(dir);
    await verifyData(dir, manifest);
    const items = await importStoreSections(dir, manifest, store);
    await target.remove(storeArchiveKey(tenantId));
    return items;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
