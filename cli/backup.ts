// `rewind backup`: a verified snapshot of the stack's database (and what rewind:backup.include
// names) now, on demand or from a scheduler, into the stack's backup store; then retention,
// which never prunes a snapshot a restore pin names. `--print-timer` prints the systemd units
// and the cron line that run it on rewind:backup.schedule.
import * as fs from "node:fs";
import * as path from "node:path";
import { ensureVersionTable, locateDatabase, readRevision, withClient } from "../adapters/postgres";
import { DEFAULT_VOLUMES_ROOT } from "../domain/backupItem";
import { describeSchedule, parseSchedule, schedulerFiles } from "../domain/backupSchedule";
import { parseConfig } from "../domain/config";
import { UserError } from "../domain/errors";
import { STATE_DIR } from "../domain/projectTemplate";
import { pinnedSnapshots } from "../domain/retention";
import { takeSnapshot } from "../provider/backupSnapshot";
import { rawConfig } from "./configPins";
import { COMMON_HELP, CliIo, Command, ExitCode, parseCommand } from "./options";
import { PACKAGE_ROOT, projectDir } from "./project";
import { StackAccess } from "./stackAccess";

const usage = `Usage: rewind backup [--print-timer] [--json] [--stack S]

Takes a snapshot of the stack's database now (pg_dump, plus the files rewind:backup.include
names) into its backup store, verifies it by reading it back, then applies rewind:backup.retain.
Retention never prunes a snapshot that a restore pin names: the config's, or one of the last
20 updates'. Meant for a scheduler as much as for a person.

Options:
  --print-timer   print the systemd service and timer (and a crontab line) that run this
                  command on rewind:backup.schedule; nothing is backed up
  --json          the snapshot as JSON on stdout
${COMMON_HELP}

Exit codes: 0 the snapshot is taken and verified; 2 bad input (config, no schedule declared
for --print-timer); 3 the backup failed (nothing published).`;

export const backup: Command = {
  name: "backup",
  summary: "take a verified snapshot now (for a scheduler); --print-timer for systemd and cron",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common, values } = parseCommand(
      args,
      { "print-timer": { type: "boolean", default: false } },
      io.env,
    );
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const session = await StackAccess.open(projectDir(io.env), common.stack);
    const raw = rawConfig(await session.config());

    if (values["print-timer"] === true) {
      // Only the schedule matters here: a stack not released yet can have its timer set up.
      const declared = raw["rewind:backup"];
      const text =
        typeof declared === "object" && declared !== null
          ? (declared as { schedule?: unknown }).schedule
          : undefined;
      if (text === undefined) {
        throw new UserError(
          `stack "${session.name}" declares no rewind:backup.schedule; set one, e.g. ` +
            `pulumi config set --path rewind:backup.schedule "daily at 03:00"`,
        );
      }
      const schedule = parseSchedule(String(text));
      const environmentFile = path.join(session.workDir, STATE_DIR, "backup.env");
      const files = schedulerFiles(schedule, {
        stack: session.name,
        projectDir: session.workDir,
        command: [process.execPath, rewindBin(session.workDir)],
        environmentFile,
      });
      io.stdout(
        [
          `# rewind:backup.schedule of stack ${session.name}: ${describeSchedule(schedule)}.`,
          `# ${environmentFile} (mode 0600) holds what the backup needs to read the stack:`,
          `#   PULUMI_CONFIG_PASSPHRASE=…  (and PULUMI_BACKEND_URL=… when state is shared)`,
          "",
          `# /etc/systemd/system/${files.unit}.service`,
          files.service,
          `# /etc/systemd/system/${files.unit}.timer`,
          files.timer,
          `# then: systemctl daemon-reload && systemctl enable --now ${files.unit}.timer`,
          "",
          "# or, without systemd, in the crontab of the user that runs Rewind:",
          files.crontab,
        ].join("\n"),
      );
      return ExitCode.ok;
    }

    const config = parseConfig(session.name, raw);
    const [entries, outputs] = await Promise.all([session.history(), session.outputs()]);
    const url = config.database.url;
    const database = locateDatabase(url).database;
    const revision = await withClient(
      url,
      async (client) => {
        await ensureVersionTable(client);
        return readRevision(client);
      },
      { applicationName: "rewind-backup" },
    );
    const keep = pinnedSnapshots(config.restore.snapshot, entries);
    if (!common.quiet) {
      io.stderr(
        `Backing up database ${database} at revision ${revision} (stack ${session.name})…\n`,
      );
    }
    const snapshot = await takeSnapshot({
      databaseUrl: url,
      database,
      revision,
      appVersion: outputs.appVersion ?? "none",
      storePath: path.resolve(session.workDir, config.backup.store.path),
      include: config.backup.include,
      retain: config.backup.retain,
      reason: "rewind backup",
      volumesRoot: DEFAULT_VOLUMES_ROOT,
      keep,
      lockTimeoutSeconds: config.database.lockTimeoutSeconds ?? 60,
    });
    const result = {
      snapshotId: snapshot.snapshotId,
      database,
      revision,
      appVersion: snapshot.appVersion,
      takenAt: snapshot.takenAt,
      size: snapshot.size,
      sha256: snapshot.sha256,
      storePath: snapshot.storePath,
      verified: snapshot.verified,
      pruned: snapshot.pruned,
      keptForRestorePins: keep,
      pruneError: snapshot.pruneError || undefined,
    };
    if (common.json) {
      io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      return ExitCode.ok;
    }
    io.stdout(
      [
        `snapshot  ${result.snapshotId} (verified, ${result.size} bytes)`,
        `database  ${database} at revision ${revision}, app ${result.appVersion}`,
        `store     ${result.storePath}`,
        `pruned    ${result.pruned.length > 0 ? result.pruned.join(", ") : "none"}`,
        ...(keep.length > 0 ? [`kept      ${keep.join(", ")} (named by a restore pin)`] : []),
        ...(snapshot.pruneError ? [`warning   retention did not run: ${snapshot.pruneError}`] : []),
        "",
      ].join("\n"),
    );
    return ExitCode.ok;
  },
};

/** The project's own `rewind` (node_modules/.bin survives reinstalls), else this package's. */
function rewindBin(dir: string): string {
  const installed = path.join(dir, "node_modules", ".bin", "rewind");
  return fs.existsSync(installed) ? installed : path.join(PACKAGE_ROOT, "bin", "rewind");
}
