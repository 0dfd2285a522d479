import { InternalError } from "./errors";
import { BASE, Revision, compareInOrder, compareRevisions } from "./revision";
import { listedStepsDown } from "./revisionOrder";

/** What a release does to the schema, or that it restores, or that only the app moves. */
export type Direction = "initial" | "upgrade" | "downgrade" | "restore" | "app-only" | "none";

/** One stage of a release; the Release component wires its resources in this order. */
export type Step = "backup" | "migrate" | "app" | "gate" | "stop-app" | "restore";

/**
 * The kind of change, as `rewind plan` prints it. `app-only`, `migration-down` and `restore` are
 * the three rollback methods of the runbooks; `migration-up` is a forward schema change,
 * `none` means nothing to do and `refuse` that the pin cannot be reached safely.
 */
export type Decision =
  "app-only" | "migration-up" | "migration-down" | "restore" | "none" | "refuse";

/** What is deployed now, read before the graph is built. */
export interface CurrentRelease {
  /** The app version running now; `undefined` if no app was deployed yet. */
  readonly appVersion?: string;
  /** The schema revision the database reports; `undefined` means no migration ever ran. */
  readonly revision?: Revision;
  /**
   * The snapshot the last restore used. A restore pin left in the config after it was applied
   * must not restore again (that would throw away everything written since), so the planner
   * treats a pin equal to this as done.
   */
  readonly restoredSnapshot?: string;
}

/** What the stack's config pins. */
export interface DesiredRelease {
  readonly appVersion: string;
  readonly revision: Revision;
  /** A snapshot id to restore, or `null`/`undefined` for none. */
  readonly restoreSnapshot?: string | null;
}

/** Everything the planner needs; it reads nothing else. */
export interface PlanInput {
  /** `undefined` on the first deploy. */
  readonly current: CurrentRelease | undefined;
  readonly desired: DesiredRelease;
  /** Revisions without a down script on the way from the current revision down to the pin. */
  readonly irreversible: readonly Revision[];
  /**
   * The revision history oldest first, for tools whose ids carry no order (Alembic). Without
   * it, revisions are compared as numbered `sql` revisions.
   * @default undefined (numbered revisions)
   */
  readonly order?: readonly Revision[];
  /**
   * Take a backup before a migration that changes the revision (`rewind:backup.beforeMigration`).
   * @default true
   */
  readonly backupBeforeMigration?: boolean;
  /**
   * Run the health gate after the app changes (`rewind:gate.enabled`).
   * @default true
   */
  readonly gateEnabled?: boolean;
  /**
   * Revisions declared to need the maintenance order (`rewind:database.migrations.maintenance`):
   * a rename or a split, where neither app version runs on the other's schema.
   * @default [] (expand/contract: the app switches while the other schema is in place)
   */
  readonly maintenance?: readonly Revision[];
}

/** The plan of one release. */
export interface Plan {
  readonly direction: Direction;
  /** In order; empty when the decision is `none` or `refuse`. */
  readonly steps: readonly Step[];
  readonly decision: Decision;
  /** One sentence for `rewind plan` and the rollback report. */
  readonly reason: string;
  /**
   * The declared maintenance revisions this migration crosses: the app is stopped before the
   * migration and the other version started after it (downtime instead of a broken app).
   * Empty or absent: the usual order, no downtime.
   */
  readonly maintenance?: readonly Revision[];
}

/**
 * Plans a release from what runs now to what the config pins, in this order:
 * - upgrade: backup → migrate → app → gate (no schema change without a fresh backup);
 * - downgrade: app → backup → migrate → gate (the old app tolerates the newer schema:
 *   expand/contract, so it can go first and the schema follows; a step down drops data, so it
 *   gets a fresh backup too, which the migration-requires-backup policy demands of any change);
 * - restore: stop-app → restore → app → gate (nothing may write during a restore);
 * - app-only: app → gate.
 * A downgrade through an irreversible step is refused unless a snapshot is pinned to restore.
 * The app step is left out when the app version does not change.
 */
export function planRelease(input: PlanInput): Plan {
  const { current, desired } = input;
  const backup = input.backupBeforeMigration ?? true;
  const gate = input.gateEnabled ?? true;
  const finish = (steps: Step[]): Step[] => (gate ? [...steps, "gate"] : steps);
  const snapshot = desired.restoreSnapshot ?? undefined;

  if (snapshot !== undefined && snapshot !== current?.restoredSnapshot) {
    return {
      direction: "restore",
      steps: finish(["stop-app", "restore", "app"]),
      decision: "restore",
      reason:
        `restore snapshot ${JSON.stringify(snapshot)}: stop the app, restore the database, ` +
        `then start app ${desired.appVersion}`,
    };
  }

  const migration: Step[] = backup ? ["backup", "migrate"] : ["migrate"];

  if (
    current === undefined ||
    (current.appVersion === undefined && current.revision === undefined)
  ) {
    const migrates = desired.revision !== BASE;
    return {
      direction: "initial",
      steps: finish([...(migrates ? migration : []), "app"]),
      decision: migrates ? "migration-up" : "app-only",
      reason:
        `first deploy: ` +
        (migrates ? `migrate ${BASE} → ${desired.revision}, then ` : "") +
        `start app ${desired.appVersion}`,
    };
  }

  const from = current.revision ?? BASE;
  const to = desired.revision;
  const appChanges = current.appVersion !== desired.appVersion;
  const app: Step[] = appChanges ? ["app"] : [];
  const appMove = appChanges
    ? `app ${current.appVersion ?? "(none)"} → ${desired.appVersion}`
    : `app stays at ${desired.appVersion}`;
  const order =
    input.order === undefined ? compareRevisions(from, to) : compareInOrder(input.order, from, to);
  const maintenance = crossedRevisions(input.maintenance ?? [], input.order, from, to);
  const stopped = maintenance.length === 0 ? "" : maintenanceNote(maintenance);

  switch (order) {
    case -1:
      return {
        direction: "upgrade",
        steps: finish([...migration, ...app]),
        decision: "migration-up",
        reason:
          `schema ${from} → ${to} (up), ${appMove}: ` +
          (stopped === ""
            ? `${backup ? "back up, " : ""}migrate up, then switch the app`
            : `${stopped}: ${backup ? "back up, " : ""}stop the app, migrate up, then start app ${desired.appVersion}`),
        ...(maintenance.length > 0 ? { maintenance } : {}),
      };
    case 1:
      if (input.irreversible.length > 0) {
        return {
          direction: "downgrade",
          steps: [],
          decision: "refuse",
          reason:
            `schema ${from} → ${to} passes through ${plural(input.irreversible.length, "irreversible step")} ` +
            `${input.irreversible.join(", ")} (no down script); ` +
            `pin a snapshot to restore instead (rewind:restore.snapshot)`,
        };
      }
      if (maintenance.length > 0) {
        return {
          direction: "downgrade",
          steps: finish([...migration, ...app]),
          decision: "migration-down",
          reason:
            `schema ${from} → ${to} (${downNote(input)}), ${appMove}: ${stopped}: ` +
            `${backup ? "back up, " : ""}stop the app, migrate down, then start app ${desired.appVersion}`,
          maintenance,
        };
      }
      return {
        direction: "downgrade",
        steps: finish([...app, ...migration]),
        decision: "migration-down",
        reason:
          `schema ${from} → ${to} (${downNote(input)}), ${appMove}: ` +
          `switch the app first (it tolerates the newer schema), ` +
          `${backup ? "back up, " : ""}then migrate down`,
      };
    case 0:
      if (appChanges) {
        return {
          direction: "app-only",
          steps: finish(["app"]),
          decision: "app-only",
          reason: `${appMove}; schema stays at ${to}`,
        };
      }
      return {
        direction: "none",
        steps: [],
        decision: "none",
        reason: `app ${desired.appVersion} and schema ${to} are already as pinned`,
      };
    default: {
      const unexpected: never = order;
      throw new InternalError(`comparison returned ${String(unexpected)}`);
    }
  }
}

/** What went wrong in a release, as `rewind release` observed it. */
export interface Failure {
  /** The health gate failed (probes, smoke requests or SQL checks). */
  readonly gateFailed: boolean;
  /** A migration step failed. */
  readonly migrationFailed: boolean;
  /** Every step back to the last known-good revision has a down script. */
  readonly downReversible: boolean;
  /** A verified snapshot taken before the migration exists. */
  readonly snapshotAvailable: boolean;
}

/** The rollback method for a failure; `migration-up` never applies to a rollback. */
export type RollbackDecision = Exclude<Decision, "migration-up">;

/**
 * The runbooks' decision matrix (the hunter runbook's "Rollback Decision Tree", docs/runbooks.md):
 * - migration failed → migration down (method 2); if a down is impossible → restore (method 3);
 *   with neither a down path nor a snapshot → refuse (a human must decide);
 * - health checks failing (the gate) → application rollback (method 1): the old app tolerates
 *   the newer schema, so the database stays;
 * - nothing failed → none.
 * A failed migration outranks a failed gate: the schema is then not what any app version expects.
 */
export function rollbackDecision(failure: Failure): {
  decision: RollbackDecision;
  reason: string;
} {
  if (failure.migrationFailed) {
    if (failure.downReversible) {
      return {
        decision: "migration-down",
        reason: "the migration failed and every step back has a down script: migrate down",
      };
    }
    if (failure.snapshotAvailable) {
      return {
        decision: "restore",
        reason:
          "the migration failed and a step back has no down script: restore the snapshot " +
          "taken before the migration",
      };
    }
    return {
      decision: "refuse",
      reason:
        "the migration failed, a step back has no down script and no snapshot is available: " +
        "no safe automatic rollback, a human must decide",
    };
  }
  if (failure.gateFailed) {
    return {
      decision: "app-only",
      reason: "the health gate failed: roll the app back to the last known-good version",
    };
  }
  return { decision: "none", reason: "nothing failed: no rollback needed" };
}

/**
 * The declared revisions a migration between `from` and `to` applies or undoes: those above the
 * lower revision up to and including the higher one (listed order for Alembic, numbers for sql).
 */
export function crossedRevisions(
  declared: readonly Revision[],
  order: readonly Revision[] | undefined,
  from: Revision,
  to: Revision,
): Revision[] {
  if (declared.length === 0) return [];
  if (order !== undefined) {
    const crossed = [...listedStepsDown(order, from, to), ...listedStepsDown(order, to, from)];
    return crossed.filter((r) => declared.includes(r));
  }
  const [low, high] = compareRevisions(from, to) <= 0 ? [from, to] : [to, from];
  return declared.filter((r) => compareRevisions(r, low) > 0 && compareRevisions(r, high) <= 0);
}

function maintenanceNote(revisions: readonly Revision[]): string {
  return (
    `maintenance order for ${revisions.join(", ")} (rewind:database.migrations.maintenance: ` +
    `the app cannot run on the other schema, so it stops during the migration)`
  );
}

// Down scripts are known for numbered sql migrations; a tool with its own ordering (Alembic)
// finds out only when each downgrade() runs.
function downNote(input: PlanInput): string {
  return input.order === undefined
    ? "down, every step reversible"
    : "down; each Alembic step's downgrade() decides whether it can";
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
