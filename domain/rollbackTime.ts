// `rewind rollback --to-time 2026-11-30T23:57`: the runbooks roll back "to what ran at 23:57".
// Pure: the time the operator typed, and the update that was serving at that time.
import { UserError } from "./errors";
import { HistoryEntry, isGood } from "./pins";

const TIME_ALLOWED =
  `a time as YYYY-MM-DDTHH:MM[:SS], UTC unless it ends with Z or an offset such as +03:00 ` +
  `(e.g. 2026-11-30T23:57 or 2026-12-01T02:57+03:00)`;

// A space may stand for the T: that is how the runbooks and `date` write times.
const TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * The instant `text` names. A time without a zone is UTC, the zone `rewind history` prints in:
 * a server's local zone would make the same command mean another time on another machine.
 * @throws UserError naming the text and the accepted forms (bad format, a day or hour that does
 * not exist, an offset beyond ±14:00).
 */
export function parseRollbackTime(text: string): Date {
  const m = TIME.exec(text.trim());
  if (m === null) {
    throw new UserError(`--to-time ${JSON.stringify(text)}: not ${TIME_ALLOWED}`);
  }
  const [, y, mo, d, h, mi, s = "00", zone = "Z"] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  // Date.UTC rolls 2026-02-30 over to March 2; a time that does not exist is a typo.
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    utc.getUTCFullYear() !== year ||
    utc.getUTCMonth() !== month - 1 ||
    utc.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new UserError(`--to-time ${JSON.stringify(text)}: no such date or time of day`);
  }
  return new Date(utc.getTime() - offsetMinutes(text, zone) * 60_000);
}

function offsetMinutes(text: string, zone: string): number {
  if (zone === "Z") {
    return 0;
  }
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2));
  if (hours > 14 || minutes > 59 || (hours === 14 && minutes > 0)) {
    throw new UserError(
      `--to-time ${JSON.stringify(text)}: offset ${zone} is not a time zone (from -14:00 to +14:00)`,
    );
  }
  return (zone.startsWith("-") ? -1 : 1) * (hours * 60 + minutes);
}

/**
 * The update that was serving at `time`: the last succeeded update that had finished by then.
 * One still running at `time` was not serving yet; a failed one never served.
 * @throws UserError when no succeeded update had finished by `time`, naming the first one.
 */
export function updateAtTime(entries: readonly HistoryEntry[], time: Date): HistoryEntry {
  const good = entries.filter(isGood);
  const serving = good.filter((e) => finishedAt(e) <= time.getTime()).at(-1);
  if (serving === undefined) {
    const first = good[0];
    throw new UserError(
      `--to-time ${time.toISOString()}: no update had succeeded by then` +
        (first === undefined
          ? "; the stack has no succeeded update yet"
          : `; the first succeeded update is ${first.number}, finished at ` +
            `${first.endTime?.toISOString() ?? "(not recorded)"} (see rewind history)`),
    );
  }
  return serving;
}

// Milliseconds; an update without an end time is still running, so it finished after any time.
function finishedAt(entry: HistoryEntry): number {
  return entry.endTime?.getTime() ?? Number.POSITIVE_INFINITY;
}
