// The stack's history as Rewind reads it: numbered updates, the pins each one ran with, the rows
// `rewind history` prints, the update `--to` names, and the last known-good config. Pure: the
// Automation API's `stack.history()` (one call, config included) is read at the edge.
import { UserError } from "../domain/errors";

/**
 * One config value as `pulumi stack history --json --show-secrets` and `pulumi config --json`
 * give it: `value` is the text (JSON for structured config), `objectValue` the parsed object.
 * A namespace holding one secret leaf is marked secret as a whole.
 */
export interface ConfigEntry {
  readonly value?: string;
  readonly secret?: boolean;
  readonly objectValue?: unknown;
}

/** A stack's config by full key (`rewind:app`, ...). */
export type StackConfig = Readonly<Record<string, ConfigEntry>>;

/** The part of the Automation API's `UpdateSummary` Rewind reads. */
export interface UpdateRecord {
  readonly kind: string;
  readonly startTime: Date;
  readonly endTime?: Date;
  readonly message: string;
  readonly result: string;
  /** 0 on the file backend (every update); the service backend numbers them. */
  readonly version: number;
  readonly config: StackConfig;
}

/** What one update's config pins, read leniently: an old update may predate a key. */
export interface Pins {
  readonly appName?: string;
  readonly image?: string;
  readonly appVersion?: string;
  readonly revision?: string;
  readonly restoreSnapshot?: string;
  readonly storePath?: string;
  /** The database name from the (secret) URL; the URL itself never leaves this function. */
  readonly database?: string;
  readonly migrationsTool?: string;
  readonly migrationsDir?: string;
  /**
   * `rewind:database.migrations.revisions` (Alembic): every revision id, oldest first; the
   * order the program plans by, since Alembic's ids carry none.
   */
  readonly migrationsRevisions?: readonly string[];
  readonly gate?: GatePins;
}

/** The health gate as configured, for "what was verified" in the report. */
export interface GatePins {
  readonly enabled: boolean;
  readonly live?: string;
  readonly ready?: string;
  readonly startup?: string;
  readonly smoke: readonly { readonly path: string; readonly expectStatus: number }[];
  readonly sql: readonly { readonly query: string; readonly minRows: number }[];
}

/** One update of the stack, numbered, with its pins. */
export interface HistoryEntry {
  /** 1 for the stack's first update, counting every kind (update, refresh, destroy, ...). */
  readonly number: number;
  readonly kind: string;
  readonly result: string;
  readonly startTime: Date;
  readonly endTime: Date | undefined;
  readonly message: string;
  readonly config: StackConfig;
  readonly pins: Pins;
}

/**
 * Numbers the history and reads each update's pins.
 * @param updates As `stack.history()` returns them: newest first.
 * @returns Oldest first. The service backend's own version numbers are kept; the file backend
 * reports 0 for every update, so there the number is the position, as `pulumi stack history`
 * counts.
 */
export function toEntries(updates: readonly UpdateRecord[]): HistoryEntry[] {
  const numbered = updates.every((u) => u.version > 0);
  return updates
    .map((u, i) => ({
      number: numbered ? u.version : updates.length - i,
      kind: u.kind,
      result: u.result,
      startTime: u.startTime,
      endTime: u.endTime,
      message: u.message ?? "",
      config: u.config ?? {},
      pins: readPins(u.config ?? {}),
    }))
    .reverse();
}

/** The object a structured config key holds, from `objectValue` or its JSON text. */
export function namespaceObject(
  config: StackConfig,
  key: string,
): Record<string, unknown> | undefined {
  const entry = config[key];
  if (entry === undefined) {
    return undefined;
  }
  if (isRecord(entry.objectValue)) {
    return entry.objectValue;
  }
  if (typeof entry.value === "string") {
    try {
      const parsed: unknown = JSON.parse(entry.value);
      return isRecord(parsed) ? parsed : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Reads the pins of one config; missing or malformed keys are left out, never thrown on. */
export function readPins(config: StackConfig): Pins {
  const app = namespaceObject(config, "rewind:app") ?? {};
  const database = namespaceObject(config, "rewind:database") ?? {};
  const backup = namespaceObject(config, "rewind:backup") ?? {};
  const restore = namespaceObject(config, "rewind:restore") ?? {};
  const migrations = isRecord(database.migrations) ? database.migrations : {};
  const store = isRecord(backup.store) ? backup.store : {};
  return {
    appName: text(app.name),
    image: text(app.image),
    appVersion: text(app.version),
    revision: text(database.revision),
    restoreSnapshot: text(restore.snapshot),
    storePath: text(store.path),
    database: databaseName(text(database.url)),
    migrationsTool: text(migrations.tool),
    migrationsDir: text(migrations.dir),
    migrationsRevisions: textList(migrations.revisions),
    gate: readGate(config, app),
  };
}

function readGate(config: StackConfig, app: Record<string, unknown>): GatePins {
  const gate = namespaceObject(config, "rewind:gate") ?? {};
  const health = isRecord(app.health) ? app.health : {};
  const list = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? v.filter(isRecord) : [];
  return {
    // The schema's defaults (components/config.ts): on, /healthz/live, /healthz/ready.
    enabled: gate.enabled !== false && gate.enabled !== "false",
    live: text(health.live) ?? "/healthz/live",
    ready: text(health.ready) ?? "/healthz/ready",
    startup: text(health.startup),
    smoke: list(gate.smoke).map((s) => ({
      path: text(s.path) ?? "/",
      expectStatus: Number(s.expectStatus ?? 200),
    })),
    sql: list(gate.sql).map((s) => ({
      query: text(s.query) ?? "",
      minRows: Number(s.minRows ?? 1),
    })),
  };
}

/** The database name of a PostgreSQL URL (`postgres://u:p@h:5432/hunter` → `hunter`). */
export function databaseName(url: string | undefined): string | undefined {
  if (url === undefined) {
    return undefined;
  }
  try {
    const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ""));
    return name === "" ? undefined : name;
  } catch {
    return undefined;
  }
}

/** A backup snapshot's manifest, as far as history and plan need it. */
export interface SnapshotRecord {
  readonly id: string;
  readonly database: string;
  readonly revision: string;
  readonly appVersion: string;
  /** ISO 8601. */
  readonly takenAt: string;
  readonly reason?: string;
  /** Where the snapshot lives. */
  readonly storePath: string;
}

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
  const rows = entries.map((entry): HistoryRow => {
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
      const during = taken(entry);
      if (during !== undefined) {
        snapshotId = during.id;
        snapshotSource = "taken";
      } else if (pins.restoreSnapshot !== undefined && pins.restoreSnapshot !== previousRestore) {
        snapshotId = pins.restoreSnapshot;
        snapshotSource = "restored";
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
    r.appVersion ?? "-",
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

/** Whether an update finished and can be pinned again: a succeeded `update`. */
export function isGood(entry: HistoryEntry): boolean {
  return entry.kind === "update" && entry.result === "succeeded";
}

/**
 * The update `--to` names. A whole number is an update number (as `rewind history` shows
 * them); anything else is an app version, meaning the newest succeeded update that ran it.
 * Only a succeeded update can be a rollback target: a failed one's config never converged.
 * @throws UserError naming what exists instead.
 */
export function resolveTarget(entries: readonly HistoryEntry[], to: string): HistoryEntry {
  const good = entries.filter(isGood);
  if (/^[0-9]+$/.test(to)) {
    const n = Number(to);
    const entry = entries.find((e) => e.number === n);
    if (entry === undefined) {
      throw new UserError(
        entries.length === 0
          ? `--to ${to}: the stack has no updates yet`
          : `--to ${to}: there is no update ${n}; updates run from ${entries[0].number} to ` +
              `${entries[entries.length - 1].number} (see rewind history)`,
      );
    }
    if (!isGood(entry)) {
      throw new UserError(
        `--to ${to}: update ${n} is ${entry.kind === "update" ? "" : `a ${entry.kind} that `}` +
          `${entry.result}; only a succeeded update's config can be pinned again` +
          suggest(good),
      );
    }
    return entry;
  }
  const match = good.filter((e) => e.pins.appVersion === to).at(-1);
  if (match === undefined) {
    const versions = [...new Set(good.map((e) => e.pins.appVersion).filter(Boolean))];
    throw new UserError(
      `--to ${to}: no succeeded update ran app version ${JSON.stringify(to)}` +
        (versions.length > 0 ? `; versions that did: ${versions.join(", ")}` : "") +
        ` (a number selects an update by its number)`,
    );
  }
  return match;
}

function suggest(good: readonly HistoryEntry[]): string {
  const recent = good.slice(-3).map((e) => `${e.number} (app ${e.pins.appVersion ?? "?"})`);
  return recent.length > 0 ? `; recent succeeded updates: ${recent.join(", ")}` : "";
}

/**
 * The last known-good config: the newest succeeded update, optionally older than update
 * `before` (the one that just failed).
 */
export function lastKnownGood(
  entries: readonly HistoryEntry[],
  before?: number,
): HistoryEntry | undefined {
  return entries.filter((e) => isGood(e) && (before === undefined || e.number < before)).at(-1);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function textList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => text(v) !== undefined)
    ? (value as string[])
    : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
