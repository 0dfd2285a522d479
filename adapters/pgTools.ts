// The host's PostgreSQL client tools: pg_dump, and pg_restore piped into psql. The password
// goes through PGPASSWORD, never argv, where every local user could read it in `ps`.
import { InternalError, UserError } from "../domain/errors";
import { describeDatabase, splitPassword } from "./postgres";
import { notInstalled, runProcess, startProcess } from "./process";

/**
 * The libpq environment and `--dbname` argument for `url`: the URL without its password (libpq
 * accepts URIs in --dbname, so every query parameter such as sslmode carries over) and the
 * password in PGPASSWORD. `--no-password` in the callers makes a missing password fail instead
 * of waiting for a prompt nobody answers.
 */
export function libpqTarget(url: string): { dbname: string; env: Record<string, string> } {
  const { url: withoutPassword, password } = splitPassword(url);
  const env: Record<string, string> = {};
  if (password !== undefined) {
    env.PGPASSWORD = password;
  }
  return { dbname: withoutPassword, env };
}

/** Options of {@link restoreDatabase}. */
export interface RestoreOptions {
  /**
   * How long a DROP may wait for a lock held by another session before the restore fails (and
   * rolls back) instead of hanging behind a client that was not stopped.
   * @default 60000
   */
  readonly lockTimeoutMs?: number;
}

/** The `pg_dump -Fc` arguments for writing the database at `dbname` to `file`. */
export function pgDumpArgs(dbname: string, file: string): string[] {
  return ["--format=custom", "--no-password", `--file=${file}`, `--dbname=${dbname}`];
}

/**
 * The `pg_restore` arguments that turn the dump `file` into an SQL script on stdout, dropping
 * each of its objects before recreating it (`--clean --if-exists`). No connection: psql runs
 * the script inside Rewind's transaction (see {@link restoreDatabase}).
 */
export function pgRestoreScriptArgs(file: string): string[] {
  return ["--clean", "--if-exists", "--no-password", "--file=-", file];
}

/** The `psql` arguments that run stdin, stopping at the first error. */
export function psqlRestoreArgs(dbname: string): string[] {
  return [
    "--no-psqlrc",
    "--quiet",
    "--no-password",
    "--set=ON_ERROR_STOP=1",
    `--dbname=${dbname}`,
    "--file=-",
  ];
}

/**
 * Run first in a restore's transaction: drops every schema but `public`, and every table, view,
 * sequence, function and type in `public`, except what belongs to an extension (the dump
 * recreates extensions with IF NOT EXISTS). `pg_restore --clean` alone drops only the objects
 * the dump holds, so a table a later migration created would survive the restore, and migrating
 * up again would fail on "already exists". `public` itself stays: its owner and grants are not
 * part of a dump. Other object kinds (operators, collations, ...) are left to `--clean`.
 */
export const RESET_SQL = `-- Rewind restore: empty the database before the snapshot's objects are recreated.
DO $rewind$
DECLARE
  r record;
BEGIN
  PERFORM pg_catalog.set_config('search_path', 'pg_catalog', true);
  FOR r IN
    SELECT n.nspname FROM pg_namespace n
     WHERE n.nspname <> 'public' AND n.nspname <> 'information_schema'
       AND n.nspname NOT LIKE 'pg\\_%'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                         AND d.objid = n.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', r.nspname);
  END LOOP;
  FOR r IN
    SELECT format('%I.%I', 'public', c.relname) AS name,
           CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                          WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE'
                          ELSE 'TABLE' END AS kind
      FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                         AND d.objid = c.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.name);
  END LOOP;
  FOR r IN
    SELECT p.oid::regprocedure::text AS name,
           CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE'
                          ELSE 'FUNCTION' END AS kind
      FROM pg_proc p
     WHERE p.pronamespace = 'public'::regnamespace
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                         AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.name);
  END LOOP;
  FOR r IN
    SELECT format('%I.%I', 'public', t.typname) AS name,
           CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END AS kind
      FROM pg_type t
     WHERE t.typnamespace = 'public'::regnamespace
       AND (t.typtype IN ('e', 'd', 'r')
            OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                         AND d.objid = t.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('DROP %s IF EXISTS %s CASCADE', r.kind, r.name);
  END LOOP;
END
$rewind$;
`;

/**
 * Dumps the database at `url` to `file` in pg_dump's custom format (compressed, restorable
 * object by object with pg_restore).
 * @throws UserError naming the database (never the password) and pg_dump's complaint.
 */
export async function pgDump(url: string, file: string): Promise<void> {
  const target = libpqTarget(url);
  await runProcess("pg_dump", pgDumpArgs(target.dbname, file), {
    env: { ...target.env, PGAPPNAME: "rewind-backup" },
    what: `pg_dump of ${describeDatabase(url)}`,
  });
}

/**
 * Makes the database at `url` equal to the custom-format dump `file`, in one transaction:
 * psql gets `BEGIN`, {@link RESET_SQL}, the script of `pg_restore --clean --if-exists -f -`
 * (the runbook's `psql < backup.sql`) and, only once pg_restore has exited cleanly, `COMMIT`.
 * Any failure (a bad dump, an SQL error, a lock timeout) ends psql without COMMIT, so the server
 * rolls everything back: the database is unchanged. (`--single-transaction` would commit
 * whatever arrived, even an empty script after RESET_SQL, if pg_restore died.)
 * @throws UserError naming the database and the tools' complaint.
 */
export async function restoreDatabase(
  url: string,
  file: string,
  options: RestoreOptions = {},
): Promise<void> {
  const target = libpqTarget(url);
  const env = {
    ...target.env,
    PGOPTIONS: `-c lock_timeout=${options.lockTimeoutMs ?? 60_000}`,
    PGAPPNAME: "rewind-restore",
  };
  const what = `restore into ${describeDatabase(url)}`;
  const producer = startProcess("pg_restore", pgRestoreScriptArgs(file), { env, stdout: "pipe" });
  const consumer = startProcess("psql", psqlRestoreArgs(target.dbname), {
    env,
    stdin: "pipe",
    stdout: "ignore",
  });
  const script = producer.stdout;
  const sql = consumer.stdin;
  if (script === null || sql === null) {
    throw new InternalError("pg_restore's output or psql's input is not a pipe");
  }
  let committed = false;
  // psql stopping at an error closes its stdin: stop feeding it, stop pg_restore.
  sql.on("error", () => script.unpipe(sql));
  void consumer.exited.then((exit) => {
    if (!exit.ok) {
      producer.stop();
    }
  });
  sql.write(`BEGIN;\n${RESET_SQL}\n`);
  script.pipe(sql, { end: false });
  const restored = await producer.exited;
  // The one place a restore commits: everything pg_restore wrote has been read.
  if (restored.ok && consumer.running && sql.writable) {
    committed = true;
    sql.end("COMMIT;\n");
  } else {
    sql.end();
  }
  const applied = await consumer.exited;
  if (committed && applied.ok) {
    return;
  }
  // psql's complaint explains pg_restore's broken pipe, not the other way round.
  const [name, exit] = applied.ok ? ["pg_restore", restored] : ["psql", applied];
  const output = exit.stderr.trim() === "" ? "" : `: ${exit.stderr.trim()}`;
  const failure = exit.missing
    ? `${name} failed: ${notInstalled(name)}`
    : `${name} failed with ${exit.status}${output}`;
  throw new UserError(`${what} failed and was rolled back: ${failure}`);
}
