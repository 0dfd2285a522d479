// A snapshot is only worth taking if it is still there when the problem is noticed; a bad
// migration is often found days later, and a quiet stack must never prune its last snapshot.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { BackupSnapshot } from "../components/backupSnapshot";
import { Props, UNKNOWN, readProps, show } from "./resources";

/** Policy config of `backup-retention-minimum`. */
export interface BackupRetentionConfig {
  /**
   * The fewest days a snapshot must be kept.
   * @default 7
   */
  readonly minimumDays?: number;
}

/** The default of `minimumDays`. */
export const DEFAULT_MINIMUM_DAYS = 7;

/** Checks a BackupSnapshot's `retain`: at least `minimumDays` days, and at least one kept. */
export function checkRetention(snapshot: Props, config: BackupRetentionConfig): string[] {
  const minimumDays = config.minimumDays ?? DEFAULT_MINIMUM_DAYS;
  const { retain } = snapshot;
  if (retain === UNKNOWN) {
    return [];
  }
  if (retain === null || typeof retain !== "object") {
    return [
      `The BackupSnapshot declares no retention (retain is ${show(retain)}); keep snapshots ` +
        `at least ${minimumDays} days and at least 1 of them (rewind:backup.retain).`,
    ];
  }
  const { days, keepAtLeast } = retain as Record<string, unknown>;
  const problems: string[] = [];
  if (days !== UNKNOWN && !(typeof days === "number" && days >= minimumDays)) {
    problems.push(
      `The BackupSnapshot's retain.days is ${show(days)}; this stack keeps snapshots at least ` +
        `${minimumDays} days (rewind:backup.retain.days).`,
    );
  }
  if (keepAtLeast !== UNKNOWN && !(typeof keepAtLeast === "number" && keepAtLeast >= 1)) {
    problems.push(
      `The BackupSnapshot's retain.keepAtLeast is ${show(keepAtLeast)}; keep at least 1 so ` +
        `there is always a snapshot to restore (rewind:backup.retain.keepAtLeast).`,
    );
  }
  return problems;
}

/** `backup-retention-minimum`. Advisory unless a stack's policy config makes it mandatory. */
export const backupRetentionMinimum: ResourceValidationPolicy = {
  name: "backup-retention-minimum",
  description:
    "A BackupSnapshot must keep snapshots for at least the configured number of days " +
    "(minimumDays, 7 by default) and always keep at least one.",
  enforcementLevel: "advisory",
  severity: "medium",
  configSchema: {
    properties: {
      minimumDays: {
        type: "integer",
        minimum: 0,
        default: DEFAULT_MINIMUM_DAYS,
        description: "The fewest days a snapshot must be kept (retain.days).",
      },
    },
  },
  validateResource: (args, reportViolation) => {
    if (!args.isType(BackupSnapshot)) {
      return;
    }
    const problems = checkRetention(
      readProps(args.props, ["retain"]),
      args.getConfig<BackupRetentionConfig>(),
    );
    for (const message of problems) {
      reportViolation(message);
    }
  },
};
