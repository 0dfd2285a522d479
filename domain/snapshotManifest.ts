// A snapshot's manifest (`manifest.json`): its shape, its checksums and the checks of a manifest
// read back from the store. Pure; the store (adapters/backupStore.ts) reads and writes it.
import { createHash } from "node:crypto";
import * as path from "node:path";
import { BackupItem } from "./backupItem";
import { WriteCounters } from "./writesSince";

/** What a snapshot may hold (`rewind:backup.include`). */
export type SnapshotItem = BackupItem;

/** One file of a snapshot and the item it holds. */
export interface ManifestEntry {
  /** The item, as declared: `database`, `volume:sessions`, `path:/srv/hunter/.env`. */
  readonly item: SnapshotItem;
  /** The file's path inside the snapshot directory, e.g. `database.dump`. */
  readonly file: string;
  /** `pg_dump-custom` for the database, `tar` for files. */
  readonly format: "pg_dump-custom" | "tar";
  /** For files: the absolute path that was archived, and where a restore puts it back. */
  readonly source?: string;
  /** For files: whether `source` was a directory (archived as its contents) or a file. */
  readonly sourceKind?: "directory" | "file";
  /** sha256 of the file, hex. */
  readonly sha256: string;
  /** Bytes. */
  readonly size: number;
}

/** `manifest.json`: everything needed to check and restore a snapshot without Pulumi state. */
export interface SnapshotManifest {
  /** Bumped on an incompatible change of this shape. */
  readonly format: typeof MANIFEST_FORMAT;
  readonly id: string;
  /** The database's name (the URL is never written to the store). */
  readonly database: string;
  /** The schema revision the database was at when the snapshot was taken. */
  readonly revision: string;
  /** The app version running when the snapshot was taken. */
  readonly appVersion: string;
  /** ISO 8601, UTC. */
  readonly takenAt: string;
  /** Why it was taken, e.g. `migrate 0001->0002`. */
  readonly reason: string;
  /**
   * The database's write counters when it was taken: a restore's plan estimates the rows it
   * would discard from them. Absent in older manifests; not covered by `sha256`.
   */
  readonly writes?: WriteCounters;
  readonly items: readonly ManifestEntry[];
  /**
   * sha256 over the entries: of the text `sha256sum` would print for the snapshot's files
   * (`<sha256>  <file>\n`, sorted by file), so `sha256sum -c` can check a snapshot by hand.
   */
  readonly sha256: string;
  /** Total bytes of the files. */
  readonly size: number;
}

export const MANIFEST_FORMAT = "rewind-snapshot/1";
export const MANIFEST_FILE = "manifest.json";
export const DATABASE_FILE = "database.dump";
const FILES_DIR = "files";

/** The file name inside `files/` for a volume or path item: the item with "/" as %2F. */
export function itemFileName(item: SnapshotItem): string {
  return `${FILES_DIR}/${item.replace(/%/g, "%25").replace(/\//g, "%2F")}.tar`;
}

/** The overall checksum of a manifest's entries (see {@link SnapshotManifest.sha256}). */
export function overallSha256(entries: readonly Pick<ManifestEntry, "file" | "sha256">[]): string {
  const listing = [...entries]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    .map((e) => `${e.sha256}  ${e.file}\n`)
    .join("");
  return createHash("sha256").update(listing).digest("hex");
}

/** What the manifest says apart from the files: filled in by the snapshot's taker. */
export interface SnapshotMeta {
  readonly id: string;
  readonly database: string;
  readonly revision: string;
  readonly appVersion: string;
  readonly takenAt: string;
  readonly reason: string;
  readonly writes?: WriteCounters;
}

/**
 * What is wrong with a manifest read back from the store (where anyone with access could have
 * edited it), field by field; `undefined` when nothing is.
 */
export function manifestProblem(value: unknown, id: string): string | undefined {
  const m = value as Record<string, unknown>;
  if (typeof value !== "object" || value === null) {
    return "not an object";
  }
  if (m.format !== MANIFEST_FORMAT) {
    return `format is ${JSON.stringify(m.format)}, expected ${JSON.stringify(MANIFEST_FORMAT)}`;
  }
  if (m.id !== id) {
    return `id is ${JSON.stringify(m.id)}, but the directory is ${JSON.stringify(id)}`;
  }
  for (const key of ["database", "revision", "appVersion", "takenAt", "reason", "sha256"]) {
    if (typeof m[key] !== "string") {
      return `${key} is missing or not a string`;
    }
  }
  if (typeof m.size !== "number" || !Array.isArray(m.items)) {
    return "size or items is missing";
  }
  for (const [i, item] of (m.items as Record<string, unknown>[]).entries()) {
    const file = item?.file;
    if (
      typeof file !== "string" ||
      path.isAbsolute(file) ||
      path.normalize(file).startsWith("..") ||
      typeof item.sha256 !== "string" ||
      typeof item.size !== "number" ||
      typeof item.item !== "string"
    ) {
      return `items[${i}] is malformed`;
    }
  }
  return undefined;
}

/** Oldest first by `takenAt`, then by id; an unreadable time sorts first. */
export function byTakenAt(a: Pick<SnapshotManifest, "takenAt" | "id">, b: typeof a): number {
  const ta = Date.parse(a.takenAt);
  const tb = Date.parse(b.takenAt);
  if (ta !== tb) {
    return (Number.isNaN(ta) ? 0 : ta) - (Number.isNaN(tb) ? 0 : tb);
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
