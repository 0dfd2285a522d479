// `rewind:backup.schedule`: when `rewind backup` runs, declared in the stack and turned into the
// systemd timer or cron line a host runs it with (`rewind backup --print-timer`). Pure.
import { UserError } from "./errors";

/** When backups run, in UTC: every hour at a minute, every day or one weekday at a time. */
export type BackupSchedule =
  | { readonly every: "hour"; readonly minute: number }
  | { readonly every: "day"; readonly hour: number; readonly minute: number }
  | {
      readonly every: "week";
      readonly weekday: Weekday;
      readonly hour: number;
      readonly minute: number;
    };

export const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const SCHEDULE_ALLOWED =
  `"hourly[ at :MM]", "daily at HH:MM" or "weekly on <Mon..Sun> at HH:MM", in UTC ` +
  `(e.g. "daily at 03:00")`;

const HOURLY = /^hourly(?: at :([0-5][0-9]))?$/;
const DAILY = /^daily at ([01][0-9]|2[0-3]):([0-5][0-9])$/;
const WEEKLY = new RegExp(`^weekly on (${WEEKDAYS.join("|")}) at ([01][0-9]|2[0-3]):([0-5][0-9])$`);

/** The schedule `text` declares, or undefined when it is not one (the config says what is). */
export function readSchedule(text: string): BackupSchedule | undefined {
  let m = HOURLY.exec(text);
  if (m !== null) {
    return { every: "hour", minute: Number(m[1] ?? "0") };
  }
  m = DAILY.exec(text);
  if (m !== null) {
    return { every: "day", hour: Number(m[1]), minute: Number(m[2]) };
  }
  m = WEEKLY.exec(text);
  if (m !== null) {
    return { every: "week", weekday: m[1] as Weekday, hour: Number(m[2]), minute: Number(m[3]) };
  }
  return undefined;
}

/** @throws UserError naming the key, the value and the forms allowed. */
export function parseSchedule(text: string): BackupSchedule {
  const schedule = readSchedule(text);
  if (schedule === undefined) {
    throw new UserError(
      `rewind:backup.schedule is ${JSON.stringify(text)}; allowed: ${SCHEDULE_ALLOWED}`,
    );
  }
  return schedule;
}

const two = (n: number) => String(n).padStart(2, "0");

/** systemd's `OnCalendar=` value, with the zone spelt out (systemd ≥ 235 reads it). */
export function onCalendar(s: BackupSchedule): string {
  switch (s.every) {
    case "hour":
      return `*-*-* *:${two(s.minute)}:00 UTC`;
    case "day":
      return `*-*-* ${two(s.hour)}:${two(s.minute)}:00 UTC`;
    case "week":
      return `${s.weekday} *-*-* ${two(s.hour)}:${two(s.minute)}:00 UTC`;
    default: {
      const unexpected: never = s;
      throw new Error(`unknown schedule ${JSON.stringify(unexpected)}`);
    }
  }
}

/** The five cron fields (in UTC: the crontab sets CRON_TZ=UTC). */
export function cronFields(s: BackupSchedule): string {
  switch (s.every) {
    case "hour":
      return `${s.minute} * * * *`;
    case "day":
      return `${s.minute} ${s.hour} * * *`;
    case "week":
      return `${s.minute} ${s.hour} * * ${WEEKDAYS.indexOf(s.weekday)}`;
    default: {
      const unexpected: never = s;
      throw new Error(`unknown schedule ${JSON.stringify(unexpected)}`);
    }
  }
}

/** What the units run: `rewind backup` for one stack, from the team's project. */
export interface BackupJob {
  /** The stack's name; also names the units (`rewind-backup-<stack>`). */
  readonly stack: string;
  /** The team's project, where Pulumi.yaml is. */
  readonly projectDir: string;
  /** The `rewind` executable and any argument before the subcommand, as absolute paths. */
  readonly command: readonly string[];
  /** Files of `KEY=value` lines (PULUMI_CONFIG_PASSPHRASE, …), never the values themselves. */
  readonly environmentFile: string;
}

// systemd splits ExecStart= on spaces and reads quotes; a path with a space is quoted.
function unitWord(word: string): string {
  return /^[A-Za-z0-9_./:@=+-]+$/.test(word) ? word : `"${word.replace(/(["\\])/g, "\\$1")}"`;
}

// A crontab line goes through /bin/sh: every word single-quoted unless plainly safe, and % is
// cron's newline.
function shellWord(word: string): string {
  const quoted = /^[A-Za-z0-9_./:@=+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
  return quoted.replace(/%/g, "\\%");
}

/** The `.service` and `.timer` units and the crontab lines for `job` on `schedule`. */
export function schedulerFiles(
  schedule: BackupSchedule,
  job: BackupJob,
): { unit: string; service: string; timer: string; crontab: string } {
  const unit = `rewind-backup-${job.stack.replace(/[^A-Za-z0-9_.-]+/g, "-")}`;
  const argv = [...job.command, "backup", "--stack", job.stack, "--quiet"];
  const service = [
    "[Unit]",
    `Description=Rewind backup of stack ${job.stack}`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    `WorkingDirectory=${unitWord(job.projectDir)}`,
    `EnvironmentFile=${unitWord(job.environmentFile)}`,
    `ExecStart=${argv.map(unitWord).join(" ")}`,
    "",
  ].join("\n");
  const timer = [
    "[Unit]",
    `Description=Rewind backup of stack ${job.stack}, ${describeSchedule(schedule)}`,
    "",
    "[Timer]",
    `OnCalendar=${onCalendar(schedule)}`,
    // A host that was off at the time runs the missed backup when it is back.
    "Persistent=true",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
  const crontab = [
    "CRON_TZ=UTC",
    `${cronFields(schedule)} cd ${shellWord(job.projectDir)} && set -a && . ${shellWord(job.environmentFile)} && ${argv.map(shellWord).join(" ")}`,
    "",
  ].join("\n");
  return { unit, service, timer, crontab };
}

/** "daily at 03:00 UTC", for messages. */
export function describeSchedule(s: BackupSchedule): string {
  switch (s.every) {
    case "hour":
      return `hourly at :${two(s.minute)} UTC`;
    case "day":
      return `daily at ${two(s.hour)}:${two(s.minute)} UTC`;
    case "week":
      return `weekly on ${s.weekday} at ${two(s.hour)}:${two(s.minute)} UTC`;
    default: {
      const unexpected: never = s;
      throw new Error(`unknown schedule ${JSON.stringify(unexpected)}`);
    }
  }
}
