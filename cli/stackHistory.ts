// The stack's history as `rewind` shows it: the rows `rewind history` prints and the update a
// rollback names. Pure: the Automation API's `stack.history()` is read in stackAccess.ts.
import { UserError } from "../domain/errors";
import { HistoryEntry, SnapshotRecord, isGood } from "../domain/pins";
import { parseRollbackTime, updateAtTime } from "../domain/rollbackTime";

/** The stack's outputs that describe the newest update (the contract of index.ts). */
export interface StackOutputs {
  readonly appVersion?: string;
  readonly digest?: string;
  readonly revision?: string;
  readonly snapshotId?: string | null;
  readonly url?: string;
  readonly decision?: string;
  readonly direction?: string;
  readonly reason?: string;
}

/** One line of `rewind history`. */
export interface HistoryRow {
  readonly number: number;
  readonly kind: string;
  readonly result: string;
  /** ISO 8601. */
  readonly startTime: string;
  readonly endTime: string | null;
  readonly durationSeconds: number | null;
  readonly message: string;
  readonly appVersion: string | null;
  /**
   * The image digest that ran. `stack.history()` carries no outputs, so only the newest update
   * has one (from the stack's outputs), or an update whose version pin is itself a digest.
   */
  readonly digest: string | null;
  readonly digestSource: "outputs" | "config" | null;
  readonly revision: string | null;
  /** The snapshot the update took (or restored), or null. */
  readonly snapshotId: string | null;
  /**
   * `outputs`: the newest update's `snapshotId` output; `taken`: a manifest of the update's
   * database whose takenAt lies within the update; `restored`: the update newly pinned it.
   */
  readonly snapshotSource: "outputs" | "taken" | "restored" | null;
  /**
   * For a failed update: what kept serving, the newest update before it that succeeded (a
   * failed update's version never took over: the switch is health-gated). Null otherwise.
   */
  readonly keptServing: {
    readonly update: number;
    readonly appVersion: string | null;
    readonly revision: string | null;
  } | null;
}

// History times are whole seconds; a snapshot taken in the update's last second still counts.
const TIME_SLACK_MS = 1000;

/**
 * The rows of `rewind history`, newest first, from one history call, one outputs call and one
 * listing of each backup store: nothing here costs a call per update.
 * @param entries Oldest first (from {@link toEntries}).
 * @param snapshots Every manifest of the stores the history's configs name.
 * @param outputs The stack's current outputs; they describe the newest update only, and only
 * when it succeeded (a failed update may leave the previous outputs in place).
 */
export function historyRows(
  entries: readonly HistoryEntry[],
  snapshots: readonly SnapshotRecord[],
  outputs?: StackOutputs,
): HistoryRow[] {
  const newest = entries.at(-1);
  const taken = snapshotIndex(snapshots);
  let previousRestore: string | undefined;
  let good: HistoryEntry | undefined;
  const rows = entries.map((entry): HistoryRow => {
    const served = good;
    if (isGood(entry)) good = entry;
    const { pins } = entry;
    const fromOutputs =
      outputs !== undefined &&
      entry === newest &&
      entry.kind === "update" &&
      entry.result === "succeeded";
    let digest: string | null = null;
    let digestSource: HistoryRow["digestSource"] = null;
    if (fromOutputs && outputs.digest) {
      digest = outputs.digest;
      digestSource = "outputs";
    } else if (pins.appVersion?.startsWith("sha256:")) {
      digest = pins.appVersion;
      digestSource = "config";
    }

    let snapshotId: string | null = null;
    let snapshotSource: HistoryRow["snapshotSource"] = null;
    if (fromOutputs && outputs.snapshotId !== undefined) {
      snapshotId = outputs.snapshotId;
      snapshotSource = outputs.snapshotId === null ? null : "outputs";
    } else if (entry.kind === "update") {
      // A newly pinned restore first: the update before it (a migration down that failed) may
      // have taken a backup within the same second, inside this update's time window.
      const during = taken(entry);
      if (pins.restoreSnapshot !== undefined && pins.restoreSnapshot !== previousRestore) {
        snapshotId = pins.restoreSnapshot;
        snapshotSource = "restored";
      } else if (during !== undefined) {
        snapshotId = during.id;
        snapshotSource = "taken";
      }
    }
    if (entry.kind === "update") {
      previousRestore = pins.restoreSnapshot;
    }

    return {
      number: entry.number,
      kind: entry.kind,
      result: entry.result,
      startTime: entry.startTime.toISOString(),
      endTime: entry.endTime?.toISOString() ?? null,
      durationSeconds: durationSeconds(entry),
      message: entry.message,
      appVersion: (fromOutputs ? outputs.appVersion : undefined) ?? pins.appVersion ?? null,
      digest,
      digestSource,
      revision: (fromOutputs ? outputs.revision : undefined) ?? pins.revision ?? null,
      snapshotId,
      snapshotSource,
      keptServing:
        entry.kind === "update" && entry.result === "failed" && served !== undefined
          ? {
              update: served.number,
              appVersion: served.pins.appVersion ?? null,
              revision: served.pins.revision ?? null,
            }
          : null,
    };
  });
  return rows.reverse();
}

/** Seconds from start to end, or null while the update runs. */
export function durationSeconds(entry: Pick<HistoryEntry, "startTime" | "endTime">): number | null {
  if (entry.endTime === undefined) {
    return null;
  }
  return Math.max(0, Math.round((entry.endTime.getTime() - entry.startTime.getTime()) / 1000));
}

/**
 * Finds, for an update, the newest snapshot of its database whose takenAt lies within the
 * update. The snapshots are sorted once and each update binary-searches its window, so a long
 * history with many snapshots stays one pass, not updates × snapshots.
 */
export function snapshotIndex(
  snapshots: readonly SnapshotRecord[],
): (entry: HistoryEntry) => SnapshotRecord | undefined {
  const sorted = snapshots
    .map((s) => ({ at: Date.parse(s.takenAt), s }))
    .filter((x) => !Number.isNaN(x.at))
    .sort((a, b) => a.at - b.at || (a.s.id < b.s.id ? -1 : 1));
  return (entry) => {
    const start = entry.startTime.getTime() - TIME_SLACK_MS;
    const end = (entry.endTime ?? entry.startTime).getTime() + TIME_SLACK_MS;
    // The first index whose time is after `end`; walk back from there while inside the window.
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid].at <= end) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo - 1; i >= 0 && sorted[i].at >= start; i--) {
      const s = sorted[i].s;
      if (entry.pins.database === undefined || s.database === entry.pins.database) {
        return s;
      }
    }
    return undefined;
  };
}

/** Snapshots sorted newest first by takenAt, then id (ids start with the UTC time). */
export function newestFirst<T extends Pick<SnapshotRecord, "takenAt" | "id">>(
  snapshots: readonly T[],
): T[] {
  return [...snapshots].sort(
    (a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt) || (a.id < b.id ? 1 : -1),
  );
}

/** Renders rows as the aligned table `rewind history` prints. */
export function formatHistoryTable(rows: readonly HistoryRow[]): string {
  const header = ["#", "time (UTC)", "result", "app", "digest", "schema", "snapshot", "took"];
  const lines = rows.map((r) => [
    String(r.number),
    r.startTime.replace("T", " ").replace(/\.\d+Z$/, "Z"),
    r.kind === "update" ? r.result : `${r.kind} ${r.result}`,
    `${r.appVersion ?? "-"}${r.keptServing === null ? "" : ` (tried; ${r.keptServing.appVersion ?? "?"} kept serving)`}`,
    r.digest === null ? "-" : shortDigest(r.digest),
    r.revision ?? "-",
    r.snapshotId === null
      ? "-"
      : r.snapshotSource === "restored"
        ? `${r.snapshotId} (restored)`
        : r.snapshotId,
    r.durationSeconds === null ? "running" : formatSeconds(r.durationSeconds),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [render(header), ...lines.map(render)].join("\n") + "\n";
}

/** `sha256:0123456789ab`: enough to tell images apart in a table. */
export function shortDigest(digest: string): string {
  const match = /^sha256:([a-f0-9]{12})[a-f0-9]*$/.exec(digest);
  return match === null ? digest : `sha256:${match[1]}`;
}

/** `42s`, `3m 05s`, `1h 02m`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) {
    return `${seconds}s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, "0")}s`;
  }
  return `${Math.floor(seconds / 3600)}h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * How a command names the update to roll back to: `--to-update N` (a number as `rewind history`
 * shows it), `--to-version V` (the newest succeeded update that ran app version V, digits or
 * not), `--to-time T` (the last succeeded update finished by T), or `--to X`, which is either
 * when only one of them exists.
 */
export type TargetSelector =
  | { readonly by: "update"; readonly value: string }
  | { readonly by: "version"; readonly value: string }
  | { readonly by: "time"; readonly value: string }
  | { readonly by: "either"; readonly value: string };

/** The option as the user typed it, for messages: `--to-update 3`. */
export function selectorOption(selector: TargetSelector): string {
  const name = {
    update: "--to-update",
    version: "--to-version",
    time: "--to-time",
    either: "--to",
  }[selector.by];
  return `${name} ${selector.value}`;
}

/**
 * The update a selector names. Only a succeeded update can be a rollback target: a failed one's
 * config never converged. A bare string is `--to`.
 * @throws UserError naming what exists instead, or both meanings of an ambiguous `--to`.
 */
export function resolveTarget(
  entries: readonly HistoryEntry[],
  selector: TargetSelector | string,
): HistoryEntry {
  const sel: TargetSelector =
    typeof selector === "string" ? { by: "either", value: selector } : selector;
  if (sel.by === "time") {
    return updateAtTime(entries, parseRollbackTime(sel.value));
  }
  const option = selectorOption(sel);
  const good = entries.filter(isGood);
  const digits = /^[0-9]+$/.test(sel.value);
  const byVersion = good.filter((e) => e.pins.appVersion === sel.value).at(-1);
  if (sel.by === "update" && !digits) {
    throw new UserError(`${option}: an update number is all digits (see rewind history)`);
  }
  if (sel.by === "either" && digits) {
    const update = entries.find((e) => e.number === Number(sel.value));
    if (update !== undefined && byVersion !== undefined && update !== byVersion) {
      throw new UserError(
        `${option} is ambiguous: update ${sel.value} (app ${update.pins.appVersion ?? "?"}) and ` +
          `app version ${JSON.stringify(sel.value)} (update ${byVersion.number}); ` +
          `use --to-update ${sel.value} or --to-version ${sel.value}`,
      );
    }
    if (update === undefined && byVersion !== undefined) {
      return byVersion;
    }
  }
  if (sel.by === "update" || (sel.by === "either" && digits)) {
    const n = Number(sel.value);
    const entry = entries.find((e) => e.number === n);
    if (entry === undefined) {
      throw new UserError(
        entries.length === 0
          ? `${option}: the stack has no updates yet`
          : `${option}: there is no update ${n}; updates run from ${entries[0].number} to ` +
              `${entries[entries.length - 1].number} (see rewind history)`,
      );
    }
    if (!isGood(entry)) {
      throw new UserError(
        `${option}: update ${n} is ${entry.kind === "update" ? "" : `a ${entry.kind} that `}` +
          `${entry.result}; only a succeeded update's config can be pinned again` +
          suggest(good),
      );
    }
    return entry;
  }
  if (byVersion === undefined) {
    const versions = [...new Set(good.map((e) => e.pins.appVersion).filter(Boolean))];
    throw new UserError(
      `${option}: no succeeded update ran app version ${JSON.stringify(sel.value)}` +
        (versions.length > 0 ? `; versions that did: ${versions.join(", ")}` : "") +
        (sel.by === "either" ? ` (a number selects an update by its number)` : ""),
    );
  }
  return byVersion;
}

function suggest(good: readonly HistoryEntry[]): string {
  const recent = good.slice(-3).map((e) => `${e.number} (app ${e.pins.appVersion ?? "?"})`);
  return recent.length > 0 ? `; recent succeeded updates: ${recent.join(", ")}` : "";
}
