import { readdirSync } from "node:fs";
import { UserError } from "./errors";
import { BASE, Revision, formatRevision, revisionNumber } from "./revision";

/** One numbered migration of the `sql` tool: `0003_add_users.up.sql` and its down script. */
export interface MigrationStep {
  /** The revision the database is at once this step is applied, e.g. `"0003"`. */
  readonly revision: Revision;
  /** The name part of the file names, e.g. `"add_users"`. */
  readonly name: string;
  /** File name of the up script, e.g. `"0003_add_users.up.sql"`. */
  readonly up: string;
  /** File name of the down script, or `undefined` when the step is irreversible. */
  readonly down: string | undefined;
}

/** The migrations of one directory, `steps[i].revision` being revision `i + 1`, no gaps. */
export interface MigrationSet {
  readonly steps: readonly MigrationStep[];
}

/** Which way a database moves between two revisions. */
export type MigrationDirection = "up" | "down" | "none";

/** The steps that take a database from one revision to another, in the order to run them. */
export interface MigrationPath {
  readonly direction: MigrationDirection;
  /** Up: oldest first, run each `up` script. Down: newest first, run each `down` script. */
  readonly steps: readonly MigrationStep[];
}

const FILE = /^([0-9]{4})_([A-Za-z0-9][A-Za-z0-9_-]*)\.(up|down)\.sql$/;

/**
 * Builds the migration set from the file names of a migrations directory. Names that do not
 * end in `.sql` (a README, `.gitkeep`) and hidden files are ignored; every `.sql` file must be
 * `NNNN_name.up.sql` or `NNNN_name.down.sql`, because a misnamed migration silently skipped is
 * worse than a refused deploy. Order of `fileNames` does not matter.
 * @param source Where the names come from (the directory), named in error messages.
 * @throws UserError listing every problem: malformed names, duplicate revisions, a down script
 * without its up script, gaps in the numbering (which must run from 0001).
 */
export function buildMigrationSet(fileNames: readonly string[], source?: string): MigrationSet {
  const problems: string[] = [];
  const ups = new Map<number, string[]>();
  const downs = new Map<number, string[]>();
  for (const file of [...fileNames].sort()) {
    if (file.startsWith(".") || !file.endsWith(".sql")) {
      continue;
    }
    const match = FILE.exec(file);
    if (match === null) {
      problems.push(
        `${file} is not a migration file name; expected NNNN_name.up.sql or NNNN_name.down.sql`,
      );
      continue;
    }
    const [, digits, , kind] = match;
    const n = Number(digits);
    if (n === 0) {
      problems.push(`${file} has revision 0000; numbering starts at 0001`);
      continue;
    }
    const byNumber = kind === "up" ? ups : downs;
    byNumber.set(n, [...(byNumber.get(n) ?? []), file]);
  }

  for (const [kind, byNumber] of [
    ["up", ups],
    ["down", downs],
  ] as const) {
    for (const [n, files] of byNumber) {
      if (files.length > 1) {
        problems.push(
          `revision ${formatRevision(n)} has ${files.length} ${kind} scripts: ${files.join(", ")}`,
        );
      }
    }
  }

  for (const [n, [down]] of downs) {
    const up = ups.get(n)?.[0];
    const expected = down.replace(/\.down\.sql$/, ".up.sql");
    if (up === undefined) {
      problems.push(`${down} has no up script (expected ${expected})`);
    } else if (up !== expected) {
      problems.push(`${down} does not match the up script ${up} (the names must be the same)`);
    }
  }

  const head = Math.max(0, ...ups.keys(), ...downs.keys());
  const missing: number[] = [];
  for (let n = 1; n <= head; n++) {
    if (!ups.has(n) && !downs.has(n)) {
      missing.push(n);
    }
  }
  if (missing.length > 0) {
    problems.push(
      `missing ${missing.length === 1 ? "revision" : "revisions"} ${formatRanges(missing)} ` +
        `(numbering must run from 0001 without gaps)`,
    );
  }

  if (problems.length > 0) {
    const where = source === undefined ? "migrations" : `migrations in ${JSON.stringify(source)}`;
    throw new UserError(`${where}: ${problems.join("; ")}`);
  }

  const steps: MigrationStep[] = [];
  for (let n = 1; n <= head; n++) {
    const up = ups.get(n)?.[0];
    const match = up === undefined ? null : FILE.exec(up);
    // Unreachable after the checks above (every number has exactly one up), kept for the type.
    if (up === undefined || match === null) {
      throw new UserError(`revision ${formatRevision(n)} has no up script`);
    }
    steps.push({ revision: formatRevision(n), name: match[2], up, down: downs.get(n)?.[0] });
  }
  return { steps };
}

/** Every revision the set can be at, oldest first: `"base"`, then one per step. */
export function revisionsOf(set: MigrationSet): Revision[] {
  return [BASE, ...set.steps.map((s) => s.revision)];
}

/** The newest revision of the set, `"base"` when it has no migrations. */
export function headRevision(set: MigrationSet): Revision {
  return set.steps.at(-1)?.revision ?? BASE;
}

/**
 * The steps that take a database at `from` to `to`: up runs the steps after `from` up to and
 * including `to`, oldest first; down runs the steps after `to` up to and including `from`,
 * newest first (each undoes the one it names).
 * @throws UserError naming the known revisions if `from` or `to` is not in the set.
 */
export function stepsBetween(set: MigrationSet, from: Revision, to: Revision): MigrationPath {
  const known = revisionsOf(set);
  const unknown = [...new Set([from, to])].filter((r) => !known.includes(r));
  if (unknown.length > 0) {
    const names = unknown.map((r) => JSON.stringify(r)).join(" and ");
    throw new UserError(
      `cannot migrate from ${from} to ${to}: ${unknown.length === 1 ? "revision" : "revisions"} ` +
        `${names} ${unknown.length === 1 ? "is" : "are"} unknown; known revisions: ${known.join(", ")}`,
    );
  }
  const a = revisionNumber(from);
  const b = revisionNumber(to);
  if (a < b) {
    return { direction: "up", steps: set.steps.slice(a, b) };
  }
  if (a > b) {
    return { direction: "down", steps: set.steps.slice(b, a).reverse() };
  }
  return { direction: "none", steps: [] };
}

/**
 * The steps without a down script on the way from `from` down to `to`, in the order a
 * downgrade would meet them; empty for an upgrade or no change. A non-empty answer means the
 * downgrade is impossible and only a restore can go back.
 * @throws UserError if `from` or `to` is not in the set.
 */
export function irreversibleSteps(
  set: MigrationSet,
  from: Revision,
  to: Revision,
): MigrationStep[] {
  const path = stepsBetween(set, from, to);
  return path.direction === "down" ? path.steps.filter((s) => s.down === undefined) : [];
}

/**
 * Reads the migration set of directory `dir` (the only I/O of this module: one listing).
 * @throws UserError if the directory does not exist or its files do not form a valid set.
 */
export function readMigrationSet(dir: string): MigrationSet {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => entry.name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new UserError(`migrations directory ${JSON.stringify(dir)} does not exist`, {
        cause: error,
      });
    }
    throw error;
  }
  return buildMigrationSet(names, dir);
}

// 2, 3, 4, 7 → "0002 to 0004, 0007": a gap of hundreds stays one readable line.
function formatRanges(numbers: readonly number[]): string {
  const parts: string[] = [];
  let start = numbers[0];
  for (let i = 1; i <= numbers.length; i++) {
    if (i === numbers.length || numbers[i] !== numbers[i - 1] + 1) {
      const end = numbers[i - 1];
      parts.push(
        start === end
          ? formatRevision(start)
          : `${formatRevision(start)} to ${formatRevision(end)}`,
      );
      start = numbers[i];
    }
  }
  return parts.join(", ");
}
