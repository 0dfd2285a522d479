// What a rollback would do, decided before doing it: `rewind plan` prints it, `rewind rollback`
// prints it before asking, `rewind release` uses the automatic variant after a failed update.
// Pure. The three methods are the runbooks' (docs/runbooks.md) and map onto the planner's
// decisions.
import { HEALTH_TIMEOUT_SECONDS_DEFAULT } from "./config";
import { MigrationSet, stepsBetween } from "./migrationSet";
import { HistoryEntry, Pins, SnapshotRecord } from "./pins";
import { Decision, Plan, Step, planRelease, rollbackDecision } from "./planner";
import {
  AppStartTrial,
  Rehearsal,
  appStartSentence,
  maintenanceDetected,
  rehearsedSteps,
} from "./rehearsal";
import { BASE } from "./revision";
import { Ordering, compareIn, listedStepsDown, revisionOrdering } from "./revisionOrder";

/** The runbook's name for each rollback method, and its time target ("Decision Matrix"). */
export function method(decision: Decision): { name: string; targetMinutes: number | null } {
  switch (decision) {
    case "app-only":
      return { name: "Application Rollback (runbook method 1)", targetMinutes: 5 };
    case "migration-down":
      return { name: "Database Migration Rollback (runbook method 2)", targetMinutes: 10 };
    case "restore":
      return { name: "Database Restore (runbook method 3)", targetMinutes: 15 };
    case "migration-up":
      return { name: "Forward migration (not a rollback method)", targetMinutes: null };
    case "none":
      return { name: "Nothing to roll back", targetMinutes: null };
    case "refuse":
      return { name: "no safe method (a person must decide)", targetMinutes: null };
    default: {
      const unexpected: never = decision;
      return { name: String(unexpected), targetMinutes: null };
    }
  }
}

/** What runs now, as far as the CLI can tell. */
export interface CurrentState {
  readonly appVersion?: string;
  readonly revision?: string;
  readonly digest?: string;
  /** The restore pin of the current config: a pin equal to it is already done (planner.ts). */
  readonly restoredSnapshot?: string;
  /** `outputs`: the stack's outputs; `history`: the newest succeeded update's config. */
  readonly source: "outputs" | "history" | "none";
}

/** How the preview of the target config went. */
export interface PreviewOutcome {
  readonly ok: boolean;
  /** Resource changes by op (`update`, `same`, ...). */
  readonly changes: Readonly<Record<string, number>>;
  /** The first error, when it failed (the program refused the pin, a policy failed, ...). */
  readonly error?: string;
}

export interface RollbackPlanInput {
  readonly stack: string;
  readonly target: HistoryEntry;
  readonly current: CurrentState;
  /** The migration set of the target's migrations dir; undefined when not readable or not sql. */
  readonly migrations: MigrationSet | undefined;
  /** Why `migrations` is undefined, for the plan. */
  readonly migrationsNote?: string;
  /**
   * The pins of the stack's config now: its Alembic revision list orders the plan when the
   * target's lacks a revision (and is then pinned with the target).
   * @default undefined (the target's list only)
   */
  readonly currentConfig?: Pins;
  /** The newest verified snapshot of the database at the target revision. */
  readonly snapshot: SnapshotRecord | undefined;
  /** `rollback --restore`: pin `snapshot` as the restore too. */
  readonly restore: boolean;
  /** Namespaces the pin would change. */
  readonly configChanges: readonly string[];
  readonly notes?: readonly string[];
  readonly preview?: PreviewOutcome;
  /** The downgrade rehearsed on a copy of the database (Alembic), when one ran. */
  readonly rehearsal?: Rehearsal;
  /** Why no rehearsal ran, when one was wanted. */
  readonly rehearsalNote?: string;
  /** Rows written since the restore candidate was taken, estimated; for the data-loss warning. */
  readonly writesSince?: WritesSince;
  /** The pinned version started on a copy of the schema now, when a trial ran. */
  readonly appStart?: AppStartTrial;
  /** Why no trial ran when one was wanted (the Kubernetes target, no database URL, ...). */
  readonly appStartNote?: string;
}

/** An estimate of the rows written since a snapshot. */
export interface WritesSince {
  /** null when it cannot be estimated (no counters in the snapshot, statistics reset). */
  readonly rows: number | null;
  /** How it was estimated, in a person's words. */
  readonly basis: string;
}

/** In which order the app and the schema move, and the downtime that costs. */
export interface MigrationOrder {
  /**
   * `app first`: the old app takes over on the newer schema, then the schema goes down;
   * `schema first`: up, then the app; `maintenance`: the app stops, the schema moves, the other
   * version starts; `restore`: the app stops for the restore; `none`: the schema stays.
   */
  readonly kind: "app first" | "schema first" | "maintenance" | "restore" | "none";
  /** The declared maintenance revisions crossed (rewind:database.migrations.maintenance). */
  readonly maintenance: readonly string[];
  /** Expected downtime, an upper bound in seconds; null when none is expected or unknown. */
  readonly downtimeSeconds: number | null;
  /** What the downtime is made of; null when there is none. */
  readonly downtime: string | null;
  /** The trial of the pinned version on a copy of the schema now, when one ran. */
  readonly appStart: AppStartTrial | null;
  /** The trial's outcome in a sentence, or why none ran; null when none was wanted. */
  readonly detection: string | null;
}

/** What a restore throws away. */
export interface DataLoss {
  readonly snapshotId: string;
  readonly takenAt: string;
  readonly rowsWrittenSince: number | null;
  readonly basis: string;
}

/** One step down, for "whether every step down is reversible". */
export interface StepDown {
  readonly revision: string;
  /** The sql file's name; null for Alembic, whose history the CLI does not read. */
  readonly name: string | null;
  /**
   * Whether the step has a down script; null for Alembic, where the step's downgrade()
   * decides when it runs.
   */
  readonly reversible: boolean | null;
}

export interface RollbackPlan {
  readonly stack: string;
  readonly target: {
    readonly update: number;
    readonly startTime: string;
    readonly message: string;
  };
  readonly app: {
    readonly from: string | null;
    readonly to: string | null;
    readonly digestNow: string | null;
    readonly source: CurrentState["source"];
  };
  readonly schema: {
    /** The rehearsal of the downgrade on a copy, when one ran. */
    readonly rehearsal: Rehearsal | null;
    readonly from: string | null;
    readonly to: string | null;
    readonly direction: "up" | "down" | "none" | "unknown";
    readonly stepsDown: readonly StepDown[];
    /** True when every step down has a down script; null when unknown or not a downgrade. */
    readonly reversible: boolean | null;
    /**
     * What orders the revisions: `number` (sql), the target config's Alembic list, or the
     * current config's (pinned with the target, whose list lacks a revision); null if unknown.
     */
    readonly orderedBy: "number" | "target-list" | "current-list" | null;
    readonly note: string | null;
  };
  /** The snapshot a restore would use (newest verified at the target revision). */
  readonly snapshot: SnapshotRecord | null;
  /** The snapshot the pinned config restores, if any. */
  readonly restorePin: string | null;
  /**
   * Why the plan restores: `asked` (--restore) or `irreversible` (a step down cannot be undone
   * and a verified snapshot exists at the target: performed only with --allow-restore or a
   * person's yes); null when it does not.
   */
  readonly restoreReason: "asked" | "irreversible" | null;
  readonly order: MigrationOrder;
  /** Set when the plan restores: what written after the snapshot is lost. */
  readonly dataLoss: DataLoss | null;
  readonly decision: Decision;
  readonly method: string;
  readonly targetMinutes: number | null;
  readonly reason: string;
  readonly steps: readonly Step[];
  /** What else would work when the decision is `refuse`. */
  readonly alternative: string | null;
  readonly configChanges: readonly string[];
  readonly notes: readonly string[];
  readonly preview: PreviewOutcome | null;
}

/**
 * Plans pinning the target update's config: app and schema from → to, the steps down and
 * whether each has a down script, the snapshot a restore would use, and the decision the
 * program's own planner (planRelease) will take when it sees the pin.
 */
export function buildRollbackPlan(input: RollbackPlanInput): RollbackPlan {
  const { target, current } = input;
  const to = target.pins;
  const fromRevision = current.revision ?? null;
  const toRevision = to.revision ?? null;
  // A restore pin the current config holds too is done: pinned again it restores nothing
  // (planner.ts), so it neither asks for a restore nor stands in the way of the fall-back.
  const pinned = to.restoreSnapshot !== current.restoredSnapshot ? to.restoreSnapshot : undefined;
  const asked = input.restore ? (input.snapshot?.id ?? null) : (pinned ?? null);

  let direction: RollbackPlan["schema"]["direction"] = "unknown";
  let stepsDown: StepDown[] = [];
  let note: string | null = input.migrationsNote ?? null;
  const notes = [...(input.notes ?? [])];
  // Ordered from "base" when the current revision is unknown, as the planner does.
  const ordering = planOrdering(target, current, input.currentConfig);
  const ordered = ordering !== undefined && ordering.kind !== "refused" ? ordering : undefined;
  if (ordered?.kind === "listed" && ordered.source === "current") {
    notes.push(
      `update ${target.number}'s rewind:database.migrations.revisions lacks a revision; ` +
        `the current config's list is pinned with it (the program orders by the pinned list)`,
    );
  }
  if (ordered !== undefined && fromRevision !== null && toRevision !== null) {
    const order = compareIn(ordered, fromRevision, toRevision);
    direction = order < 0 ? "up" : order > 0 ? "down" : "none";
    const rehearsal =
      input.rehearsal?.from === fromRevision && input.rehearsal.to === toRevision
        ? input.rehearsal
        : undefined;
    if (direction === "down" && ordered.kind === "listed" && rehearsal !== undefined) {
      stepsDown = rehearsedSteps(ordered.order, rehearsal).map((step) => ({
        ...step,
        name: null,
      }));
      note = rehearsalSentence(rehearsal);
    } else if (direction === "down" && ordered.kind === "listed") {
      stepsDown = listedStepsDown(ordered.order, fromRevision, toRevision).map((revision) => ({
        revision,
        name: null,
        reversible: null,
      }));
      note =
        input.rehearsalNote === undefined
          ? ALEMBIC_STEPS
          : `${ALEMBIC_STEPS}; ${input.rehearsalNote}`;
    } else if (direction === "down" && input.migrations !== undefined) {
      try {
        stepsDown = stepsBetween(input.migrations, fromRevision, toRevision).steps.map((s) => ({
          revision: s.revision,
          name: s.name,
          reversible: s.down !== undefined,
        }));
      } catch (error) {
        note = (error as Error).message;
      }
    }
  } else if (note === null && (fromRevision === null || toRevision === null)) {
    note =
      fromRevision === null ? "the current revision is unknown" : "the target pins no revision";
  }
  const rehearsed =
    input.rehearsal !== undefined &&
    input.rehearsal.from === fromRevision &&
    input.rehearsal.to === toRevision;
  const knownSteps =
    direction === "down" &&
    ((ordered?.kind === "numbered" && input.migrations !== undefined && note === null) ||
      (ordered?.kind === "listed" && rehearsed));
  const irreversible = stepsDown.filter((s) => s.reversible === false).map((s) => s.revision);
  // A step that cannot be undone, and a verified snapshot at the target: the plan is the
  // restore, which a rollback performs only with --allow-restore or a person's yes.
  const fallBack =
    asked === null && knownSteps && irreversible.length > 0 && input.snapshot !== undefined;
  const restorePin = fallBack ? input.snapshot!.id : asked;
  const restoreReason: RollbackPlan["restoreReason"] = fallBack
    ? "irreversible"
    : input.restore
      ? "asked"
      : null;
  // A trial on another way down (or without one) says nothing about this one.
  const appStart =
    direction === "down" && input.appStart?.revision === fromRevision ? input.appStart : undefined;
  const maintenanceDeclared = [
    ...new Set([
      ...(to.migrationsMaintenance ?? []),
      ...(input.currentConfig?.migrationsMaintenance ?? []),
      ...maintenanceDetected(appStart),
    ]),
  ];

  let plan: Plan;
  if (to.appVersion === undefined || toRevision === null || ordered === undefined) {
    plan = {
      direction: "none",
      steps: [],
      decision: "refuse",
      reason:
        ordering?.kind === "refused"
          ? ordering.reason
          : `update ${target.number}'s config pins ` +
            (to.appVersion === undefined ? "no app version" : "no revision"),
    };
  } else {
    plan = planRelease({
      current:
        current.source === "none"
          ? undefined
          : {
              appVersion: current.appVersion,
              revision: fromRevision ?? undefined,
              restoredSnapshot: current.restoredSnapshot,
            },
      desired: { appVersion: to.appVersion, revision: toRevision, restoreSnapshot: restorePin },
      irreversible: knownSteps ? irreversible : [],
      order: ordered.kind === "listed" ? ordered.order : undefined,
      maintenance: maintenanceDeclared,
    });
  }
  if (fallBack) {
    plan = {
      ...plan,
      reason:
        `schema ${fromRevision} → ${toRevision} cannot go down: ${irreversible.join(", ")} ` +
        `cannot be undone (${rehearsed ? "its downgrade failed in the rehearsal" : "no down script"}); ` +
        `${plan.reason}`,
    };
  }

  let alternative: string | null = null;
  if (plan.decision === "refuse" && irreversible.length > 0) {
    alternative =
      input.snapshot === undefined
        ? `no verified snapshot of ${to.database ?? "the database"} at ${toRevision} exists to restore instead`
        : `restore snapshot ${input.snapshot.id} instead: rewind rollback --to-update ${target.number} --restore`;
  }
  const m = method(plan.decision);
  return {
    stack: input.stack,
    target: {
      update: target.number,
      startTime: target.startTime.toISOString(),
      message: target.message,
    },
    app: {
      from: current.appVersion ?? null,
      to: to.appVersion ?? null,
      digestNow: current.digest ?? null,
      source: current.source,
    },
    schema: {
      rehearsal: rehearsed ? input.rehearsal! : null,
      from: fromRevision,
      to: toRevision,
      direction,
      stepsDown,
      reversible: knownSteps ? irreversible.length === 0 : null,
      orderedBy:
        ordered === undefined
          ? null
          : ordered.kind === "numbered"
            ? "number"
            : ordered.source === "target"
              ? "target-list"
              : "current-list",
      note,
    },
    snapshot: input.snapshot ?? null,
    restorePin,
    restoreReason: plan.decision === "restore" ? (restoreReason ?? "asked") : null,
    order: {
      ...migrationOrder(plan, direction, input.rehearsal, to.healthTimeoutSeconds),
      appStart: appStart ?? null,
      detection: appStart !== undefined ? appStartSentence(appStart) : (input.appStartNote ?? null),
    },
    dataLoss:
      plan.decision === "restore" ? dataLoss(restorePin, input.snapshot, input.writesSince) : null,
    decision: plan.decision,
    method: m.name,
    targetMinutes: m.targetMinutes,
    reason: plan.reason,
    steps: plan.steps,
    alternative,
    configChanges: input.configChanges,
    notes,
    preview: input.preview ?? null,
  };
}

/** The rehearsal in one sentence, for the plan's schema note. */
function rehearsalSentence(r: Rehearsal): string {
  const copy = `a copy of the ${r.copied}`;
  return r.ok
    ? `rehearsed on ${copy}: alembic downgrade ${r.to} undid every step in ${r.seconds.toFixed(1)}s`
    : `rehearsed on ${copy}: alembic downgrade ${r.to} failed at ${r.reached} after ` +
        `${r.seconds.toFixed(1)}s; the tool's last lines:\n${r.output}`;
}

/** The order the plan moves app and schema in, and the downtime it expects. */
export function migrationOrder(
  plan: Plan,
  direction: RollbackPlan["schema"]["direction"],
  rehearsal: Rehearsal | undefined,
  healthTimeoutSeconds: number | undefined,
): Omit<MigrationOrder, "appStart" | "detection"> {
  // A person's upper bound: the old version may take its whole readiness timeout to start.
  const start = healthTimeoutSeconds ?? HEALTH_TIMEOUT_SECONDS_DEFAULT;
  const maintenance = plan.maintenance ?? [];
  if (plan.decision === "restore") {
    return {
      kind: "restore",
      maintenance: [],
      downtimeSeconds: null,
      downtime:
        `the app is stopped from the restore's start until the pinned version is ready: the ` +
        `restore's time (the snapshot's size) plus up to ${start}s (health.timeoutSeconds)`,
    };
  }
  if (maintenance.length > 0) {
    const migrate = rehearsal?.ok === true ? Math.ceil(rehearsal.seconds) : undefined;
    return {
      kind: "maintenance",
      maintenance,
      downtimeSeconds: migrate === undefined ? null : migrate + start,
      downtime:
        `from the app's stop to the other version's readiness: the migration ` +
        (migrate === undefined ? "" : `(${migrate}s in the rehearsal) `) +
        `plus up to ${start}s for the app to become ready (health.timeoutSeconds)`,
    };
  }
  if (plan.decision === "migration-down" || direction === "down") {
    return { kind: "app first", maintenance: [], downtimeSeconds: null, downtime: null };
  }
  if (plan.decision === "migration-up") {
    return { kind: "schema first", maintenance: [], downtimeSeconds: null, downtime: null };
  }
  return { kind: "none", maintenance: [], downtimeSeconds: null, downtime: null };
}

function dataLoss(
  pin: string | null,
  snapshot: SnapshotRecord | undefined,
  writes: WritesSince | undefined,
): DataLoss | null {
  if (pin === null) return null;
  const known = snapshot !== undefined && snapshot.id === pin;
  return {
    snapshotId: pin,
    takenAt: known ? snapshot.takenAt : "",
    rowsWrittenSince: known ? (writes?.rows ?? null) : null,
    basis: known
      ? (writes?.basis ?? "no estimate: the snapshot records no write counters")
      : "the pinned snapshot is not the newest verified one at the target; no estimate",
  };
}

// Alembic's steps are the team's Python: the CLI does not read them, and the program does not
// refuse any up front (index.ts): a downgrade() that cannot undo its revision raises when it runs.
const ALEMBIC_STEPS =
  "Alembic steps: each step's downgrade() decides at run time whether it can undo its " +
  "revision; the program does not treat any as irreversible up front";

/**
 * How the plan orders the current revision and the target's: the target config's own order
 * (numbers, or its Alembic list), else the current config's Alembic list; undefined when the
 * target pins no revision. An unknown current revision counts as "base", as in the planner.
 */
export function planOrdering(
  target: HistoryEntry,
  current: CurrentState,
  currentConfig: Pins | undefined,
): Ordering | undefined {
  const to = target.pins.revision;
  if (to === undefined) {
    return undefined;
  }
  return revisionOrdering({
    from: current.revision ?? BASE,
    to,
    target: target.pins,
    targetName: `update ${target.number}`,
    current: currentConfig,
    currentName: "the current config",
  });
}

// ---------------------------------------------------------------------------------------------
// rewind release: what to pin after a failed update

/** What `rewind release` does after its update failed. */
export interface AutoRollback {
  /** `pin`: pin the chosen config and run up; `none`: no safe rollback, stop (exit 3). */
  readonly action: "pin" | "none";
  /** `migration-up` when going back is itself an upgrade (the failed release went down). */
  readonly decision: Decision;
  readonly reason: string;
  /** The update whose config is pinned. */
  readonly to?: HistoryEntry;
  /** Keep this revision instead of the known-good one (app-only over a newer schema). */
  readonly keepRevision?: string;
  /** Pin this snapshot to restore as well. */
  readonly restoreSnapshot?: string;
  /**
   * Pin this Alembic revision list with the known-good config: the failed config's, when the
   * known-good one lacks the failed revision (the program orders by the pinned list only).
   */
  readonly revisions?: readonly string[];
}

export interface AutoRollbackInput {
  readonly cause: FailureCause;
  readonly lastKnownGood: HistoryEntry | undefined;
  /** What the failed update pinned. */
  readonly failed: Pins;
  /**
   * Revisions without a down script between the failed pin and the known-good one; undefined
   * when the migration set could not be read (the program checks again and refuses if needed).
   */
  readonly irreversible: readonly string[] | undefined;
  /** The newest verified snapshot of the database at the known-good revision. */
  readonly snapshot: SnapshotRecord | undefined;
}

/** What a failed update's events say about why it failed. */
export interface FailureCause {
  /**
   * Health checks failed: the HealthGate's probes, smoke requests or SQL checks, or the new app
   * version never became ready during its health-gated switch.
   */
  readonly gateFailed: boolean;
  /** A Migration's step failed. */
  readonly migrationFailed: boolean;
  /** `HealthGate hunter-gate`, ... for each resource whose step failed. */
  readonly failedResources: readonly string[];
  /** The first error diagnostic, for the report and the chat message. */
  readonly firstError: string | undefined;
  /** A failed migration's whole error, with the tool's last lines (printed as is). */
  readonly migrationError?: string;
}

/** `health checks failed`, `migration failed`, `update failed`: the cause in a few words. */
export function causeWords(cause: Pick<FailureCause, "gateFailed" | "migrationFailed">): string {
  return cause.migrationFailed
    ? "migration failed"
    : cause.gateFailed
      ? "health checks failed"
      : "update failed";
}

/**
 * The runbooks' decision tree, applied to a failed `rewind release`:
 * - a migration failed: migrate down if every step back has a down script, else restore the
 *   snapshot taken before it, else stop (a person decides);
 * - the gate (or anything else) failed: pin the last known-good config; if its schema is
 *   behind an irreversible step, keep the newer schema and roll the app back only (method 1:
 *   the old app tolerates the newer schema) rather than lose data to a restore.
 */
export function chooseAutoRollback(input: AutoRollbackInput): AutoRollback {
  const { cause, lastKnownGood: good, failed } = input;
  const what = causeWords(cause);
  if (good === undefined) {
    return {
      action: "none",
      decision: "refuse",
      reason: `${what} and no earlier update succeeded: there is no known-good config to pin`,
    };
  }
  const to = `update ${good.number} (app ${good.pins.appVersion ?? "?"}, schema ${good.pins.revision ?? "?"})`;
  const irreversible = input.irreversible;
  const reversible = irreversible !== undefined && irreversible.length === 0;

  // The way back, ordered as the program will order it once the known-good config is pinned.
  const from = failed.revision;
  const back =
    from === undefined || good.pins.revision === undefined
      ? undefined
      : revisionOrdering({
          from,
          to: good.pins.revision,
          target: good.pins,
          targetName: `update ${good.number}`,
          current: failed,
          currentName: "the failed update's config",
        });
  if (back?.kind === "refused") {
    return {
      action: "none",
      decision: "refuse",
      reason: `${what} and the way back cannot be ordered: ${back.reason}`,
    };
  }
  const direction =
    back === undefined || from === undefined || good.pins.revision === undefined
      ? undefined
      : compareIn(back, from, good.pins.revision);
  const revisions = back?.kind === "listed" && back.source === "current" ? back.order : undefined;
  const withList = revisions === undefined ? {} : { revisions };

  if (cause.migrationFailed) {
    const matrix = rollbackDecision({
      gateFailed: cause.gateFailed,
      migrationFailed: true,
      // Unknown counts as reversible: the program reads the migrations itself and refuses an
      // irreversible step, so pinning cannot make things worse than stopping here.
      downReversible: reversible || irreversible === undefined,
      snapshotAvailable: input.snapshot !== undefined,
    });
    switch (matrix.decision) {
      case "migration-down":
        return {
          action: "pin",
          decision: "migration-down",
          reason:
            (irreversible === undefined
              ? `the migration failed: migrate down (${
                  back?.kind === "listed"
                    ? "each Alembic step's downgrade() decides at run time whether it can"
                    : "the down scripts could not be read here; the program checks them"
                })`
              : matrix.reason) + `; pin ${to}`,
          to: good,
          ...withList,
        };
      case "restore":
        return {
          action: "pin",
          decision: "restore",
          reason: `${matrix.reason} (${input.snapshot?.id}); pin ${to}`,
          to: good,
          restoreSnapshot: input.snapshot?.id,
          ...withList,
        };
      default:
        return { action: "none", decision: "refuse", reason: matrix.reason };
    }
  }

  const sameSchema =
    direction === undefined ? from === undefined || from === good.pins.revision : direction === 0;
  if (!sameSchema && irreversible !== undefined && irreversible.length > 0) {
    return {
      action: "pin",
      decision: "app-only",
      reason:
        `${cause.gateFailed ? "health checks" : "the update"} failed and schema ` +
        `${failed.revision} → ${good.pins.revision} has no down script for ${irreversible.join(", ")}: ` +
        `roll the app back to ${good.pins.appVersion ?? "?"} and keep schema ${failed.revision}`,
      to: good,
      keepRevision: failed.revision,
    };
  }
  return {
    action: "pin",
    decision: sameSchema ? "app-only" : direction === -1 ? "migration-up" : "migration-down",
    reason:
      (cause.gateFailed
        ? "health checks failed"
        : `the update failed${cause.firstError ? ` (${cause.firstError})` : ""}`) +
      `: pin the last known-good config, ${to}`,
    to: good,
    ...withList,
  };
}

/**
 * The rollback method an update used, read from its pins and the previous update's: a newly
 * pinned snapshot is a restore, a lower revision a migration down, another app version an
 * app-only rollback.
 */
export function classifyChange(before: Pins | undefined, after: Pins): Decision {
  if (after.restoreSnapshot !== undefined && after.restoreSnapshot !== before?.restoreSnapshot) {
    return "restore";
  }
  if (before?.revision !== undefined && after.revision !== undefined) {
    const ordering = revisionOrdering({
      from: before.revision,
      to: after.revision,
      target: after,
      targetName: "the update",
      current: before,
      currentName: "the update before",
    });
    const order =
      ordering.kind === "refused" ? 0 : compareIn(ordering, before.revision, after.revision);
    if (order > 0) return "migration-down";
    if (order < 0) return "migration-up";
  }
  return before?.appVersion !== after.appVersion ? "app-only" : "none";
}
