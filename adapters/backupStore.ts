// The filesystem backup store: where snapshots live, what their manifest says, how they are
// verified, listed and pruned. Layout (DESIGN.md "Real parts"; the runbooks' backup folder with
// db_backup.sql, sessions/ and the env file, made checkable):
//
//   <storePath>/                      0700
//     <snapshotId>/                   0700, appears only once complete (renamed from .partial-*)
//       database.dump                 0600, pg_dump -Fc
//       files/<item>.tar              0600, one per volume:/path: item ("/" in the item as %2F)
//       manifest.json                 0600, SnapshotManifest
//
// Retention (`snapshotsToPrune`) is a pure function with its own tests; everything else here
// touches the filesystem.
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { BackupItem } from "../domain/backupItem";
import { InternalError, UserError } from "../domain/errors";
import { runTool } from "./pgTools";

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
const PARTIAL_PREFIX = ".partial-";
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

// Ids name directories: no separators, no leading dot (hidden and .partial-* are not snapshots).
const SNAPSHOT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Whether `id` can name a snapshot (and so is safe as a directory name). */
export function isSnapshotId(id: unknown): id is string {
  return typeof id === "string" && SNAPSHOT_ID.test(id) && !id.includes("..");
}

/**
 * A new snapshot id: `<UTC time>-<database>-<revision>-<random>`, e.g.
 * `20250314T093012Z-hunter-0002-3fa9c1`; ids sort by time and `ls` tells them apart.
 */
export function newSnapshotId(takenAt: Date, database: string, revision: string): string {
  const stamp = takenAt.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
  const slug = (s: string) => s.replace(/[^A-Za-z0-9_]+/g, "_").slice(0, 40) || "_";
  return `${stamp}-${slug(database)}-${slug(revision)}-${randomBytes(3).toString("hex")}`;
}

/** The directory of snapshot `id`. @throws UserError if `id` is not a valid snapshot id. */
export function snapshotDir(storePath: string, id: string): string {
  if (!isSnapshotId(id)) {
    throw new UserError(
      `${JSON.stringify(id)} is not a snapshot id; ids are letters, digits, ".", "_" and "-"`,
    );
  }
  return path.join(storePath, id);
}

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

/** sha256 (hex) and size of a file, read as a stream. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    const bytes = chunk as Buffer;
    hash.update(bytes);
    size += bytes.length;
  }
  return { sha256: hash.digest("hex"), size };
}

/** What the manifest says apart from the files: filled in by the snapshot's taker. */
export interface SnapshotMeta {
  readonly id: string;
  readonly database: string;
  readonly revision: string;
  readonly appVersion: string;
  readonly takenAt: string;
  readonly reason: string;
}

/**
 * Builds the manifest of the snapshot directory `dir` by hashing each entry's file.
 * @param entries Item, file (relative to `dir`), format and source of every file written.
 */
export async function buildManifest(
  dir: string,
  meta: SnapshotMeta,
  entries: readonly Omit<ManifestEntry, "sha256" | "size">[],
): Promise<SnapshotManifest> {
  const items: ManifestEntry[] = [];
  for (const entry of entries) {
    items.push({ ...entry, ...(await hashFile(path.join(dir, entry.file))) });
  }
  return {
    format: MANIFEST_FORMAT,
    ...meta,
    items,
    sha256: overallSha256(items),
    size: items.reduce((sum, e) => sum + e.size, 0),
  };
}

/** Creates `dir` (and parents) and sets mode 0700 on it, whatever the umask. */
export function makePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  fs.chmodSync(dir, DIR_MODE);
}

/** Writes `data` to `file` with mode 0600 and flushes it to disk. */
export function writePrivateFile(file: string, data: string | Buffer): void {
  const fd = fs.openSync(file, "w", FILE_MODE);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(file, FILE_MODE);
}

/** Sets 0600 on a file a tool wrote and flushes it, so a crash cannot publish a torn file. */
export function sealFile(file: string): void {
  fs.chmodSync(file, FILE_MODE);
  const fd = fs.openSync(file, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Starts snapshot `id`: a private `.partial-<id>` directory in the store. The
 * snapshot becomes visible only through {@link publishSnapshot}, so a failed or killed backup
 * never looks like a snapshot.
 * @returns The partial directory to write into.
 */
export function beginSnapshot(storePath: string, id: string): string {
  snapshotDir(storePath, id); // validates the id
  makePrivateDir(storePath);
  const dir = path.join(storePath, `${PARTIAL_PREFIX}${id}`);
  makePrivateDir(dir);
  return dir;
}

/** Writes the manifest into the partial directory and renames it to `<storePath>/<id>`. */
export function publishSnapshot(
  storePath: string,
  partialDir: string,
  manifest: SnapshotManifest,
): string {
  writePrivateFile(path.join(partialDir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  const dir = snapshotDir(storePath, manifest.id);
  fs.renameSync(partialDir, dir);
  return dir;
}

/** Removes a partial directory left by a failed backup. */
export function abandonSnapshot(partialDir: string): void {
  if (!path.basename(partialDir).startsWith(PARTIAL_PREFIX)) {
    throw new InternalError(`refusing to remove ${partialDir}: not a partial snapshot`);
  }
  fs.rmSync(partialDir, { recursive: true, force: true });
}

/**
 * Archives the file or directory `source` into `tarFile` (GNU tar, no shell). A directory is
 * archived with its contents relative to itself (`-C source .`), a file by its base name.
 * @returns Whether `source` is a directory or a file, for the manifest (a restore needs it).
 * @throws UserError if `source` does not exist.
 */
export async function archivePath(source: string, tarFile: string): Promise<"directory" | "file"> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch (error) {
    throw new UserError(`cannot back up ${source}: it does not exist`, { cause: error });
  }
  // files/ exists only in snapshots that hold files.
  makePrivateDir(path.dirname(tarFile));
  const args = stat.isDirectory()
    ? ["--create", `--file=${tarFile}`, "--numeric-owner", "-C", source, "."]
    : [
        "--create",
        `--file=${tarFile}`,
        "--numeric-owner",
        "-C",
        path.dirname(source),
        "--",
        path.basename(source),
      ];
  await runTool("tar", args, { what: `archiving ${source}` });
  return stat.isDirectory() ? "directory" : "file";
}

/**
 * Puts `source` back from `tarFile`: extracts into a fresh directory beside it, then swaps it
 * in with renames, so files created after the snapshot disappear and a failed extraction
 * leaves `source` as it was.
 */
export async function restorePath(
  tarFile: string,
  source: string,
  kind: "directory" | "file",
): Promise<void> {
  const parent = path.dirname(source);
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, `.rewind-restore-${path.basename(source)}-`));
  const old = `${staging}.old`;
  try {
    await runTool("tar", ["--extract", `--file=${tarFile}`, "-C", staging], {
      what: `restoring ${source}`,
    });
    // A directory's archive holds its own entry "./", so tar gives staging the directory's
    // recorded mode and staging itself becomes `source`; a file sits inside staging.
    const restored = kind === "directory" ? staging : path.join(staging, path.basename(source));
    const existed = fs.existsSync(source);
    if (existed) {
      fs.renameSync(source, old);
    }
    try {
      fs.renameSync(restored, source);
    } catch (error) {
      if (existed) {
        fs.renameSync(old, source);
      }
      throw error;
    }
    fs.rmSync(old, { recursive: true, force: true });
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** The outcome of {@link verifySnapshot}. */
export interface Verification {
  /** True only if every file is present with the size and sha256 the manifest records. */
  readonly ok: boolean;
  /** The manifest, when it could be read. */
  readonly manifest?: SnapshotManifest;
  /** One sentence per mismatch; empty when `ok`. */
  readonly problems: readonly string[];
}

/** Reads and shape-checks `<storePath>/<id>/manifest.json`. @throws UserError if unreadable. */
export function readManifest(storePath: string, id: string): SnapshotManifest {
  const file = path.join(snapshotDir(storePath, id), MANIFEST_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      code === "ENOENT"
        ? `snapshot ${JSON.stringify(id)} does not exist in the backup store ${storePath}`
        : `cannot read the manifest of snapshot ${JSON.stringify(id)}: ${String(error)}`,
      { cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UserError(`the manifest of snapshot ${JSON.stringify(id)} is not valid JSON`, {
      cause: error,
    });
  }
  const problem = manifestProblem(value, id);
  if (problem !== undefined) {
    throw new UserError(`the manifest of snapshot ${JSON.stringify(id)} is invalid: ${problem}`);
  }
  return value as SnapshotManifest;
}

// Checks the shape field by field: the manifest is read back from disk, where anyone with
// access to the store could have edited it.
function manifestProblem(value: unknown, id: string): string | undefined {
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

/**
 * Re-reads every file of snapshot `id`, hashes it and compares size and sha256 with the
 * manifest, and the overall checksum with the entries. Reads only.
 */
export async function verifySnapshot(storePath: string, id: string): Promise<Verification> {
  let manifest: SnapshotManifest;
  try {
    manifest = readManifest(storePath, id);
  } catch (error) {
    return { ok: false, problems: [(error as Error).message] };
  }
  const dir = snapshotDir(storePath, id);
  const problems: string[] = [];
  for (const entry of manifest.items) {
    const file = path.join(dir, entry.file);
    let actual: { sha256: string; size: number };
    try {
      actual = await hashFile(file);
    } catch {
      problems.push(`${entry.file} is missing`);
      continue;
    }
    if (actual.size !== entry.size) {
      problems.push(`${entry.file} has ${actual.size} bytes, the manifest records ${entry.size}`);
    }
    if (actual.sha256 !== entry.sha256) {
      problems.push(
        `${entry.file} has sha256 ${actual.sha256}, the manifest records ${entry.sha256}`,
      );
    }
  }
  const overall = overallSha256(manifest.items);
  if (overall !== manifest.sha256) {
    problems.push(
      `the manifest's overall sha256 ${manifest.sha256} does not match its entries (${overall})`,
    );
  }
  return { ok: problems.length === 0, manifest, problems };
}

/**
 * Verifies snapshot `id` and returns its manifest.
 * @throws UserError naming every mismatch when verification fails.
 */
export async function requireVerifiedSnapshot(
  storePath: string,
  id: string,
): Promise<SnapshotManifest> {
  const result = await verifySnapshot(storePath, id);
  if (!result.ok || result.manifest === undefined) {
    throw new UserError(
      `snapshot ${JSON.stringify(id)} in ${storePath} failed verification: ` +
        `${result.problems.join("; ")}`,
    );
  }
  return result.manifest;
}

/** The store's snapshots, and the directories that look like snapshots but cannot be read. */
export interface SnapshotListing {
  /** Oldest first. */
  readonly snapshots: readonly SnapshotManifest[];
  readonly unreadable: readonly { readonly id: string; readonly problem: string }[];
}

/**
 * Lists the snapshots of the store by reading their manifests (no hashing). A missing store is
 * an empty one. Partial and hidden directories are skipped.
 */
export function listSnapshots(storePath: string): SnapshotListing {
  let names: string[];
  try {
    names = fs
      .readdirSync(storePath, { withFileTypes: true })
      .filter((e) => e.isDirectory() && isSnapshotId(e.name))
      .map((e) => e.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return { snapshots: [], unreadable: [] };
    }
    throw error;
  }
  const snapshots: SnapshotManifest[] = [];
  const unreadable: { id: string; problem: string }[] = [];
  for (const id of names) {
    try {
      snapshots.push(readManifest(storePath, id));
    } catch (error) {
      unreadable.push({ id, problem: (error as Error).message });
    }
  }
  snapshots.sort(byTakenAt);
  return { snapshots, unreadable };
}

function byTakenAt(a: Pick<SnapshotManifest, "takenAt" | "id">, b: typeof a): number {
  const ta = Date.parse(a.takenAt);
  const tb = Date.parse(b.takenAt);
  if (ta !== tb) {
    return (Number.isNaN(ta) ? 0 : ta) - (Number.isNaN(tb) ? 0 : tb);
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The newest snapshot of `database` at `revision` that passes verification (files re-hashed),
 * or `undefined`. Used to name the snapshot to restore when a downgrade is refused.
 */
export async function latestVerifiedSnapshot(
  storePath: string,
  database: string,
  revision: string,
): Promise<SnapshotManifest | undefined> {
  const candidates = listSnapshots(storePath)
    .snapshots.filter((s) => s.database === database && s.revision === revision)
    .reverse();
  for (const candidate of candidates) {
    if ((await verifySnapshot(storePath, candidate.id)).ok) {
      return candidate;
    }
  }
  return undefined;
}

/** `rewind:backup.retain`. */
export interface Retention {
  /** A snapshot older than this many days may be pruned. */
  readonly days: number;
  /** The newest this many snapshots are never pruned, however old. */
  readonly keepAtLeast: number;
}

/**
 * The ids to prune: snapshots older than `retain.days` at `now`, except the newest
 * `retain.keepAtLeast` and every id in `keep` (the snapshot just taken, one pinned for restore).
 * A snapshot whose time cannot be read is kept: pruning is the one irreversible thing a backup
 * store does. Pure; the caller deletes.
 * @returns Ids, oldest first.
 */
export function snapshotsToPrune(
  snapshots: readonly Pick<SnapshotManifest, "id" | "takenAt">[],
  retain: Retention,
  now: Date,
  keep: readonly string[] = [],
): string[] {
  const cutoff = now.getTime() - retain.days * 24 * 60 * 60 * 1000;
  const newestFirst = [...snapshots].sort(byTakenAt).reverse();
  return newestFirst
    .slice(Math.max(0, retain.keepAtLeast))
    .filter((s) => {
      const t = Date.parse(s.takenAt);
      return !Number.isNaN(t) && t < cutoff && !keep.includes(s.id);
    })
    .map((s) => s.id)
    .reverse();
}

/** Deletes the snapshots `ids` from the store. */
export function pruneSnapshots(storePath: string, ids: readonly string[]): void {
  for (const id of ids) {
    fs.rmSync(snapshotDir(storePath, id), { recursive: true, force: true });
  }
}
