// The filesystem backup store: where snapshots live, and how they are written, verified, listed
// and pruned. Layout (the runbooks' backup folder with db_backup.sql, sessions/ and the env
// file, made checkable):
//
//   <storePath>/                      0700
//     <snapshotId>/                   0700, appears only once complete (renamed from .partial-*)
//       database.dump                 0600, pg_dump -Fc
//       files/<item>.tar              0600, one per volume:/path: item ("/" in the item as %2F)
//       manifest.json                 0600, SnapshotManifest (domain/snapshotManifest.ts)
//
// Which snapshots to prune is domain/retention.ts's decision; the ids are domain/snapshotId.ts's.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { InternalError, UserError } from "../domain/errors";
import { isSnapshotId } from "../domain/snapshotId";
import {
  MANIFEST_FILE,
  ManifestEntry,
  SnapshotManifest,
  SnapshotMeta,
  MANIFEST_FORMAT,
  byTakenAt,
  manifestProblem,
  overallSha256,
} from "../domain/snapshotManifest";

/** Where a snapshot is written until it is complete; `rewind recover` removes leftovers. */
export const PARTIAL_PREFIX = ".partial-";
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** The directory of snapshot `id`. @throws UserError if `id` is not a valid snapshot id. */
export function snapshotDir(storePath: string, id: string): string {
  if (!isSnapshotId(id)) {
    throw new UserError(
      `${JSON.stringify(id)} is not a snapshot id; ids are letters, digits, ".", "_" and "-"`,
    );
  }
  return path.join(storePath, id);
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

/** Deletes the snapshots `ids` from the store. */
export function pruneSnapshots(storePath: string, ids: readonly string[]): void {
  for (const id of ids) {
    fs.rmSync(snapshotDir(storePath, id), { recursive: true, force: true });
  }
}
