// A stack's updates as Rewind reads them: each update numbered, with the config it ran with
// and the pins that config holds (app version, revision, restore, store, migrations, gate).
// Pure: the CLI reads the history through the Automation API and hands it here.
import { WriteCounters } from "./writesSince";

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
  /** `rewind:database.migrations.maintenance`: revisions migrated with the app stopped. */
  readonly migrationsMaintenance?: readonly string[];
  /** `rewind:app.health.timeoutSeconds` (60 when absent): how long a new version may take. */
  readonly healthTimeoutSeconds?: number;
  readonly gate?: GatePins;
}

/** The health gate as configured, for "what was verified" in the report. */
export interface GatePins {
  readonly enabled: boolean;
  readonly live?: string;
  readonly ready?: string;
  readonly startup?: string;
  readonly smoke: readonly {
    readonly path: string;
    readonly expectStatus: number;
    readonly maxMs?: number;
  }[];
  readonly sql: readonly { readonly query: string; readonly minRows: number }[];
  /** Dependency checks (TCP, commands), by name, for the report. @default [] */
  readonly dependencies?: readonly string[];
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
    migrationsMaintenance: textList(migrations.maintenance),
    healthTimeoutSeconds: positive((isRecord(app.health) ? app.health : {}).timeoutSeconds),
    gate: readGate(config, app),
  };
}

function readGate(config: StackConfig, app: Record<string, unknown>): GatePins {
  const gate = namespaceObject(config, "rewind:gate") ?? {};
  const health = isRecord(app.health) ? app.health : {};
  const list = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? v.filter(isRecord) : [];
  return {
    // The schema's defaults (domain/config/): on, /healthz/live, /healthz/ready.
    enabled: gate.enabled !== false && gate.enabled !== "false",
    live: text(health.live) ?? "/healthz/live",
    ready: text(health.ready) ?? "/healthz/ready",
    startup: text(health.startup),
    smoke: list(gate.smoke).map((s) => ({
      path: text(s.path) ?? "/",
      expectStatus: Number(s.expectStatus ?? 200),
      ...(s.maxMs === undefined ? {} : { maxMs: Number(s.maxMs) }),
    })),
    ...(list(gate.tcp).length + list(gate.command).length === 0
      ? {}
      : {
          dependencies: [
            ...list(gate.tcp).map(
              (t) => `${text(t.name) ?? "?"} (TCP ${String(t.host)}:${String(t.port)})`,
            ),
            ...list(gate.command).map((c) => `${text(c.name) ?? "?"} (a command exits 0)`),
          ],
        }),
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
  /** The database's write counters when it was taken (newer manifests). */
  readonly writes?: WriteCounters;
}

/** Whether an update finished and can be pinned again: a succeeded `update`. */
export function isGood(entry: HistoryEntry): boolean {
  return entry.kind === "update" && entry.result === "succeeded";
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

function positive(value: unknown): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

function textList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => text(v) !== undefined)
    ? (value as string[])
    : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
