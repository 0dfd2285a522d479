// Programs Rewind runs on the host (pg_dump, pg_restore, psql, tar): always an argument array
// through spawn, never a shell string, so a database name or a path with a quote in it stays one
// argument. One runner for all of them: the output kept for messages, the "not installed" case,
// and an optional timeout.
import { ChildProcess, spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { UserError } from "../domain/errors";

// Enough of a program's output to explain a failure without holding a whole dump in memory.
const KEEP_OUTPUT = 64 * 1024;
// After a timeout's SIGTERM, how long a program may take to exit before SIGKILL.
const KILL_GRACE_MS = 5_000;

/** Where and how long a program runs. */
export interface ProcessOptions {
  /** Added to Rewind's own environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory. @default Rewind's */
  readonly cwd?: string;
  /**
   * How long the program may run before it is stopped (SIGTERM, then SIGKILL 5 s later).
   * @default no limit
   */
  readonly timeoutMs?: number;
}

/** Options of {@link startProcess}. */
export interface StartOptions extends ProcessOptions {
  /** `pipe`: the caller writes the program's input to {@link RunningProcess.stdin}. @default "ignore" */
  readonly stdin?: "ignore" | "pipe";
  /**
   * `capture`: its end is kept in {@link ProcessExit.stdout}; `pipe`: the caller reads
   * {@link RunningProcess.stdout}; `ignore`: discarded.
   * @default "capture"
   */
  readonly stdout?: "capture" | "pipe" | "ignore";
}

/** How a program ended. */
export interface ProcessExit {
  /** It exited with status 0. */
  readonly ok: boolean;
  /** How it ended, for messages: `exit status 1`, `signal SIGTERM`, `a timeout after 30 s`. */
  readonly status: string;
  /** It could not be started: not installed, or not on PATH. */
  readonly missing: boolean;
  /** Why it could not be started, when it could not (`missing` or otherwise). */
  readonly error?: Error;
  /** The end of its output (captured stdout only). */
  readonly stdout: string;
  readonly stderr: string;
}

/** A program started by {@link startProcess}. */
export interface RunningProcess {
  /** Its input, with `stdin: "pipe"`. */
  readonly stdin: Writable | null;
  /** Its output, with `stdout: "pipe"`. */
  readonly stdout: Readable | null;
  /** Whether it has not exited yet. */
  readonly running: boolean;
  /** Settles once it has exited and its output is closed; never rejects. */
  readonly exited: Promise<ProcessExit>;
  /** Asks it to stop (SIGTERM). */
  stop(): void;
}

/** Starts `file` with `args`, no shell. */
export function startProcess(
  file: string,
  args: readonly string[],
  options: StartOptions = {},
): RunningProcess {
  const stdoutMode = options.stdout ?? "capture";
  const child: ChildProcess = spawn(file, [...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ?? "ignore", stdoutMode === "ignore" ? "ignore" : "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const keep = (text: string, chunk: Buffer) => (text + chunk.toString("utf8")).slice(-KEEP_OUTPUT);
  if (stdoutMode === "capture") {
    child.stdout?.on("data", (chunk: Buffer) => (stdout = keep(stdout, chunk)));
  }
  child.stderr?.on("data", (chunk: Buffer) => (stderr = keep(stderr, chunk)));

  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  let killer: NodeJS.Timeout | undefined;
  if (options.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGTERM");
      killer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
    }, options.timeoutMs);
  }

  const exited = new Promise<ProcessExit>((resolve) => {
    let error: NodeJS.ErrnoException | undefined;
    child.on("error", (e: NodeJS.ErrnoException) => (error ??= e));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      const status =
        error !== undefined
          ? String(error)
          : timedOut
            ? `a timeout after ${(options.timeoutMs ?? 0) / 1000} s`
            : signal === null
              ? `exit status ${code}`
              : `signal ${signal}`;
      resolve({
        ok: error === undefined && !timedOut && code === 0,
        status,
        missing: error?.code === "ENOENT",
        ...(error === undefined ? {} : { error }),
        stdout,
        stderr,
      });
    });
  });

  return {
    stdin: child.stdin,
    stdout: stdoutMode === "pipe" ? child.stdout : null,
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    exited,
    stop: () => void child.kill("SIGTERM"),
  };
}

/** What a finished program printed. */
export interface ProcessResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runProcess}. */
export interface RunOptions extends ProcessOptions {
  /** What the run is for, in the error message, e.g. `pg_dump of database "hunter" at ...`. */
  readonly what?: string;
}

/**
 * Runs `file` with `args` (no shell) and resolves with its output once it exits with 0.
 * @throws UserError naming the program, how it ended and the end of its stderr; or that the
 * program is not installed.
 */
export async function runProcess(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  const what = options.what ?? file;
  const exit = await startProcess(file, args, options).exited;
  if (exit.ok) {
    return { stdout: exit.stdout, stderr: exit.stderr };
  }
  if (exit.missing) {
    throw new UserError(`${what} failed: ${notInstalled(file)}`, { cause: exit.error });
  }
  if (exit.error !== undefined) {
    throw exit.error;
  }
  const output = exit.stderr.trim() === "" ? "" : `: ${exit.stderr.trim()}`;
  throw new UserError(`${what} failed with ${exit.status}${output}`);
}

/** Why `file` could not be started, and the Debian package that brings it. */
export function notInstalled(file: string): string {
  const pg = file.startsWith("pg_") || file === "psql";
  return (
    `${file} is not installed or not on PATH (on Debian: apt-get install ` +
    `${pg ? "postgresql-client" : file})`
  );
}
