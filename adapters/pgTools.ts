// The host's PostgreSQL client tools (pg_dump, pg_restore) and other programs Rewind runs.
// Always an argument array through spawn, never a shell string: a database name or a path with
// a quote in it stays one argument. The password goes through PGPASSWORD, never argv, where
// every local user could read it in `ps`.
import { spawn } from "node:child_process";
import { UserError } from "../domain/errors";
import { describeDatabase, splitPassword } from "./postgres";

/** What a finished program printed. */
export interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runTool}. */
export interface RunToolOptions {
  /** Added to the provider's own environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory. @default the provider's */
  readonly cwd?: string;
  /** What the run is for, in the error message, e.g. `pg_dump of database "hunter" at ...`. */
  readonly what?: string;
}

// Enough of a tool's output to explain a failure without holding a whole dump in memory.
const KEEP_OUTPUT = 64 * 1024;

/**
 * Runs `file` with `args` (no shell) and resolves with its output once it exits with 0.
 * @throws UserError naming the program, its exit status and the end of its stderr; or that the
 * program is not installed.
 */
export function runTool(
  file: string,
  args: readonly string[],
  options: RunToolOptions = {},
): Promise<ToolResult> {
  const what = options.what ?? file;
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const keep = (text: string, chunk: Buffer) =>
      (text + chunk.toString("utf8")).slice(-KEEP_OUTPUT);
    child.stdout.on("data", (chunk: Buffer) => (stdout = keep(stdout, chunk)));
    child.stderr.on("data", (chunk: Buffer) => (stderr = keep(stderr, chunk)));
    child.on("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "ENOENT"
          ? new UserError(
              `${what} failed: ${file} is not installed or not on PATH (on Debian: apt-get install ` +
                `${file.startsWith("pg_") ? "postgresql-client" : file})`,
              { cause: error },
            )
          : error,
      );
    });
    child.on("close", (code, signal) => {
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const status = signal === null ? `exit status ${code}` : `signal ${signal}`;
      const output = stderr.trim() === "" ? "" : `: ${stderr.trim()}`;
      reject(new UserError(`${what} failed with ${status}${output}`));
    });
  });
}

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
  await runTool("pg_dump", pgDumpArgs(target.dbname, file), {
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
    ...process.env,
    ...target.env,
    PGOPTIONS: `-c lock_timeout=${options.lockTimeoutMs ?? 60_000}`,
    PGAPPNAME: "rewind-restore",
  };
  const what = `restore into ${describeDatabase(url)}`;
  await new Promise<void>((resolve, reject) => {
    const producer = spawn("pg_restore", pgRestoreScriptArgs(file), {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const consumer = spawn("psql", psqlRestoreArgs(target.dbname), {
      env,
      stdio: ["pipe", "ignore", "pipe"],
    });
    const children = [producer, consumer];
    const names = ["pg_restore", "psql"];
    const errors = ["", ""];
    const exits: (string | undefined)[] = [undefined, undefined];
    let committed = false;

    const sql = consumer.stdin;
    // psql stopping at an error closes its stdin: stop feeding it, stop pg_restore.
    sql.on("error", () => producer.stdout.unpipe(sql));
    consumer.on("exit", (code) => {
      if (code !== 0) {
        producer.kill("SIGTERM");
      }
    });
    sql.write(`BEGIN;\n${RESET_SQL}\n`);
    producer.stdout.pipe(sql, { end: false });

    let closed = 0;
    children.forEach((child, i) => {
      child.stderr.on("data", (chunk: Buffer) => {
        errors[i] = (errors[i] + chunk.toString("utf8")).slice(-KEEP_OUTPUT);
      });
      child.on("error", (error: NodeJS.ErrnoException) => {
        exits[i] =
          error.code === "ENOENT"
            ? `${names[i]} not installed (on Debian: apt-get install postgresql-client)`
            : String(error);
      });
      child.on("close", (code, signal) => {
        exits[i] ??=
          code === 0 ? "ok" : signal === null ? `exit status ${code}` : `signal ${signal}`;
        if (i === 0) {
          // The one place a restore commits: everything pg_restore wrote has been read.
          if (exits[0] === "ok" && consumer.exitCode === null && sql.writable) {
            committed = true;
            sql.end("COMMIT;\n");
          } else {
            sql.end();
          }
        }
        if (++closed < children.length) {
          return;
        }
        if (committed && exits[1] === "ok") {
          resolve();
          return;
        }
        // psql's complaint explains pg_restore's broken pipe, not the other way round.
        const failures = (exits[1] !== "ok" ? [1] : [0]).map((j) => {
          const output = errors[j].trim() === "" ? "" : `: ${errors[j].trim()}`;
          return `${names[j]} failed with ${exits[j]}${output}`;
        });
        reject(new UserError(`${what} failed and was rolled back: ${failures.join("; ")}`));
      });
    });
  });
}
