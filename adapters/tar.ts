// Files and directories of a snapshot as tar archives (GNU tar, no shell): archived with
// numeric owners, put back whole.
import * as fs from "node:fs";
import * as path from "node:path";
import { UserError } from "../domain/errors";
import { runProcess } from "./process";

/** Whether an archive holds a directory (as its contents) or one file. */
export type ArchivedKind = "directory" | "file";

/**
 * Archives the file or directory `source` into `tarFile`. A directory is archived with its
 * contents relative to itself (`-C source .`), a file by its base name. The archive's directory
 * is created private (0700): archives may hold secrets such as an env file.
 * @returns Whether `source` is a directory or a file, for the manifest (a restore needs it).
 * @throws UserError if `source` does not exist.
 */
export async function archivePath(source: string, tarFile: string): Promise<ArchivedKind> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch (error) {
    throw new UserError(`cannot back up ${source}: it does not exist`, { cause: error });
  }
  const dir = path.dirname(tarFile);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
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
  await runProcess("tar", args, { what: `archiving ${source}` });
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
  kind: ArchivedKind,
): Promise<void> {
  const parent = path.dirname(source);
  fs.mkdirSync(parent, { recursive: true });
  const staging = fs.mkdtempSync(path.join(parent, `.rewind-restore-${path.basename(source)}-`));
  const old = `${staging}.old`;
  try {
    await runProcess("tar", ["--extract", `--file=${tarFile}`, "-C", staging], {
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
