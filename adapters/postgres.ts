// PostgreSQL adapter: connections, Rewind's migration lock and its version table. Everything
// here is an effect at the edge; the decisions (which steps, which direction) live in
// domain/migrationSet.ts and the providers.

import { WriteCounters } from "../domain/writesSince";
import { Client, ClientConfig } from "pg";
import { UserError } from "../domain/errors";
import { BASE, Revision } from "../domain/revision";

/** Where a URL points, for messages: never the password. */
export interface DatabaseLocation {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/**
 * Reads host, port, database and user from a `postgres://` URL (libpq's defaults for missing
 * parts), for messages and for the pg tools' arguments. The password is never part of it.
 * @throws UserError if `url` is not a PostgreSQL URL; the message does not repeat the URL.
 */
export function locateDatabase(url: string): DatabaseLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new UserError(
      "the database URL is not a valid URL; expected postgres://user:password@host:port/database",
      { cause: error },
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new UserError(
      `the database URL has scheme ${JSON.stringify(parsed.protocol)}; expected postgres://`,
    );
  }
  // libpq lets ?host= name a Unix socket directory when the authority has no host.
  const host =
    decodeURIComponent(parsed.hostname) || parsed.searchParams.get("host") || "localhost";
  const port = Number(parsed.port || parsed.searchParams.get("port") || 5432);
  const user = decodeURIComponent(parsed.username) || parsed.searchParams.get("user") || "";
  const database =
    decodeURIComponent(parsed.pathname.replace(/^\//, "")) ||
    parsed.searchParams.get("dbname") ||
    user;
  return { host, port, database, user };
}

/** `"hunter" at 127.0.0.1:5432`: how every message names a database. */
export function describeDatabase(url: string): string {
  const at = locateDatabase(url);
  return `database ${JSON.stringify(at.database)} at ${at.host}:${at.port}`;
}

/**
 * The URL with its password (in the authority or in `?password=`) removed, plus the password
 * itself: the pg tools get the first in argv and the second in PGPASSWORD, so the password
 * never shows in `ps`.
 */
export function splitPassword(url: string): { url: string; password: string | undefined } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password) || parsed.searchParams.get("password");
  parsed.password = "";
  parsed.searchParams.delete("password");
  return { url: parsed.toString(), password: password ?? undefined };
}

/** Options of {@link connect}. */
export interface ConnectOptions {
  /**
   * Shown in `pg_stat_activity`, so an operator can see who holds the migration lock.
   * @default "rewind"
   */
  readonly applicationName?: string;
  /**
   * How long to wait for the server before giving up.
   * @default 10000
   */
  readonly connectTimeoutMs?: number;
}

// Which stack this process works for (`<project>/<stack>`), put into every session's
// application_name so the holder of the migration lock can be named by stack. One provider
// process serves one stack's update.
let sessionStack = "";

/** Tags this process's sessions with the stack it works for (see {@link lockHolderStack}). */
export function identifySessions(stackId: string): void {
  sessionStack = stackId;
}

/** `rewind-migration rewind/prod`: PostgreSQL keeps the first 63 bytes. */
export function sessionName(purpose: string, stackId = sessionStack): string {
  return stackId === "" ? purpose : `${purpose} ${stackId}`;
}

/** The stack an application_name written by {@link sessionName} names, if it names one. */
export function lockHolderStack(applicationName: string): string | undefined {
  return /^rewind(?:-[a-z]+)? (\S+)$/.exec(applicationName)?.[1];
}

// Error codes of a database that is there but refuses us, mapped to the fix.
const REFUSALS: Record<string, string> = {
  "28P01": "the password was rejected; check the password in rewind:database.url",
  "28000": "the server refused the user; check the user in rewind:database.url and pg_hba.conf",
  "3D000": "the database does not exist; create it or fix the name in rewind:database.url",
  "57P03": "the server is starting up or shutting down; retry once it accepts connections",
  "53300": "the server has too many connections; retry when some are closed",
};

/**
 * Opens a connection to `url`.
 * @throws UserError naming host:port and the database (never the password) when the server
 * cannot be reached or refuses the connection.
 */
export async function connect(url: string, options: ConnectOptions = {}): Promise<Client> {
  const where = describeDatabase(url);
  const config: ClientConfig = {
    connectionString: url,
    application_name: sessionName(options.applicationName ?? "rewind"),
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  };
  const client = new Client(config);
  // An idle connection dropped by the server emits 'error'; without a listener Node would crash
  // the provider process instead of failing the query that notices.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new UserError(`cannot connect to ${where}: ${connectFailure(error)}`, { cause: error });
  }
  return client;
}

function connectFailure(error: unknown): string {
  const e = error as { code?: string; message?: string };
  if (e.code !== undefined && REFUSALS[e.code] !== undefined) {
    return REFUSALS[e.code];
  }
  switch (e.code) {
    case "ECONNREFUSED":
      return "connection refused; is PostgreSQL running and is the port in rewind:database.url right?";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve; check the host in rewind:database.url";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ETIMEDOUT":
      return "the host is unreachable; check the host in rewind:database.url and the network";
    default:
      break;
  }
  if (/timeout/i.test(e.message ?? "")) {
    return "the server did not answer in time; is PostgreSQL running and reachable?";
  }
  // pg's own messages name the server's complaint, not the URL, so they are safe to show.
  return e.message ?? String(error);
}

/** Runs `body` with a connection to `url` and closes it afterwards, whatever happened. */
export async function withClient<T>(
  url: string,
  body: (client: Client) => Promise<T>,
  options: ConnectOptions = {},
): Promise<T> {
  const client = await connect(url, options);
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `body` in a transaction: committed if it returns, rolled back if it throws. */
export async function inTransaction<T>(client: Client, body: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await body();
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// The migration lock

/**
 * The advisory-lock key every Rewind migration and restore takes: the first 8 bytes of
 * sha256("rewind-migrations") as a big-endian integer with the sign bit cleared (so the two
 * halves pg_locks shows are plain positive numbers). Written out because the closure
 * serializer cannot carry a BigInt; test/unit/postgres.test.ts derives it again.
 */
export const MIGRATION_LOCK_KEY = "1025055578146157203";

/** Options of {@link withMigrationLock}. */
export interface LockOptions {
  /**
   * How long to wait for another holder to release the lock before failing.
   * @default 60000
   */
  readonly timeoutMs?: number;
  /** What the caller is about to do, for the error message (e.g. `migrate 0001 -> 0002`). */
  readonly purpose?: string;
}

/**
 * Runs `body` while holding Rewind's session-level advisory lock on the connected database, so
 * two migrations (or a migration and a restore) never interleave. The lock is per database and
 * per session: a killed process releases it with its connection.
 * @throws UserError naming the other holder when the lock is not free within the timeout.
 */
export async function withMigrationLock<T>(
  client: Client,
  body: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  // lock_timeout bounds the wait of pg_advisory_lock like any other heavyweight lock.
  await client.query("SELECT set_config('lock_timeout', $1, false)", [`${timeoutMs}ms`]);
  try {
    await client.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
  } catch (error) {
    if ((error as { code?: string }).code === "55P03") {
      const holder = await describeLockHolder(client).catch(() => "unknown session");
      const what = options.purpose === undefined ? "" : ` before ${options.purpose}`;
      throw new UserError(
        `another migration is running on database ${JSON.stringify(await currentDatabase(client))}: ` +
          `Rewind's migration lock is held by ${holder} and was not released within ` +
          `${Math.round(timeoutMs / 1000)}s${what}. Wait for it to finish and run pulumi up again ` +
          `(if that session is stuck, end it with SELECT pg_terminate_backend(<pid>)).`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.query("SELECT set_config('lock_timeout', '0', false)").catch(() => undefined);
  }
  try {
    return await body();
  } finally {
    await client
      .query("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
  }
}

async function currentDatabase(client: Client): Promise<string> {
  const result = await client.query<{ db: string }>("SELECT current_database() AS db");
  return result.rows[0].db;
}

// pg_locks shows a bigint advisory key as classid (high 32 bits) and objid (low 32 bits).
async function describeLockHolder(client: Client): Promise<string> {
  const key = BigInt(MIGRATION_LOCK_KEY);
  const result = await client.query<{
    pid: number;
    application_name: string;
    client_addr: string | null;
    since: string | null;
  }>(
    `SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr,
            to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid`,
    [String(key >> 32n), String(key & 0xffffffffn)],
  );
  const row = result.rows[0];
  if (row === undefined) {
    return "a session that has since ended";
  }
  const app = row.application_name === "" ? "" : ` (${row.application_name})`;
  const from = row.client_addr === null ? "" : ` from ${row.client_addr}`;
  const since = row.since === null ? "" : `, connected since ${row.since}`;
  const stack = lockHolderStack(row.application_name);
  const who = stack === undefined ? "" : `stack ${JSON.stringify(stack)}, `;
  return `${who}PostgreSQL backend pid ${row.pid}${app}${from}${since}`;
}

// ---------------------------------------------------------------------------------------------
// The version table

/**
 * Rewind's version table: one row per migration step (and per baseline), newest last; the
 * newest row's `revision` is the database's current revision. It lives in `public` so a
 * `search_path` change cannot hide it, and it is part of every snapshot, so a restore brings
 * back the revision the snapshot was taken at.
 */
export const VERSION_TABLE = "public.rewind_schema_version";

/** One row of the version table. */
export interface VersionRow {
  readonly id: number;
  /** The revision after this step. */
  readonly revision: Revision;
  /** The revision before this step. */
  readonly fromRevision: Revision;
  /** `up`/`down` for a step run by a migration, `baseline` for a table created at a revision. */
  readonly direction: "up" | "down" | "baseline";
  /** The script or command the step ran, e.g. `0002_add_slug.up.sql`. */
  readonly step: string | null;
  /** When the step committed (ISO 8601, UTC). */
  readonly appliedAt: string;
  /** The database user that ran it. */
  readonly appliedBy: string;
}

/** Creates the version table if it does not exist (an empty table means revision "base"). */
export async function ensureVersionTable(client: Client): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (
       id bigserial PRIMARY KEY,
       revision text NOT NULL,
       from_revision text NOT NULL,
       direction text NOT NULL CHECK (direction IN ('up', 'down', 'baseline')),
       step text,
       applied_at timestamptz NOT NULL DEFAULT now(),
       applied_by text NOT NULL DEFAULT current_user
     )`,
  );
}

/**
 * The database's current revision: the newest row of the version table, or `"base"` when the
 * table does not exist or is empty (no migration ever ran). Reads only; creates nothing.
 */
export async function readRevision(client: Client): Promise<Revision> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [
    VERSION_TABLE,
  ]);
  if (exists.rows[0].t === null) {
    return BASE;
  }
  const result = await client.query<{ revision: string }>(
    `SELECT revision FROM ${VERSION_TABLE} ORDER BY id DESC LIMIT 1`,
  );
  return result.rows[0]?.revision ?? BASE;
}

/** Reads the current revision of the database at `url` (one short connection). */
export async function readDatabaseRevision(
  url: string,
  options: ConnectOptions = {},
): Promise<Revision> {
  return withClient(url, readRevision, options);
}

/** The version table's rows, oldest first; empty when the table does not exist. */
export async function readHistory(client: Client): Promise<VersionRow[]> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [
    VERSION_TABLE,
  ]);
  if (exists.rows[0].t === null) {
    return [];
  }
  const result = await client.query<{
    id: string;
    revision: string;
    from_revision: string;
    direction: VersionRow["direction"];
    step: string | null;
    applied_at: Date;
    applied_by: string;
  }>(
    `SELECT id, revision, from_revision, direction, step, applied_at, applied_by
       FROM ${VERSION_TABLE} ORDER BY id`,
  );
  return result.rows.map((r) => ({
    id: Number(r.id),
    revision: r.revision,
    fromRevision: r.from_revision,
    direction: r.direction,
    step: r.step,
    appliedAt: r.applied_at.toISOString(),
    appliedBy: r.applied_by,
  }));
}

/**
 * Appends a row to the version table. Call it inside the step's transaction, so the revision
 * recorded and the schema change commit together or not at all.
 */
export async function recordStep(
  client: Client,
  step: {
    readonly revision: Revision;
    readonly fromRevision: Revision;
    readonly direction: VersionRow["direction"];
    readonly step?: string;
  },
): Promise<void> {
  await client.query(
    `INSERT INTO ${VERSION_TABLE} (revision, from_revision, direction, step)
     VALUES ($1, $2, $3, $4)`,
    [step.revision, step.fromRevision, step.direction, step.step ?? null],
  );
}

/**
 * Rewind's record of the restores done into this database. Its own table, so the version table
 * keeps only migrations; created after each restore (the restore empties the database first),
 * and a later snapshot carries it along.
 */
export const RESTORES_TABLE = "public.rewind_restores";

/** Records that snapshot `snapshotId` (taken at `revision`) was restored just now. */
export async function recordRestore(
  client: Client,
  restore: {
    readonly snapshotId: string;
    readonly revision: Revision;
    /** App containers of another version than the pin, stopped for good (issue 10, defect 4). */
    readonly leftStopped?: readonly string[];
  },
): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${RESTORES_TABLE} (
       id bigserial PRIMARY KEY,
       snapshot_id text NOT NULL,
       revision text NOT NULL,
       restored_at timestamptz NOT NULL DEFAULT now(),
       restored_by text NOT NULL DEFAULT current_user
     )`,
  );
  await client.query(
    `ALTER TABLE ${RESTORES_TABLE} ADD COLUMN IF NOT EXISTS left_stopped text[] NOT NULL DEFAULT '{}'`,
  );
  await client.query(
    `INSERT INTO ${RESTORES_TABLE} (snapshot_id, revision, left_stopped) VALUES ($1, $2, $3)`,
    [restore.snapshotId, restore.revision, restore.leftStopped ?? []],
  );
}

/** The snapshot restored last into the database at `url`; undefined if none ever was. */
export async function readLastRestore(
  url: string,
  options: ConnectOptions = {},
): Promise<string | undefined> {
  return withClient(
    url,
    async (client) => {
      const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [
        RESTORES_TABLE,
      ]);
      if (exists.rows[0].t === null) {
        return undefined;
      }
      const last = await client.query<{ snapshot_id: string }>(
        `SELECT snapshot_id FROM ${RESTORES_TABLE} ORDER BY id DESC LIMIT 1`,
      );
      return last.rows[0]?.snapshot_id;
    },
    options,
  );
}

/**
 * The database's cumulative write counters: rows inserted, updated and deleted per user table
 * (pg_stat_user_tables), and when its statistics were last reset.
 */
export async function readWriteCounters(client: Client): Promise<WriteCounters> {
  const reset = await client.query<{ stats_reset: Date | null }>(
    "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()",
  );
  const rows = await client.query<{ name: string; writes: string }>(
    `SELECT format('%s.%s', schemaname, relname) AS name,
            (n_tup_ins + n_tup_upd + n_tup_del)::text AS writes
       FROM pg_stat_user_tables`,
  );
  return {
    statsReset: reset.rows[0]?.stats_reset?.toISOString() ?? null,
    tables: Object.fromEntries(rows.rows.map((r) => [r.name, Number(r.writes)])),
  };
}
