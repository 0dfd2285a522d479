// `rewind plan --to-update N | --to-version V`: what a rollback would do, before doing it. The preview
// runs against a temporary copy of the stack's config file with the target config written into
// it (pulumi preview --config-file); the stack's own config file is never written, so there is
// nothing to put back and nothing left changed if the preview is interrupted.
import * as path from "node:path";
import { latestVerifiedSnapshot } from "../adapters/backupStore";
import { UserError } from "../domain/errors";
import { MigrationSet, readMigrationSet } from "../domain/migrationSet";
import {
  PinWrites,
  applyLeafPins,
  parseSet,
  pinCommands,
  pinConfig,
  withRevisionList,
} from "./configPins";
import { StackAccess, defaultProjectDir, progressPrinter } from "./stackAccess";
import { PolicyPack, resolvePolicyPack } from "./policyPack";
import { COMMON_HELP, CliIo, Command, ExitCode, parseCommand, stringOption } from "./options";
import {
  CurrentState,
  PreviewOutcome,
  RollbackPlan,
  buildRollbackPlan,
  planOrdering,
} from "../domain/rollbackPlan";
import { formatRollbackPlan } from "./rollbackPlanText";
import { HistoryEntry, SnapshotRecord, StackConfig, isGood, readPins } from "../domain/pins";
import { TargetSelector, resolveTarget } from "./stackHistory";
import { TARGET_HELP, TARGET_OPTIONS, targetOption } from "./target";

const usage = `Usage: rewind plan (--to-update N | --to-version V | --to-time T) [--restore] [--skip-preview]
                   [--policy-config NAME] [--json] [--stack S]

What \`rewind rollback\` would do, without doing it: app version from → to, schema
revision from → to and whether every step down has a down script, the snapshot a restore
would use (the newest checksum-verified one at the target revision), the decision (app only,
migration down, restore, or refused) with the runbook's method and time target, and the
\`pulumi preview\` of the target config with the policy pack. \`rewind rollback --dry-run\`
is the same command.

Options:
${TARGET_HELP}
  --restore       plan pinning the snapshot to restore as well (when a step down is irreversible)
  --skip-preview  no pulumi preview (faster; the plan is then the planner's alone)
  --policy-config NAME  preview with policy/config/NAME.json instead of the stack's own
  --json          the plan as JSON
${COMMON_HELP}

Exit codes: 0 the rollback would work; 2 bad input; 3 it would not (refused or the preview failed).`;

/** The plan and what pinning it writes. */
export interface PlannedRollback {
  readonly plan: RollbackPlan;
  readonly target: HistoryEntry;
  readonly entries: readonly HistoryEntry[];
  readonly targetConfig: StackConfig;
  readonly writes: PinWrites;
}

/**
 * Plans pinning the config of the update `to` names; shared by `plan` and `rollback`.
 * @param previewOn Runs the preview in a copy of the config file, printing progress.
 */
export async function planRollback(
  session: StackAccess,
  to: TargetSelector,
  options: {
    restore: boolean;
    preview: boolean;
    io: CliIo;
    quiet: boolean;
    policy?: PolicyPack;
  },
): Promise<PlannedRollback> {
  const [entries, outputs, currentConfig] = await Promise.all([
    session.history(),
    session.outputs(),
    session.config(),
  ]);
  const target = resolveTarget(entries, to);
  const pins = target.pins;
  const currentPins = readPins(currentConfig);
  const newestGood = entries.filter(isGood).at(-1);
  const current: CurrentState =
    outputs.appVersion !== undefined
      ? {
          appVersion: outputs.appVersion,
          revision: outputs.revision ?? newestGood?.pins.revision,
          digest: outputs.digest,
          restoredSnapshot: currentPins.restoreSnapshot,
          source: "outputs",
        }
      : newestGood !== undefined
        ? {
            appVersion: newestGood.pins.appVersion,
            revision: newestGood.pins.revision,
            restoredSnapshot: currentPins.restoreSnapshot,
            source: "history",
          }
        : { source: "none" };

  const { migrations, note } = readMigrations(
    session.workDir,
    pins.migrationsTool,
    pins.migrationsDir,
  );
  const snapshot = await restoreCandidate(
    session.workDir,
    pins.storePath,
    pins.database,
    pins.revision,
  );
  if (options.restore && snapshot === undefined) {
    throw new UserError(
      `--restore: no verified snapshot of ${pins.database ?? "the database"} at revision ` +
        `${pins.revision ?? "?"} in ${pins.storePath ?? "the backup store"}; nothing to restore`,
    );
  }
  const restored =
    options.restore && snapshot !== undefined
      ? applyLeafPins(target.config, [
          parseSet(`rewind:restore.snapshot=${snapshot.id}`, target.config),
        ])
      : target.config;
  // The target's Alembic list lacks the revision now: pin the current list with it, or the
  // program could not order the two (buildRollbackPlan says so in the plan's notes).
  const ordering = planOrdering(target, current, currentPins);
  const targetConfig =
    ordering?.kind === "listed" && ordering.source === "current"
      ? withRevisionList(restored, ordering.order)
      : restored;
  const writes = pinConfig(currentConfig, targetConfig);

  let preview: PreviewOutcome | undefined;
  if (options.preview) {
    // The preview's progress comes before the plan it ends in; this line says what it is.
    if (!options.quiet) {
      options.io.stderr(`Previewing update ${target.number}'s config…\n`);
    }
    const outcome = await session.withConfigCopy(async (file) => {
      for (const command of pinCommands(writes, session.name, file)) {
        await session.pulumi(command.args, command.stdin);
      }
      return session.preview(file, progressPrinter(options.io, options.quiet), options.policy);
    });
    preview = { ok: outcome.ok, changes: outcome.changes, error: outcome.error };
  }

  const plan = buildRollbackPlan({
    stack: session.name,
    target,
    current,
    migrations,
    migrationsNote: note,
    currentConfig: currentPins,
    snapshot,
    restore: options.restore,
    configChanges: writes.changed,
    notes: writes.notes,
    preview,
  });
  return { plan, target, entries, targetConfig, writes };
}

function readMigrations(
  workDir: string,
  tool: string | undefined,
  dir: string | undefined,
): { migrations: MigrationSet | undefined; note: string | undefined } {
  if (tool === "alembic") {
    // Its steps come from rewind:database.migrations.revisions (buildRollbackPlan).
    return { migrations: undefined, note: undefined };
  }
  if (tool !== "sql" || dir === undefined) {
    return {
      migrations: undefined,
      note:
        tool === undefined
          ? "the target config names no migrations"
          : `steps of the ${tool} tool are not listed`,
    };
  }
  try {
    return { migrations: readMigrationSet(path.resolve(workDir, dir)), note: undefined };
  } catch (error) {
    return { migrations: undefined, note: (error as Error).message };
  }
}

/** The newest snapshot of the database at the revision whose files re-hash to its manifest. */
export async function restoreCandidate(
  workDir: string,
  storePath: string | undefined,
  database: string | undefined,
  revision: string | undefined,
): Promise<SnapshotRecord | undefined> {
  // Any revision id: the store matches it exactly (Alembic snapshots carry hex ids).
  if (storePath === undefined || database === undefined || revision === undefined) {
    return undefined;
  }
  const store = path.resolve(workDir, storePath);
  const m = await latestVerifiedSnapshot(store, database, revision);
  return m === undefined
    ? undefined
    : {
        id: m.id,
        database: m.database,
        revision: m.revision,
        appVersion: m.appVersion,
        takenAt: m.takenAt,
        reason: m.reason,
        storePath: store,
      };
}

/** Whether a rollback to this plan can go ahead. */
export function planWorks(plan: RollbackPlan): boolean {
  return plan.decision !== "refuse" && (plan.preview === null || plan.preview.ok);
}

export const plan: Command = {
  name: "plan",
  summary: "what a rollback to an update or version would do, with a pulumi preview",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common, values } = parseCommand(
      args,
      {
        ...TARGET_OPTIONS,
        restore: { type: "boolean", default: false },
        "skip-preview": { type: "boolean", default: false },
        "policy-config": { type: "string" },
      },
      io.env,
    );
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const to = targetOption(values);
    const session = await StackAccess.open(defaultProjectDir(io.env), common.stack);
    try {
      const { plan: result } = await planRollback(session, to, {
        restore: values.restore === true,
        preview: values["skip-preview"] !== true,
        io,
        quiet: common.quiet,
        policy: resolvePolicyPack(
          session.workDir,
          session.name,
          stringOption(values, "policy-config"),
        ),
      });
      io.stdout(common.json ? `${JSON.stringify(result, null, 2)}\n` : formatRollbackPlan(result));
      return planWorks(result) ? ExitCode.ok : ExitCode.failed;
    } finally {
      await session.close();
    }
  },
};
