// The rollback target on the command line of `rewind plan` and `rewind rollback`:
// --to-update N, --to-version V, --to-time T, or --to X when X names only one of them.
import { parseRollbackTime } from "../domain/rollbackTime";
import { UsageError, stringOption } from "./options";
import { TargetSelector, selectorOption } from "./stackHistory";

/** The target options' lines of a usage text. */
export const TARGET_HELP = [
  "  --to-update N   the update to roll back to, by its number in rewind history",
  "  --to-version V  the newest succeeded update that ran app version V (all digits too)",
  "  --to X          either, when X names only one of them",
  "  --to-time T     the last update that succeeded before T (2026-11-30T23:57, UTC unless",
  "                  it ends with Z or an offset such as +03:00)",
].join("\n");

/** The target options of plan and rollback, for parseCommand. */
export const TARGET_OPTIONS = {
  to: { type: "string" },
  "to-update": { type: "string" },
  "to-version": { type: "string" },
  "to-time": { type: "string" },
} as const;

/**
 * The one target the command line names.
 * @throws UsageError when none or more than one of --to-update, --to-version, --to is given.
 */
export function targetOption(values: Record<string, unknown>): TargetSelector {
  const given: TargetSelector[] = [];
  const update = stringOption(values, "to-update");
  const version = stringOption(values, "to-version");
  const either = stringOption(values, "to");
  const time = stringOption(values, "to-time");
  if (update !== undefined) given.push({ by: "update", value: update });
  if (version !== undefined) given.push({ by: "version", value: version });
  if (either !== undefined) given.push({ by: "either", value: either });
  if (time !== undefined) given.push({ by: "time", value: time });
  if (given.length !== 1 || given[0].value === "") {
    throw new UsageError(
      given.length > 1
        ? `give one of --to-update, --to-version, --to-time and --to, not ${given.map(selectorOption).join(" and ")}`
        : "--to-update N, --to-version V or --to-time T is required: the update, app version or time to roll back to (see rewind history)",
    );
  }
  if (time !== undefined) {
    // A malformed time is a mistake in the command line: exit 2 before the stack is opened.
    parseRollbackTime(time);
  }
  return given[0];
}
