// What every `rewind` subcommand shares: exit codes, the I/O it may touch, and argument parsing
// that turns any mistake in the command line into exit code 2 with the command's usage.
import { parseArgs, ParseArgsConfig } from "node:util";
import { UserError } from "../domain/errors";

/** The exit codes of every subcommand (documented in `rewind --help`). */
export const ExitCode = {
  /** Done: the command did what it was asked. */
  ok: 0,
  /** The update failed and Rewind rolled back to the last known-good config successfully. */
  rolledBack: 1,
  /** Bad input: arguments, config, an unknown update or version. Nothing was changed. */
  badInput: 2,
  /** Failed and not rolled back (the rollback failed too, or there was nothing to roll back to). */
  failed: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A mistake in the command line; the message is followed by the subcommand's usage. */
export class UsageError extends UserError {}

/**
 * Everything a command may touch besides the engine, so tests can run a command without a
 * terminal: stdout carries data (text or JSON), stderr carries progress and questions.
 */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether a person can answer a question (stdin and stderr are terminals). */
  readonly interactive: boolean;
  /** Asks a yes/no question on the terminal; only called when `interactive`. */
  readonly ask: (question: string) => Promise<string>;
  readonly now: () => Date;
}

/** Options every subcommand has. */
export interface CommonOptions {
  readonly help: boolean;
  readonly json: boolean;
  /** The stack named by --stack, else REWIND_STACK; undefined means "the selected stack". */
  readonly stack: string | undefined;
  readonly quiet: boolean;
}

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

const COMMON: OptionSpec = {
  help: { type: "boolean", short: "h", default: false },
  json: { type: "boolean", default: false },
  stack: { type: "string", short: "s" },
  quiet: { type: "boolean", short: "q", default: false },
};

/** The common options' lines of a usage text. */
export const COMMON_HELP = [
  "  -s, --stack S   the stack (default: $REWIND_STACK, else the selected stack)",
  "  -q, --quiet     no live progress on stderr",
  "  -h, --help      this help",
].join("\n");

/**
 * Parses a subcommand's arguments with node:util parseArgs (strict: unknown options and stray
 * positionals are errors, since a mistyped `--yes` silently ignored would change what runs).
 * @throws UsageError naming the bad argument.
 */
export function parseCommand<S extends OptionSpec>(
  args: readonly string[],
  options: S,
  env: CliIo["env"],
): { common: CommonOptions; values: Record<string, unknown> } {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { ...COMMON, ...options },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const stack = (values.stack as string | undefined) ?? (env.REWIND_STACK || undefined);
  if (stack !== undefined && !/^[A-Za-z0-9_./-]+$/.test(stack)) {
    throw new UsageError(`--stack ${JSON.stringify(stack)} is not a stack name`);
  }
  return {
    common: {
      help: values.help === true,
      json: values.json === true,
      stack,
      quiet: values.quiet === true,
    },
    values,
  };
}

/** Reads a string option, or undefined when absent. */
export function stringOption(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** Reads a repeatable string option (`--set a=1 --set b=2`). */
export function stringList(values: Record<string, unknown>, name: string): string[] {
  const value = values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Reads a required string option. @throws UsageError naming the option. */
export function requiredOption(
  values: Record<string, unknown>,
  name: string,
  what: string,
): string {
  const value = stringOption(values, name);
  if (value === undefined || value === "") {
    throw new UsageError(`--${name} is required: ${what}`);
  }
  return value;
}

/** A subcommand: its name, one line for `rewind --help`, its usage, and how it runs. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<ExitCode>;
}
