// A restore replaces the database with the snapshot: restoring a missing, foreign or corrupted
// snapshot destroys the data it was meant to save, so it is checked before anything is touched.
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { Restore } from "../components/restore";
import { verifySnapshot } from "../adapters/backupStore";
import { isSnapshotId } from "../domain/snapshotId";
import {
  Props,
  StackResource,
  StackViolation,
  UNKNOWN,
  nonEmptyString,
  readProps,
  resolveFromProject,
  show,
  stackResources,
} from "./resources";

const RESTORE_KEYS = ["snapshotId", "storePath", "database"];

/**
 * Checks a Restore's own inputs: it names a snapshot, by an id a snapshot can have.
 * @returns one message per violation, empty when the Restore complies or its id is unknown.
 */
export function checkRestoreInputs(restore: Props): string[] {
  const { snapshotId } = restore;
  if (snapshotId === UNKNOWN) {
    return [];
  }
  if (nonEmptyString(snapshotId) === undefined) {
    return [
      `The Restore names no snapshotId; pin the id of a verified snapshot ` +
        `(rewind:restore.snapshot).`,
    ];
  }
  if (!isSnapshotId(snapshotId)) {
    return [
      `The Restore names ${show(snapshotId)}, which is not a snapshot id ` +
        `(letters, digits, ".", "_" and "-", no "..").`,
    ];
  }
  return [];
}

/**
 * Checks every Restore of the stack against the backup store: the snapshot it names exists
 * (`<storePath>/<snapshotId>/manifest.json`), every file the manifest lists re-hashes to its
 * sha256, and it is a snapshot of the database being restored. Reads the store; a relative
 * `storePath` is taken from the project root, where the program runs.
 */
export async function checkRestoreSnapshots(
  resources: readonly StackResource[],
  projectRoot?: string,
): Promise<StackViolation[]> {
  const violations: StackViolation[] = [];
  for (const restore of resources.filter((r) => r.type === Restore.__pulumiType)) {
    const { snapshotId, storePath, database } = restore.props;
    // An empty or malformed id is the input check's to report; an unknown one is not judged.
    if (!isSnapshotId(snapshotId) || storePath === UNKNOWN) {
      continue;
    }
    const report = (message: string): void => {
      violations.push({ message, urn: restore.urn });
    };
    const store = nonEmptyString(storePath);
    if (store === undefined) {
      report(
        `Restore ${show(restore.name)} names no storePath, so snapshot ${show(snapshotId)} ` +
          `cannot be found.`,
      );
      continue;
    }
    const result = await verifySnapshot(resolveFromProject(store, projectRoot), snapshotId);
    if (!result.ok || result.manifest === undefined) {
      report(
        `Restore ${show(restore.name)} names snapshot ${show(snapshotId)}, which fails ` +
          `verification: ${result.problems.join("; ")}.`,
      );
      continue;
    }
    if (database !== UNKNOWN && database !== result.manifest.database) {
      report(
        `Restore ${show(restore.name)} restores database ${show(database)} from snapshot ` +
          `${show(snapshotId)}, which is of database ${show(result.manifest.database)}.`,
      );
    }
  }
  return violations;
}

/**
 * `restore-requires-verified-snapshot`. The input check runs before the Restore touches the
 * database during `pulumi up`; the store check needs the files, so it is a stack check: it runs
 * in the preview that gates a release (and again after `up`, on what is then in the store).
 */
export const restoreRequiresVerifiedSnapshot: ResourceValidationPolicy & StackValidationPolicy = {
  name: "restore-requires-verified-snapshot",
  description:
    "A Restore must name a snapshot that exists in the backup store, is of the database being " +
    "restored, and whose files still match the checksums in its manifest.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, reportViolation) => {
    if (!args.isType(Restore)) {
      return;
    }
    for (const message of checkRestoreInputs(readProps(args.props, RESTORE_KEYS))) {
      reportViolation(message);
    }
  },
  validateStack: async (args, reportViolation) => {
    for (const v of await checkRestoreSnapshots(stackResources(args.resources, RESTORE_KEYS))) {
      reportViolation(v.message, v.urn);
    }
  },
};
