// The grammar of snapshot ids, the one rule for the backup store's directories, the config's
// pin (rewind:restore.snapshot), the components' arguments and the policies.
import { randomBytes } from "node:crypto";

// Ids name directories: no separators, no leading dot (hidden and .partial-* are not snapshots).
const SNAPSHOT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Whether `id` can name a snapshot (and so is safe as a directory name). */
export function isSnapshotId(id: unknown): id is string {
  return typeof id === "string" && SNAPSHOT_ID.test(id) && !id.includes("..");
}

/** What a snapshot id may look like, for messages. */
export const SNAPSHOT_ID_ALLOWED =
  `a snapshot id from the backup store (letters, digits, ".", "_" and "-", starting with a ` +
  `letter or digit), e.g. "20261126T005230Z-hunter-0001-b09dc0"`;

/**
 * A new snapshot id: `<UTC time>-<database>-<revision>-<random>`, e.g.
 * `20250314T093012Z-hunter-0002-3fa9c1`; ids sort by time and `ls` tells them apart.
 * @param random The last part. @default six random hex digits
 */
export function newSnapshotId(
  takenAt: Date,
  database: string,
  revision: string,
  random = randomBytes(3).toString("hex"),
): string {
  const stamp = takenAt.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  const slug = (s: string) => s.replace(/[^A-Za-z0-9_]+/g, "_").slice(0, 40) || "_";
  return `${stamp}-${slug(database)}-${slug(revision)}-${random}`;
}
