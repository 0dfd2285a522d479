// `rewind status`: what runs now (app version, digest, schema revision), the newest snapshot of
// its database and the stack's last update, from the stack's outputs and history.
import { StackAccess, defaultProjectDir } from "./stackAccess";
import { collectSnapshots } from "./history";
import { COMMON_HELP, CliIo, Command, ExitCode, parseCommand } from "./options";
import { judge } from "./recover";
import { formatVerdict } from "./recoveryPlan";
import { buildStatus, formatStatus } from "./statusText";

const usage = `Usage: rewind status [--json] [--stack S]

What runs on the stack: the app version, its image digest and the database's schema revision
(the stack's outputs, written by the last update that succeeded), the newest snapshot of the
database in the backup store, and the stack's last update with its result. When an update
was killed, what it left behind (a stale lock, unfinished operations, partial snapshots) and
what rewind recover will do; when an update runs, that it does.

Options:
  --json          the status as JSON
${COMMON_HELP}`;

export const status: Command = {
  name: "status",
  summary: "what runs: app version, digest, schema, the newest snapshot, the last update",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common } = parseCommand(args, {}, io.env);
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const session = await StackAccess.open(defaultProjectDir(io.env), common.stack);
    try {
      const [entries, outputs] = await Promise.all([session.history(), session.outputs()]);
      const newest = entries.at(-1);
      const snapshots = newest === undefined ? [] : collectSnapshots(session.workDir, [newest]);
      const facts = buildStatus(session.name, outputs, entries, snapshots);
      const { verdict } = await judge(session, io.env, newest?.config ?? {});
      io.stdout(
        common.json
          ? `${JSON.stringify({ ...facts, leftovers: verdict }, null, 2)}\n`
          : formatStatus(facts) +
              formatVerdict(verdict, "rewind recover") +
              (verdict.kind === "recoverable"
                ? "(The outputs above are the last finished update's; the interrupted one may have changed resources before it stopped.)\n"
                : ""),
      );
      return ExitCode.ok;
    } finally {
      await session.close();
    }
  },
};
