// `rewind` run as a user runs it (node bin/rewind, real exit codes, real stderr), for the
// integration tests of the CLI.
import * as assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "./workspace";

const run = promisify(execFile);
export const bin = path.join(repoRoot, "bin", "rewind");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `rewind <args>` in a child process against project `dir` and stack `stack`. */
export function rewind(dir: string, stack: string, ...args: string[]): Promise<CliResult> {
  return rewindWith({}, dir, stack, ...args);
}

/** `rewind` with more environment (REWIND_LOCK_WAIT_SECONDS, ...). */
export function rewindWith(
  env: Record<string, string>,
  dir: string,
  stack: string,
  ...args: string[]
): Promise<CliResult> {
  return startRewind(env, dir, stack, ...args).result;
}

/** A `rewind` still running: its stderr so far can be waited on. */
export interface RunningRewind {
  /** Resolves once stderr matches `pattern`; rejects if the command ends first. */
  stderrMatches(pattern: RegExp): Promise<void>;
  readonly result: Promise<CliResult>;
}

/** Starts `rewind <args>` without waiting for it to end. */
export function startRewind(
  env: Record<string, string>,
  dir: string,
  stack: string,
  ...args: string[]
): RunningRewind {
  let stdout = "";
  let stderr = "";
  let ended = false;
  const result = new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      // Pages of 3 updates: every history read crosses page boundaries on the real CLI.
      env: {
        ...process.env,
        REWIND_PROJECT_DIR: dir,
        REWIND_STACK: stack,
        REWIND_HISTORY_PAGE_SIZE: "3",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      ended = true;
      // REWIND_CLI_TEST_LOG=<file> keeps a transcript, for reading what a user would see.
      const log = process.env.REWIND_CLI_TEST_LOG;
      if (log) {
        fs.appendFileSync(log, `$ rewind ${args.join(" ")}\n${stdout}${stderr}[exit ${code}]\n\n`);
      }
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  const stderrMatches = async (pattern: RegExp) => {
    while (!pattern.test(stderr)) {
      if (ended) {
        throw new Error(
          `rewind ${args.join(" ")} ended before stderr matched ${pattern}:\n${stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { stderrMatches, result };
}

/** Asserts the exit code, showing the command's output when it is not the expected one. */
export function expectCode(result: CliResult, code: number, what: string): void {
  assert.equal(
    result.code,
    code,
    `${what}: exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
  );
}

export async function pulumi(dir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run("pulumi", args, { cwd: dir, env: process.env });
  return stdout;
}
