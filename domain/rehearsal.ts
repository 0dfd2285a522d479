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
