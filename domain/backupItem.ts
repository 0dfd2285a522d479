// What a snapshot holds (`rewind:backup.include`): the rule is written here once, for the config,
// the BackupSnapshot's check and the store's manifest.
import * as path from "node:path";

/** The database, a Docker volume, or a file or directory on the host. */
export type BackupItem = "database" | `volume:${string}` | `path:${string}`;

export const BACKUP_ITEM_ALLOWED = `"database", "volume:<name>" or "path:<absolute path>"`;

/** Where `volume:<name>` items live when `volumesRoot` is not given. */
export const DEFAULT_VOLUMES_ROOT = "/var/lib/rewind/volumes";

export function isBackupItem(value: unknown): value is BackupItem {
  return (
    typeof value === "string" &&
    (value === "database" ||
      /^volume:[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(value) ||
      /^path:\/.*$/.test(value))
  );
}

/** Where an item's files come from on the host; undefined for the database. */
export function itemSource(item: BackupItem, volumesRoot: string): string | undefined {
  if (item === "database") {
    return undefined;
  }
  if (item.startsWith("volume:")) {
    return path.join(volumesRoot, item.slice("volume:".length));
  }
  return item.slice("path:".length);
}
