// No schema change without a fresh, verified backup of the same database, taken at the revision
// the change starts from: that snapshot is what a restore goes back to when the change goes wrong.
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { BackupSnapshot } from "../components/backupSnapshot";
import { Migration } from "../components/migration";
import {
  Props,
  StackResource,
  StackViolation,
  UNKNOWN,
  dependsOn,
  nonEmptyString,
  readProps,
  show,
  stackResources,
} from "./resources";

const MIGRATION_KEYS = [
  "database",
  "fromRevision",
  "revision",
  "snapshotId",
  "snapshotDatabase",
  "snapshotRevision",
];
const SNAPSHOT_KEYS = ["snapshotId", "database", "revision", "verified"];

/**
 * Checks a Migration's own inputs: one that changes the revision names a snapshot of the
 * database it migrates, taken at the revision it starts from. Unknown values are not judged.
 * @returns one message per violation, empty when the Migration complies.
 */
export function checkMigrationInputs(migration: Props): string[] {
  const { database, fromRevision, revision, snapshotId, snapshotDatabase, snapshotRevision } =
    migration;
  if (fromRevision === UNKNOWN || revision === UNKNOWN) {
    return [];
  }
  if (fromRevision === undefined || revision === undefined) {
    // Without both ends nobody can tell whether the schema changes; the contract requires both.
    return [
      `The Migration declares fromRevision ${show(fromRevision)} and revision ${show(revision)}; ` +
        `both are required to tell whether it changes the schema.`,
    ];
  }
  if (fromRevision === revision) {
    return [];
  }
  // An unknown snapshotId is the snapshot still to be taken in this preview: not judged, but
  // the database and revision it is declared for are known already and are checked.
  if (snapshotId !== UNKNOWN && nonEmptyString(snapshotId) === undefined) {
    return [
      `The Migration takes database ${show(database)} from ${show(fromRevision)} to ` +
        `${show(revision)} but names no snapshotId; take a BackupSnapshot of ${show(database)} ` +
        `at ${show(fromRevision)} first and pass its snapshotId.`,
    ];
  }
  const problems: string[] = [];
  if (snapshotDatabase !== UNKNOWN && database !== UNKNOWN && snapshotDatabase !== database) {
    problems.push(
      `The Migration's snapshot is of database ${show(snapshotDatabase)}, but the Migration ` +
        `changes database ${show(database)}; the backup must be of the database it migrates.`,
    );
  }
  if (snapshotRevision !== UNKNOWN && snapshotRevision !== fromRevision) {
    problems.push(
      `The Migration's snapshot was taken at revision ${show(snapshotRevision)}, but the ` +
        `Migration starts from ${show(fromRevision)}; the backup must be taken at the revision ` +
        `the migration starts from.`,
    );
  }
  return problems;
}

/**
 * Checks the stack's graph: each Migration that changes the revision depends on the
 * BackupSnapshot that took the snapshot it names, and that snapshot is verified, of the same
 * database and taken at the Migration's fromRevision. A Migration naming no snapshot is left to
 * the input check; anything still unknown (preview) is not judged.
 */
export function checkMigrationGraph(resources: readonly StackResource[]): StackViolation[] {
  const snapshots = resources.filter((r) => r.type === BackupSnapshot.__pulumiType);
  const violations: StackViolation[] = [];
  for (const migration of resources.filter((r) => r.type === Migration.__pulumiType)) {
    const { database, fromRevision, revision, snapshotId } = migration.props;
    const id = nonEmptyString(snapshotId);
    if (
      fromRevision === UNKNOWN ||
      revision === UNKNOWN ||
      fromRevision === undefined ||
      revision === undefined ||
      fromRevision === revision ||
      id === undefined
    ) {
      continue;
    }
    const report = (message: string): void => {
      violations.push({ message, urn: migration.urn });
    };
    const named = snapshots.filter((s) => s.props.snapshotId === id);
    if (named.length === 0) {
      // A snapshot being created in this preview has no id yet (the engine plans it with its
      // inputs only): it may be the one, so only a stack whose every id is known is judged.
      if (snapshots.every((s) => nonEmptyString(s.props.snapshotId) !== undefined)) {
        report(
          `Migration ${show(migration.name)} names snapshot ${show(id)}, but no BackupSnapshot ` +
            `in this stack took it; the backup must be part of the same update.`,
        );
      }
      continue;
    }
    const snapshot = named.find((s) => dependsOn(migration, s.urn));
    if (snapshot === undefined) {
      report(
        `Migration ${show(migration.name)} names snapshot ${show(id)} but does not depend on ` +
          `BackupSnapshot ${show(named[0].name)} that took it; pass the snapshot's snapshotId ` +
          `output so the backup is taken first.`,
      );
      continue;
    }
    const { verified, database: snapshotDatabase, revision: snapshotRevision } = snapshot.props;
    if (verified !== UNKNOWN && verified !== true) {
      report(
        `BackupSnapshot ${show(snapshot.name)} (snapshot ${show(id)}) that Migration ` +
          `${show(migration.name)} depends on is not verified (verified is ${show(verified)}).`,
      );
    }
    if (snapshotDatabase !== UNKNOWN && database !== UNKNOWN && snapshotDatabase !== database) {
      report(
        `BackupSnapshot ${show(snapshot.name)} is of database ${show(snapshotDatabase)}, but ` +
          `Migration ${show(migration.name)} changes database ${show(database)}.`,
      );
    }
    if (snapshotRevision !== UNKNOWN && snapshotRevision !== fromRevision) {
      report(
        `BackupSnapshot ${show(snapshot.name)} was taken at revision ${show(snapshotRevision)}, ` +
          `but Migration ${show(migration.name)} starts from ${show(fromRevision)}.`,
      );
    }
  }
  return violations;
}

/**
 * `migration-requires-backup`. The input check runs before the Migration is created or updated,
 * so it holds during `pulumi up` too; the graph check runs after preview and after `up`
 * (stack policies only see the stack once its resources changed).
 */
export const migrationRequiresBackup: ResourceValidationPolicy & StackValidationPolicy = {
  name: "migration-requires-backup",
  description:
    "A Migration that changes the schema revision must name a verified BackupSnapshot of the " +
    "same database, taken at the revision the migration starts from, and depend on it.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, reportViolation) => {
    if (!args.isType(Migration)) {
      return;
    }
    for (const message of checkMigrationInputs(readProps(args.props, MIGRATION_KEYS))) {
      reportViolation(message);
    }
  },
  validateStack: (args, reportViolation) => {
    const keys = [...new Set([...MIGRATION_KEYS, ...SNAPSHOT_KEYS])];
    for (const v of checkMigrationGraph(stackResources(args.resources, keys))) {
      reportViolation(v.message, v.urn);
    }
  },
};
