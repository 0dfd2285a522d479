// What a rehearsed downgrade says about its steps. A rehearsal runs the team's own
// `alembic downgrade <rev>` against a throwaway copy of the database (adapters/rehearsal.ts), so
// an Alembic step whose downgrade() raises is known before anything real is touched. Pure.
import { listedStepsDown } from "./revisionOrder";

/** The outcome of one rehearsed downgrade. */
export interface Rehearsal {
  readonly from: string;
  readonly to: string;
  /** The tool exited 0 and the copy reached `to`. */
  readonly ok: boolean;
  /** The revision the copy was left at (Alembic commits step by step). */
  readonly reached: string;
  /** How long the downgrade itself ran on the copy. */
  readonly seconds: number;
  /** What was copied: the schema only (the default), or the schema and its rows. */
  readonly copied: "schema" | "schema and data";
  /** The tool's last lines ({@link TOOL_OUTPUT_LINES}) when it failed; "" otherwise. */
  readonly output: string;
}

/** How many of a tool's last lines an error shows: enough for a Python traceback's end. */
export const TOOL_OUTPUT_LINES = 20;

/** The last `n` non-blank lines of a tool's output, whole (never cut inside a line). */
export function tailLines(text: string, n = TOOL_OUTPUT_LINES): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  return lines.slice(-n).join("\n");
}

/** Each step down, as the rehearsal left it. */
export interface RehearsedStep {
  readonly revision: string;
  /** true: undone on the copy; false: its downgrade failed; null: not reached. */
  readonly reversible: boolean | null;
}

/**
 * The steps a downgrade from `from` to `to` undoes, newest first, with what the rehearsal
 * showed: those above where the copy stopped were undone, the one it stopped at failed, the
 * ones below it were never tried.
 */
export function rehearsedSteps(order: readonly string[], rehearsal: Rehearsal): RehearsedStep[] {
  const steps = listedStepsDown(order, rehearsal.from, rehearsal.to);
  if (rehearsal.ok) {
    return steps.map((revision) => ({ revision, reversible: true }));
  }
  const stoppedAt = steps.indexOf(rehearsal.reached);
  return steps.map((revision, i) => ({
    revision,
    reversible: stoppedAt < 0 ? null : i < stoppedAt ? true : i === stoppedAt ? false : null,
  }));
}

/** The revisions whose downgrade failed in the rehearsal. */
export function irreversibleInRehearsal(order: readonly string[], rehearsal: Rehearsal): string[] {
  return rehearsedSteps(order, rehearsal)
    .filter((s) => s.reversible === false)
    .map((s) => s.revision);
}

// ---------------------------------------------------------------------------------------------
// The maintenance order, detected (issue 11): before a way down that no declaration puts in the
// maintenance order, the version to go back to is started on a copy of the schema that runs now.
// If it never becomes ready there, app first would leave it broken: the steps are migrated with
// the app stopped instead.

/** What starting the pinned version on a copy of the newer schema showed. */
export interface AppStartTrial {
  /** The version started: the one the rollback pins. */
  readonly version: string;
  /** The revision of the schema the copy was made from (what runs now). */
  readonly revision: string;
  /** The steps down the trial judged: the way down's steps no declaration covers. */
  readonly steps: readonly string[];
  /** It answered 2xx on its readiness path within the timeout. */
  readonly ready: boolean;
  /** How long it took to become ready, or until the trial gave up. */
  readonly seconds: number;
  /** `health.timeoutSeconds` of the pinned config: how long it was given. */
  readonly timeoutSeconds: number;
  /** Why it was not ready (the last answer to its probe, or how its container ended); "" if ready. */
  readonly problem: string;
}

/**
 * The steps of a way down from `from` to `to` (newest first) that a trial must judge: those not
 * in `declared`. None when a declared one is crossed: the planner then runs the whole way down
 * with the app stopped already (planner.ts crossedRevisions), so a trial would change nothing.
 */
export function undeclaredStepsDown(
  order: readonly string[],
  from: string,
  to: string,
  declared: readonly string[],
): string[] {
  const steps = listedStepsDown(order, from, to);
  if (steps.some((step) => declared.includes(step))) return [];
  return steps;
}

/** The revisions a trial puts in the maintenance order: its steps when the app was not ready. */
export function maintenanceDetected(trial: AppStartTrial | undefined): readonly string[] {
  return trial === undefined || trial.ready ? [] : trial.steps;
}

/** The trial in one sentence, for the plan's order and the release's log. */
export function appStartSentence(trial: AppStartTrial): string {
  const copy = `a copy of the schema at ${trial.revision}`;
  return trial.ready
    ? `detected ready: ${trial.version} became ready on ${copy} in ${trial.seconds.toFixed(1)}s; ` +
        `app first`
    : `detected: ${trial.version} did not become ready on ${copy} (${trial.problem}) within ` +
        `${trial.timeoutSeconds}s (health.timeoutSeconds); the rollback pins ` +
        `${trial.steps.join(", ")} in rewind:database.migrations.maintenance`;
}
