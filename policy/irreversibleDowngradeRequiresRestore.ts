// A step without a down script cannot be undone by migrating (it dropped a column, a table):
// going back past it takes a restore of a snapshot, never a half-run downgrade.
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { Migration } from "../components/migration";
import { Restore } from "../components/restore";
import { UserError } from "../domain/errors";
import { MigrationStep, irreversibleSteps, readMigrationSet } from "../domain/migrationSet";
import { compareRevisions, isRevision } from "../domain/revision";
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

const MIGRATION_KEYS = ["tool", "migrationsDir", "fromRevision", "revision"];
const RESTORE_KEYS = ["snapshotId"];

/** Why a Migration cannot go down by migrating, in words, or undefined when it can. */
export function irreversibleDowngrade(migration: Props, projectRoot?: string): string | undefined {
  const { tool, migrationsDir, fromRevision, revision } = migration;
  // Only the sql tool keeps down scripts as files; Alembic's live in Python and are not judged.
  if (tool !== "sql" || !isRevision(fromRevision) || !isRevision(revision)) {
    return undefined;
  }
  if (compareRevisions(fromRevision, revision) <= 0 || migrationsDir === UNKNOWN) {
    return undefined;
  }
  const going = `goes down from ${show(fromRevision)} to ${show(revision)}`;
  const dir = nonEmptyString(migrationsDir);
  if (dir === undefined) {
    return `${going} but names no migrationsDir, so its down scripts cannot be checked`;
  }
  const absolute = resolveFromProject(dir, projectRoot);
  let steps: MigrationStep[];
  try {
    steps = irreversibleSteps(readMigrationSet(absolute), fromRevision, revision);
  } catch (error) {
    if (error instanceof UserError) {
      return `${going} but its down scripts cannot be checked: ${error.message}`;
    }
    throw error;
  }
  if (steps.length === 0) {
    return undefined;
  }
  const missing = steps.map((s) => s.up.replace(/\.up\.sql$/, ".down.sql")).join(", ");
  return `${going} through ${steps.length === 1 ? "a step" : "steps"} without a down script (no ${missing} in ${show(absolute)})`;
}

/**
 * Checks a Migration's own inputs, reading its migrations directory: it must not go down
 * through a step without a down script. After a pinned restore the Release starts the Migration
 * at the snapshot's revision, so a Migration whose own path still crosses such a step cannot
 * run even with a Restore in the stack.
 */
export function checkDowngradeInputs(migration: Props, projectRoot?: string): string[] {
  const why = irreversibleDowngrade(migration, projectRoot);
  return why === undefined
    ? []
    : [
        `The Migration ${why}; going back past a step without a down script takes a restore: ` +
          `pin a snapshot (rewind:restore.snapshot) instead of migrating down.`,
      ];
}

/**
 * Checks the stack: a Migration that goes down through a step without a down script is
 * refused unless the stack pins a Restore (a Restore resource with a snapshot, or one still
 * unknown during preview).
 */
export function checkDowngradeStack(
  resources: readonly StackResource[],
  projectRoot?: string,
): StackViolation[] {
  const restorePinned = resources.some(
    (r) =>
      r.type === Restore.__pulumiType &&
      (r.props.snapshotId === UNKNOWN || nonEmptyString(r.props.snapshotId) !== undefined),
  );
  if (restorePinned) {
    return [];
  }
  const violations: StackViolation[] = [];
  for (const migration of resources.filter((r) => r.type === Migration.__pulumiType)) {
    const why = irreversibleDowngrade(migration.props, projectRoot);
    if (why !== undefined) {
      violations.push({
        urn: migration.urn,
        message:
          `Migration ${show(migration.name)} ${why}, and this stack pins no Restore; pin a ` +
          `snapshot to restore instead (rewind:restore.snapshot).`,
      });
    }
  }
  return violations;
}

/** `irreversible-downgrade-requires-restore`. */
export const irreversibleDowngradeRequiresRestore: ResourceValidationPolicy &
  StackValidationPolicy = {
  name: "irreversible-downgrade-requires-restore",
  description:
    "A Migration must not go down through a step that has no down script; going back past " +
    "such a step takes a pinned Restore of a snapshot.",
  enforcementLevel: "mandatory",
  severity: "critical",
  validateResource: (args, reportViolation) => {
    if (!args.isType(Migration)) {
      return;
    }
    for (const message of checkDowngradeInputs(readProps(args.props, MIGRATION_KEYS))) {
      reportViolation(message);
    }
  },
  validateStack: (args, reportViolation) => {
    const keys = [...MIGRATION_KEYS, ...RESTORE_KEYS];
    for (const v of checkDowngradeStack(stackResources(args.resources, keys))) {
      reportViolation(v.message, v.urn);
    }
  },
};
