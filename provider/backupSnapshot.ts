// Takes a BackupSnapshot: pg_dump -Fc of the database plus tar archives of declared volumes and
// paths, written to the filesystem store, verified by re-reading, then retention applied.
// Runbook: "Veritabanı yedekleme" (pg_dump > db_backup.sql, cp -r sessions, cp .env, 30-day
// retention), made checkable and atomic.
//
// Runs in the provider plugin: plain functions calling adapters.
import { BACKUP_ITEM_ALLOWED, BackupItem, isBackupItem, itemSource } from "../domain/backupItem";
import { ResourceHandler } from "./resourceHandler";
import * as path from "node:path";
import {
  abandonSnapshot,
  beginSnapshot,
  buildManifest,
  listSnapshots,
  publishSnapshot,
  pruneSnapshots,
  sealFile,
  snapshotDir,
  verifySnapshot,
} from "../adapters/backupStore";
import { archivePath } from "../adapters/tar";
import { snapshotsToPrune } from "../domain/retention";
import { newSnapshotId } from "../domain/snapshotId";
import {
  DATABASE_FILE,
  MANIFEST_FILE,
  ManifestEntry,
  itemFileName,
} from "../domain/snapshotManifest";
import { InternalError, UserError } from "../domain/errors";
import {
  describeDatabase,
  ensureVersionTable,
  locateDatabase,
  readRevision,
  withClient,
  readWriteCounters,
  withMigrationLock,
} from "../adapters/postgres";
import { pgDump } from "../adapters/pgTools";
import { WriteCounters } from "../domain/writesSince";

/** A BackupSnapshot's inputs as the provider receives them (secrets unwrapped). */
export interface BackupSnapshotInputs {
  databaseUrl: string;
  database: string;
  revision: string;
  appVersion: string;
  storePath: string;
  include: string[];
  retain: { days: number; keepAtLeast: number };
  reason: string;
  volumesRoot: string;
  keep: string[];
  lockTimeoutSeconds: number;
}

/** What the state records about a snapshot. */
export interface BackupSnapshotOutputs extends BackupSnapshotInputs {
  snapshotId: string;
  sha256: string;
  size: number;
  verified: boolean;
  takenAt: string;
  manifestPath: string;
  /** Snapshots retention removed when this one was taken. */
  pruned: string[];
  /** Why retention could not run, if it could not; the snapshot itself is fine. */
  pruneError: string;
}

// Changing any of these takes a new snapshot; `keep` only protects more ids from pruning.
const SNAPSHOT_INPUTS = [
  "databaseUrl",
  "database",
  "revision",
  "appVersion",
  "storePath",
  "include",
  "retain",
  "reason",
  "volumesRoot",
] as const;

function checkItems(include: readonly string[]): BackupItem[] {
  return include.map((item) => {
    if (isBackupItem(item)) {
      return item;
    }
    throw new UserError(
      `backup item ${JSON.stringify(item)} is not allowed; expected ${BACKUP_ITEM_ALLOWED}`,
    );
  });
}

/**
 * Takes, verifies and publishes one snapshot, then prunes old ones of the same database.
 * Holds Rewind's migration lock while reading the revision and dumping, so the revision in the
 * manifest is the one the dump holds.
 */
export async function takeSnapshot(inputs: BackupSnapshotInputs): Promise<BackupSnapshotOutputs> {
  const items = checkItems(inputs.include);
  const urlDatabase = locateDatabase(inputs.databaseUrl).database;
  if (urlDatabase !== inputs.database) {
    throw new UserError(
      `BackupSnapshot: database is ${JSON.stringify(inputs.database)} but the URL points at ` +
        `${JSON.stringify(urlDatabase)}; they must name the same database`,
    );
  }
  const takenAt = new Date();
  const id = newSnapshotId(takenAt, inputs.database, inputs.revision);
  const partial = beginSnapshot(inputs.storePath, id);
  try {
    const entries: Omit<ManifestEntry, "sha256" | "size">[] = [];
    let writes: WriteCounters | undefined;
    await withClient(
      inputs.databaseUrl,
      (client) =>
        withMigrationLock(
          client,
          async () => {
            // The table goes into the dump even at "base", so restoring this snapshot also
            // resets the revision (pg_restore --clean only drops what the dump contains).
            await ensureVersionTable(client);
            const actual = await readRevision(client);
            if (actual !== inputs.revision) {
              throw new UserError(
                `${describeDatabase(inputs.databaseUrl)} is at revision ${actual}, not at ` +
                  `${inputs.revision} as this snapshot declares; someone migrated it meanwhile. ` +
                  `Run pulumi refresh, then pulumi up again.`,
              );
            }
            // Read under the lock, right before the dump: what a restore of it would discard
            // is what these counters grow by afterwards.
            writes = await readWriteCounters(client).catch(() => undefined);
            if (items.includes("database")) {
              const file = path.join(partial, DATABASE_FILE);
              await pgDump(inputs.databaseUrl, file);
              sealFile(file);
              entries.push({ item: "database", file: DATABASE_FILE, format: "pg_dump-custom" });
            }
          },
          {
            timeoutMs: inputs.lockTimeoutSeconds * 1000,
            purpose: `the backup of revision ${inputs.revision}`,
          },
        ),
      { applicationName: "rewind-backup" },
    );
    for (const item of items) {
      const source = itemSource(item, inputs.volumesRoot);
      if (source === undefined) {
        continue;
      }
      const file = itemFileName(item);
      const sourceKind = await archivePath(source, path.join(partial, file));
      sealFile(path.join(partial, file));
      entries.push({ item, file, format: "tar", source, sourceKind });
    }
    const manifest = await buildManifest(
      partial,
      {
        id,
        database: inputs.database,
        revision: inputs.revision,
        appVersion: inputs.appVersion,
        takenAt: takenAt.toISOString(),
        reason: inputs.reason,
        ...(writes === undefined ? {} : { writes }),
      },
      entries,
    );
    publishSnapshot(inputs.storePath, partial, manifest);
  } catch (error) {
    abandonSnapshot(partial);
    throw error;
  }

  // Re-read from the published location: `verified` means what a restore will read is intact.
  const check = await verifySnapshot(inputs.storePath, id);
  if (!check.ok || check.manifest === undefined) {
    throw new UserError(
      `snapshot ${id} failed verification right after it was written: ` +
        `${check.problems.join("; ")}. The backup store ${inputs.storePath} may be faulty.`,
    );
  }

  let pruned: string[] = [];
  let pruneError = "";
  try {
    const sameDatabase = listSnapshots(inputs.storePath).snapshots.filter(
      (s) => s.database === inputs.database,
    );
    pruned = snapshotsToPrune(sameDatabase, inputs.retain, new Date(), [id, ...inputs.keep]);
    pruneSnapshots(inputs.storePath, pruned);
  } catch (error) {
    // The snapshot is taken and verified; failing the update now would orphan it.
    pruneError = (error as Error).message;
  }

  return {
    ...inputs,
    snapshotId: id,
    sha256: check.manifest.sha256,
    size: check.manifest.size,
    verified: true,
    takenAt: check.manifest.takenAt,
    manifestPath: path.join(snapshotDir(inputs.storePath, id), MANIFEST_FILE),
    pruned,
    pruneError,
  };
}

/** The inputs whose change takes a new snapshot (all but `keep`). */
export function changedSnapshotInputs(
  olds: Partial<BackupSnapshotInputs>,
  news: Partial<BackupSnapshotInputs>,
): string[] {
  return SNAPSHOT_INPUTS.filter((k) => JSON.stringify(olds[k]) !== JSON.stringify(news[k]));
}

export const backupSnapshotHandler: ResourceHandler<BackupSnapshotInputs, BackupSnapshotOutputs> = {
  async create(inputs) {
    const outs = await takeSnapshot(inputs);
    return { id: outs.snapshotId, outs };
  },

  // A snapshot is a fact about the past: any change of what it should hold is a new snapshot.
  // A new program run's `requestedAt` replaces it through Pulumi's replacementTrigger.
  async diff(_id, olds, news) {
    const replaces = changedSnapshotInputs(olds, news);
    const keepChanged = JSON.stringify(olds.keep) !== JSON.stringify(news.keep);
    return { changes: replaces.length > 0 || keepChanged, replaces };
  },

  // Only `keep` can change without a replacement; nothing on disk depends on it.
  async update(_id, olds, news) {
    return { outs: { ...olds, keep: news.keep } };
  },

  // `pulumi refresh` re-verifies: a snapshot corrupted or pruned since shows verified: false,
  // which the restore policy refuses.
  async read(id, props) {
    if (props === undefined) {
      throw new InternalError(`BackupSnapshot ${id}: refresh without state`);
    }
    const check = await verifySnapshot(props.storePath, id);
    return { id, props: { ...props, verified: check.ok } };
  },

  // Snapshots outlive the update that took them (a rollback needs them after the resource is
  // gone from the program); retention prunes them.
  async delete() {
    return;
  },
};
