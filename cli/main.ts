// `rewind <command>`: dispatches to one file per subcommand and turns every error into the
// documented exit code. A UserError (bad input, bad config, unknown update) is the operator's
// to fix: its message alone, exit 2. Anything else is a failure: exit 3, with the stack trace
// when it is a bug in Rewind.
import { createInterface } from "node:readline/promises";
import { InternalError, UserError } from "../domain/errors";
import { backup } from "./backup";
import { gate } from "./gate";
import { history } from "./history";
import { init } from "./init";
import { CliIo, Command, ExitCode, UsageError } from "./options";
import { plan } from "./plan";
import { release } from "./release";
import { report } from "./report";
import { recover } from "./recover";
import { rehearse } from "./rehearse";
import { rollback } from "./rollback";
import { status } from "./status";

export const COMMANDS: readonly Command[] = [
  init,
  status,
  history,
  plan,
  rehearse,
  rollback,
  release,
  recover,
  report,
  gate,
  backup,
];

export const USAGE = `Usage: rewind <command> [options]

Release and roll back a service and its PostgreSQL database as declared Pulumi state.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`).join("\n")}

Every command takes --help, --stack S (default: $REWIND_STACK, else the selected stack),
--quiet, and --json where its output is data. Live progress goes to stderr, data to stdout.

Exit codes:
  0  ok
  1  the release failed and was rolled back
  2  bad input (arguments, config, an unknown update); nothing was changed
  3  failed and not rolled back`;

/** Runs the command line; never throws. */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const [name, ...args] = argv;
  if (name === undefined) {
    io.stderr(`${USAGE}\n`);
    return ExitCode.badInput;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const command = COMMANDS.find((c) => c.name === args[0]);
    io.stdout(`${command?.usage ?? USAGE}\n`);
    return ExitCode.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`rewind: unknown command ${JSON.stringify(name)}\n\n${USAGE}\n`);
    return ExitCode.badInput;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`rewind ${command.name}: ${error.message}\n\n${command.usage}\n`);
      return ExitCode.badInput;
    }
    if (error instanceof UserError) {
      io.stderr(`rewind ${command.name}: ${error.message}\n`);
      return ExitCode.badInput;
    }
    if (error instanceof InternalError) {
      io.stderr(
        `rewind ${command.name}: internal error (a bug in Rewind):\n${error.stack ?? error.message}\n`,
      );
      return ExitCode.failed;
    }
    io.stderr(
      `rewind ${command.name}: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return ExitCode.failed;
  }
}

/** The real terminal. */
export function processIo(): CliIo {
  // `rewind history | head`: a reader that stops early is not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") {
      process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
    }
    throw error;
  });
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    interactive: process.stdin.isTTY === true && process.stderr.isTTY === true,
    ask: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    now: () => new Date(),
  };
}

if (require.main === module) {
  void main(process.argv.slice(2), processIo()).then((code) => {
    process.exitCode = code;
  });
}
