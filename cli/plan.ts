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
  withMaintenanceList,
  withRevisionList,
} from "./configPins";
import { StackAccess, defaultProjectDir, progressPrinter } from "./stackAccess";
import { PolicyPack, resolvePolicyPack } from "./policyPack";
import { COMMON_HELP, CliIo, Command, ExitCode, parseCommand, stringOption } from "./options";
import {
  CurrentState,
  PreviewOutcome,
  RollbackPlan,
  WritesSince,
  buildRollbackPlan,
  planOrdering,
} from "../domain/rollbackPlan";
import { compareIn } from "../domain/revisionOrder";
import { Rehearsal, maintenanceDetected } from "../domain/rehearsal";
import { estimateWritesSince } from "../domain/writesSince";
import { readWriteCounters, withClient } from "../adapters/postgres";
import { rehearseForPlan } from "./rehearse";
import { detectOnTheWayBack } from "./appStartTrial";
import { formatRollbackPlan } from "./rollbackPlanText";
import {
  HistoryEntry,
  SnapshotRecord,
  StackConfig,
  isGood,
  namespaceObject,
  readPins,
} from "../domain/pins";
import { TargetSelector, resolveTarget } from "./stackHistory";
import { TARGET_HELP, TARGET_OPTIONS, targetOption } from "./target";

const usage = `Usage: rewind plan (--to-update N | --to-version V | --to-time T) [--restore] [--skip-preview]
                   [--skip-rehearsal] [--with-data] [--policy-config NAME] [--json] [--stack S]

What \`rewind rollback\` would do, without doing it: app version from → to, schema
revision from → to and whether every step down has a down script, the snapshot a restore
would use (the newest checksum-verified one at the target revision), the decision (app only,
migration down, restore, or refused) with the runbook's method and time target, the order
(app first, or the maintenance order with its expected downtime), and the \`pulumi preview\`
of the target config with the policy pack. An Alembic downgrade is first rehearsed on a
throwaway copy of the database (see rewind rehearse): a step whose downgrade fails there makes
the plan a restore of the snapshot, with what the restore would discard. When the downgrade
works there, the app version changes and no step down is declared in
rewind:database.migrations.maintenance, the pinned version is started on another copy of the
schema now (Docker target only): if it does not become ready within health.timeoutSeconds, the
plan takes the maintenance order and the rollback pins those steps as maintenance. \`rewind
rollback --dry-run\` is the same command.

Options:
${TARGET_HELP}
  --restore       plan pinning the snapshot to restore as well (when a step down is irreversible)
  --skip-preview  no pulumi preview (faster; the plan is then the planner's alone)
  --skip-rehearsal  no rehearsal of an Alembic downgrade (each downgrade() then decides when it runs)
  --with-data     rehearse on a copy of the rows too, not the schema alone
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
    /** Rehearse an Alembic downgrade on a copy first. @default true */
    rehearse?: boolean;
    /** Copy the rows into the rehearsal too. @default false */
    withData?: boolean;
    /**
     * Start the pinned version on a copy of the schema now when the way down crosses steps no
     * declaration puts in the maintenance order. @default true
     */
    detect?: boolean;
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
  // The target's Alembic list lacks the revision now: pin the current list with it, or the
  // program could not order the two (buildRollbackPlan says so in the plan's notes).
  const ordering = planOrdering(target, current, currentPins);
  const rehearsed =
    options.rehearse !== false &&
    ordering?.kind === "listed" &&
    current.revision !== undefined &&
    pins.revision !== undefined &&
    compareIn(ordering, current.revision, pins.revision) > 0
      ? await rehearse(session.name, options, {
          config: currentConfig,
          image: currentPins.image ?? pins.image,
          appVersion: current.appVersion,
          digest: current.digest,
          from: current.revision,
          to: pins.revision,
          withData: options.withData === true,
        })
      : {};
  // The maintenance order, detected: only once the rehearsal showed the way down works.
  const detection =
    options.detect !== false && rehearsed.rehearsal?.ok === true && ordering?.kind === "listed"
      ? await detectOnTheWayBack(
          {
            currentConfig,
            targetConfig: target.config,
            appFrom: current.appVersion,
            from: rehearsed.rehearsal.from,
            to: rehearsed.rehearsal.to,
            order: ordering.order,
            declared: [
              ...(currentPins.migrationsMaintenance ?? []),
              ...(pins.migrationsMaintenance ?? []),
            ],
          },
          options.io,
          options.quiet,
        )
      : {};
  const planInput = {
    stack: session.name,
    target,
    current,
    migrations,
    migrationsNote: note,
    currentConfig: currentPins,
    snapshot,
    restore: options.restore,
    rehearsal: rehearsed.rehearsal,
    rehearsalNote: rehearsed.note,
    appStart: detection.trial,
    appStartNote: detection.note,
  };
  // Decided once without the preview: the preview must see the restore pin when the plan
  // falls back to a restore.
  const first = buildRollbackPlan({ ...planInput, configChanges: [] });
  const restoring =
    first.decision === "restore" && first.restorePin !== null && snapshot !== undefined;
  const restored =
    restoring && first.restorePin !== pins.restoreSnapshot
      ? applyLeafPins(target.config, [
          parseSet(`rewind:restore.snapshot=${first.restorePin}`, target.config),
        ])
      : target.config;
  const listed =
    ordering?.kind === "listed" && ordering.source === "current"
      ? withRevisionList(restored, ordering.order)
      : restored;
  // The maintenance order declared since the target ran must hold on the way back too, and so
  // must the one the trial detected.
  const targetConfig = withMaintenanceList(listed, [
    ...(currentPins.migrationsMaintenance ?? []),
    ...maintenanceDetected(detection.trial),
  ]);
  const writes = pinConfig(currentConfig, targetConfig);
  const writesSince =
    restoring && snapshot !== undefined ? await estimateLoss(currentConfig, snapshot) : undefined;

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
    ...planInput,
    configChanges: writes.changed,
    notes: writes.notes,
    preview,
    writesSince,
  });
  return { plan, target, entries, targetConfig, writes };
}

async function rehearse(
  stack: string,
  options: { io: CliIo; quiet: boolean },
  context: Parameters<typeof rehearseForPlan>[0],
): Promise<{ rehearsal?: Rehearsal; note?: string }> {
  if (!options.quiet) {
    options.io.stderr(
      `Rehearsing alembic downgrade ${context.to} of stack ${stack} on a copy of its database…\n`,
    );
  }
  return rehearseForPlan(context);
}

/** Rows written since the snapshot, from its manifest's counters and the database's now. */
async function estimateLoss(config: StackConfig, snapshot: SnapshotRecord): Promise<WritesSince> {
  const url = namespaceObject(config, "rewind:database")?.url;
  if (typeof url !== "string") {
    return { rows: null, basis: "no estimate: the stack's config has no database URL" };
  }
  try {
    const now = await withClient(url, readWriteCounters, { applicationName: "rewind-plan" });
    return estimateWritesSince(snapshot.writes, now);
  } catch (error) {
    return { rows: null, basis: `no estimate: ${(error as Error).message}` };
  }
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
        ...(m.writes === undefined ? {} : { writes: m.writes }),
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
        "skip-rehearsal": { type: "boolean", default: false },
        "with-data": { type: "boolean", default: false },
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
        rehearse: values["skip-rehearsal"] !== true,
        withData: values["with-data"] === true,
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
