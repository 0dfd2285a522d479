// The host's PostgreSQL client tools (pg_dump, pg_restore) and other programs Rewind runs.
// Always an argument array through spawn, never a shell string: a database name or a path with
// a quote in it stays one argument. The password goes through PGPASSWORD, never argv, where
// every local user could read it in `ps`.
import { spawn } from "node:child_process";
import { UserError } from "../errors";
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

/** Options of {@link pgRestore}. */
export interface PgRestoreOptions {
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
 * The `pg_restore` arguments for restoring `file` into the database at `dbname`: objects of the
 * dump are dropped and recreated (`--clean --if-exists`) in one transaction, so a failure leaves
 * the database as it was (runbook step `psql < backup.sql`, made atomic).
 */
export function pgRestoreArgs(dbname: string, file: string): string[] {
  return [
    "--clean",
    "--if-exists",
    "--single-transaction",
    "--exit-on-error",
    "--no-password",
    `--dbname=${dbname}`,
    file,
  ];
}

/**
 * Dumps the database at `url` to `file` in pg_dump's custom format (compressed, restorable
 * object by object with pg_restore).
 * @throws UserError naming the database (never the password) and pg_dump's complaint.
 */
export async function pgDump(url: string, file: string): Promise<void> {
  const target = libpqTarget(url);
  await runTool("pg_dump", pgDumpArgs(target.dbname, file), {
    env: target.env,
    what: `pg_dump of ${describeDatabase(url)}`,
  });
}

/**
 * Restores the custom-format dump `file` into the database at `url`, in one transaction.
 * @throws UserError naming the database and pg_restore's complaint; the database is unchanged.
 */
export async function pgRestore(
  url: string,
  file: string,
  options: PgRestoreOptions = {},
): Promise<void> {
  const target = libpqTarget(url);
  await runTool("pg_restore", pgRestoreArgs(target.dbname, file), {
    env: {
      ...target.env,
      PGOPTIONS: `-c lock_timeout=${options.lockTimeoutMs ?? 60_000}`,
      PGAPPNAME: "rewind-restore",
    },
    what: `pg_restore into ${describeDatabase(url)}`,
  });
}
