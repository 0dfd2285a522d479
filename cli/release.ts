// `rewind release [--set key=value …]`: the automatic rollback (README.md). Previews the --set
// values (path config) with the policy pack, pins them, runs `pulumi up`; if the update fails
// (the health gate, a migration, anything), pins the last known-good config (the newest
// succeeded update's) as the runbooks' decision tree says and runs `pulumi up` again.
import * as fs from "node:fs";
import * as path from "node:path";
import { REGISTRY_PASSWORD_KEY, parseConfig } from "../domain/config";
import { InternalError } from "../domain/errors";
import { irreversibleSteps, readMigrationSet } from "../domain/migrationSet";
import { compareRevisions, isRevision } from "../domain/revision";
import {
  LeafPin,
  applyLeafPins,
  checkDistinct,
  describePins,
  leafCommands,
  parseSet,
  pinCommands,
  pinConfig,
  rawConfig,
  withMaintenanceList,
  withRevisionList,
} from "./configPins";
import { EngineOutcome, StackAccess, progressPrinter } from "./stackAccess";
import { PolicyPack } from "./policyPack";
import { formatRefusals, judgePreview } from "./previewRefusal";
import { describeHolder } from "./configLock";
import { openStackChange } from "./stackChange";
import { checkRegistryCredentials } from "./registryCheck";
import { readHistory } from "./history";
import { repairedStateText, requireRecovered } from "./recover";
import { judgeStack } from "./recoveryPlan";
import { engineLocks } from "./stackRecovery";
import { checkWebhookUrl, postWebhook } from "./notify";
import {
  COMMON_HELP,
  CliIo,
  Command,
  ExitCode,
  parseCommand,
  stringList,
  stringOption,
} from "./options";
import { restoreCandidate } from "./plan";
import { causeWords } from "../domain/rollbackPlan";
import { classifyFailure } from "./progress";
import { autoRollbackMessage } from "./rollbackMessages";
import { chooseAutoRollback } from "../domain/rollbackPlan";
import { formatChanges } from "./rollbackPlanText";
import { Detection, alembicRevisionNow, detectOnTheWayBack } from "./appStartTrial";
import { appStartSentence, maintenanceDetected } from "../domain/rehearsal";
import { buildReport, formatReport, webhookPayload } from "./rollbackReport";
import { HistoryEntry, Pins, StackConfig, lastKnownGood } from "../domain/pins";
import { formatSeconds, shortDigest } from "./stackHistory";

const usage = `Usage: rewind release [--set key=value …] [--set-secret key=value …]
                      [--recover] [--allow-restore] [--policy-config NAME] [--report FILE]
                      [--notify URL] [--json] [--stack S]

Previews the --set values with the policy pack (policy/, with policy/config/<stack>.json when
it exists, as the CI gate), pins them in the stack's config and runs pulumi up. A pin the
preview refuses (the config schema, the program, a resource's check, a mandatory policy) is
bad input: each is named under its config key, the release exits 2, and nothing changes. If
the update fails (the health gate, a migration, anything), pins the last known-good config
(the newest succeeded update's) and runs pulumi up again, following the runbooks' decision
tree: a failed migration goes down, or restores the snapshot taken before it when a step has
no down script; a failed gate rolls the app back.

Options:
  --set K=V         a config pin, e.g. rewind:app.version=1.1.0 or rewind:database.revision=0002
                    (path syntax; the value keeps the type the key has now; repeatable)
  --set-secret K=V  the same, stored as a secret (rewind:database.url always is)
  --recover         first put right what a killed update left behind (see rewind recover)
  --allow-restore   when the automatic rollback's migration down fails too, restore the
                    verified snapshot at the known-good revision (it discards newer writes);
                    without it the release stops and names the snapshot
  --policy-config NAME  check with policy/config/NAME.json instead of the stack's own
  --report FILE     after an automatic rollback, write the rollback report (Markdown) there
  --notify URL      after an automatic rollback, POST the chat message (JSON) to this webhook
  --json            the outcome as JSON on stdout
${COMMON_HELP}

Exit codes: 0 released; 1 the release failed and was rolled back; 2 bad input: a pin the
preview or the policy pack refused, or the stack is locked (nothing changed, the config file as
it was); 3 the release failed and was not rolled back (the preview could not run, no
known-good update, no safe method, or the rollback failed too).`;

export const release: Command = {
  name: "release",
  summary: "pin --set values and pulumi up; on failure roll back to the last known-good config",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common, values } = parseCommand(
      args,
      {
        set: { type: "string", multiple: true },
        "set-secret": { type: "string", multiple: true },
        report: { type: "string" },
        notify: { type: "string" },
        "policy-config": { type: "string" },
        recover: { type: "boolean", default: false },
        "allow-restore": { type: "boolean", default: false },
      },
      io.env,
    );
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const reportFile = stringOption(values, "report");
    const notifyUrl = stringOption(values, "notify");
    const webhook = notifyUrl === undefined ? undefined : checkWebhookUrl(notifyUrl);

    const { session, policy, lock } = await openStackChange(
      io,
      common.stack,
      stringOption(values, "policy-config"),
      ["rewind release", ...args].join(" "),
      values.recover === true ? "repair" : "refuse",
    );
    if (session.repairedStateFiles.length > 0) {
      io.stderr(repairedStateText(session.repairedStateFiles));
    }
    if (lock.replaced !== undefined) {
      io.stderr(`Replaced the lock of ${describeHolder(lock.replaced)}: that process is gone.\n`);
    }
    try {
      let [config, entries] = await Promise.all([session.config(), session.history()]);
      const pins: LeafPin[] = [
        ...stringList(values, "set").map((s) => parseSet(s, config)),
        ...stringList(values, "set-secret").map((s) => parseSet(s, config, true)),
      ];
      checkDistinct(pins);
      // The program would refuse a bad pin too, but only after the config was written; checked
      // here with the program's own schema, a mistake leaves the stack untouched (exit 2).
      const next = applyLeafPins(config, pins);
      await checkRegistryCredentials(
        parseConfig(session.name, rawConfig(next), secretKeysOf(next)),
      );

      if (
        await requireRecovered(session, io, config, {
          recover: values.recover === true,
          quiet: common.quiet,
          command: "rewind release",
        })
      ) {
        [config, entries] = await Promise.all([session.config(), session.history()]);
      }
      const good = lastKnownGood(entries);
      const message = ["rewind release", describePins(pins)].filter(Boolean).join(" ");
      // The file as it was, to put back byte for byte when the release changes nothing.
      const configFile = session.configFile();
      const original = readFileOrUndefined(configFile);
      const refused = await previewPins(session, io, pins, policy, common);
      if (refused !== undefined) {
        return refused;
      }
      for (const command of leafCommands(pins, session.name)) {
        await session.pulumi(command.args, command.stdin);
      }
      io.stderr(
        `Releasing stack ${session.name}${pins.length > 0 ? ` (${describePins(pins)})` : ""}…\n`,
      );
      const started = io.now();
      const asked = readFileOrUndefined(configFile);
      const outcome = await session.up(message, progressPrinter(io, common.quiet), policy);
      if (
        !outcome.ok &&
        (outcome.locked || (outcome.violations.length > 0 && !changedAnything(outcome.events)))
      ) {
        // Nothing ran: a refusal is not a failure to roll back from.
        restoreFile(configFile, original);
        const why = outcome.locked
          ? `did not start: ${lockedWhy(session)}`
          : `refused by the policy pack:\n` +
            outcome.violations
              .map((v) => `  - ${v.policy} on ${v.resource}: ${v.message}`)
              .join("\n");
        io.stderr(
          `Release ${why}\nNothing was changed and not rolled back; the stack's config file is as it was.\n`,
        );
        if (common.json) {
          io.stdout(
            `${JSON.stringify({ released: false, rolledBack: false, locked: outcome.locked, violations: outcome.violations, error: outcome.error ?? null }, null, 2)}\n`,
          );
        }
        return ExitCode.badInput;
      }
      if (!outcome.ok && !changedAnything(outcome.events) && credentialsRefused(outcome)) {
        // The registry refused the credentials while the images were resolved, before anything
        // ran: bad input, not a failed release to roll back from.
        restoreFile(configFile, original);
        io.stderr(
          `Release refused: ${outcome.error ?? "the registry refused the credentials"}\n` +
            `Nothing was changed and not rolled back; the stack's config file is as it was.\n`,
        );
        if (common.json) {
          io.stdout(
            `${JSON.stringify({ released: false, rolledBack: false, locked: false, violations: [], error: outcome.error ?? null }, null, 2)}\n`,
          );
        }
        return ExitCode.badInput;
      }
      if (outcome.ok) {
        const o = outcome.outputs;
        const seconds = secondsSince(io, started);
        if (common.json) {
          io.stdout(
            `${JSON.stringify({ released: true, rolledBack: false, seconds, outputs: o, changes: outcome.changes }, null, 2)}\n`,
          );
        } else {
          io.stdout(
            `Released stack ${session.name} in ${formatSeconds(seconds)}: app ${o.appVersion ?? "?"}` +
              `${o.digest ? ` (${shortDigest(o.digest)})` : ""}, schema ${o.revision ?? "?"}` +
              `${o.snapshotId ? `, snapshot ${o.snapshotId}` : ""}; ${formatChanges(outcome.changes, "done")}.\n`,
          );
        }
        return ExitCode.ok;
      }

      // The release failed: find out why, then pin the last known-good config.
      const cause = classifyFailure(outcome.events);
      const failedEntry = (await session.history()).filter((e) => e.kind === "update").at(-1);
      const failedNumber = failedEntry?.number ?? (entries.at(-1)?.number ?? 0) + 1;
      io.stderr(
        `Release FAILED (update ${failedNumber}, ${causeWords(cause)}): ${outcome.error ?? "pulumi up failed"}\n` +
          (cause.migrationError === undefined
            ? ""
            : `The migration's error, whole:\n${cause.migrationError}\n`),
      );
      const failedPins = failedEntry?.pins ?? {};
      const irreversible =
        good === undefined ? [] : stepsWithoutDown(session.workDir, failedPins, good.pins);
      const snapshot =
        good !== undefined && cause.migrationFailed
          ? await restoreCandidate(
              session.workDir,
              good.pins.storePath,
              good.pins.database,
              good.pins.revision,
            )
          : undefined;
      const choice = chooseAutoRollback({
        cause,
        lastKnownGood: good,
        failed: failedPins,
        irreversible,
        snapshot,
      });
      const result: Record<string, unknown> = {
        released: false,
        failedUpdate: failedNumber,
        cause: causeWords(cause),
        error: outcome.error ?? null,
        decision: choice.decision,
        reason: choice.reason,
      };
      if (choice.action === "none" || choice.to === undefined) {
        io.stderr(`Not rolled back: ${choice.reason}.\n`);
        if (common.json)
          io.stdout(`${JSON.stringify({ ...result, rolledBack: false }, null, 2)}\n`);
        return ExitCode.failed;
      }

      // Before a migration down, the known-good version is tried on a copy of the schema the
      // failed update left: if it is not ready there, the way down takes the maintenance order.
      const detection =
        choice.decision === "migration-down"
          ? await detectBeforeMigrationDown(session, io, common.quiet, choice.to, failedPins)
          : {};
      if (detection.trial !== undefined || detection.note !== undefined) {
        const said =
          detection.trial === undefined ? detection.note : appStartSentence(detection.trial);
        io.stderr(`Order: ${said}\n`);
        result.detection = said;
      }
      // The failed config's maintenance declarations hold on the way back too, and so does the
      // order the trial detected.
      const target = withMaintenanceList(
        rollbackConfig(choice.to, choice.keepRevision, choice.restoreSnapshot, choice.revisions),
        [...(failedPins.migrationsMaintenance ?? []), ...maintenanceDetected(detection.trial)],
      );
      const writes = pinConfig(await session.config(), target);
      for (const command of pinCommands(writes, session.name)) {
        await session.pulumi(command.args, command.stdin);
      }
      io.stderr(`Rolling back: ${choice.reason}…\n`);
      let rollbackOutcome = await session.up(
        autoRollbackMessage(choice.to.number, failedNumber, cause, choice.decision),
        progressPrinter(io, common.quiet),
        policy,
      );
      // What the rollback did in the end: a restore when the way down failed and was replaced.
      let decision = choice.decision;
      const back = rollbackOutcome.ok ? undefined : classifyFailure(rollbackOutcome.events);
      if (back?.migrationFailed === true && choice.decision === "migration-down") {
        // The way down failed as well: the snapshot at the known-good revision is the way out.
        const fallback = await restoreCandidate(
          session.workDir,
          choice.to.pins.storePath,
          choice.to.pins.database,
          choice.to.pins.revision,
        );
        io.stderr(
          `The rollback's migration down FAILED: ${rollbackOutcome.error ?? "pulumi up failed"}\n` +
            (back.migrationError === undefined ? "" : `${back.migrationError}\n`),
        );
        if (fallback !== undefined && values["allow-restore"] === true) {
          io.stderr(
            `Restoring snapshot ${fallback.id} (taken ${fallback.takenAt} at ${fallback.revision}) ` +
              `instead (--allow-restore); what was written after it is discarded…\n`,
          );
          const restoreTarget = rollbackConfig(choice.to, undefined, fallback.id, choice.revisions);
          for (const command of pinCommands(
            pinConfig(await session.config(), restoreTarget),
            session.name,
          )) {
            await session.pulumi(command.args, command.stdin);
          }
          rollbackOutcome = await session.up(
            autoRollbackMessage(choice.to.number, failedNumber, cause, "restore"),
            progressPrinter(io, common.quiet),
            policy,
          );
          decision = "restore";
          result.decision = decision;
          result.restoredInstead = fallback.id;
        } else if (fallback !== undefined) {
          io.stderr(
            `A verified snapshot exists at revision ${fallback.revision}: ${fallback.id} (taken ` +
              `${fallback.takenAt}); a restore discards what was written after it. Restore it with: ` +
              `rewind rollback --to-update ${choice.to.number} --yes --allow-restore ` +
              `(or rewind release --allow-restore next time)\n`,
          );
          result.restoreOffered = fallback.id;
        }
      }
      const seconds = secondsSince(io, started);
      if (!rollbackOutcome.ok) {
        // Left at the rollback's pins, the next plain `pulumi up` would go where nobody asked.
        restoreFile(configFile, asked);
        io.stderr(
          `Rollback FAILED too: ${rollbackOutcome.error ?? "pulumi up failed"}\n` +
            `The stack's config file is restored to what this release asked for ` +
            `(${describePins(pins) || "its pins"}), not the rollback's; neither converged. ` +
            `A person must take over (rewind status, rewind plan --to-update ${choice.to.number}).\n`,
        );
      } else if (!common.json) {
        const o = rollbackOutcome.outputs;
        io.stdout(
          `Release failed and was rolled back to update ${choice.to.number} (${decision}) ` +
            `${formatSeconds(seconds)} after it started: app ${o.appVersion ?? "?"}` +
            `${o.digest ? ` (${shortDigest(o.digest)})` : ""}, schema ${o.revision ?? "?"}.\n`,
        );
      }
      if (common.json) {
        io.stdout(
          `${JSON.stringify({ ...result, rolledBack: rollbackOutcome.ok, rollbackError: rollbackOutcome.error ?? null, seconds, outputs: rollbackOutcome.outputs }, null, 2)}\n`,
        );
      }
      await reportAfterRollback(session, io, reportFile, webhook);
      return rollbackOutcome.ok ? ExitCode.rolledBack : ExitCode.failed;
    } finally {
      lock.release();
      await session.close();
    }
  },
};

/**
 * Starts the known-good version on a copy of the schema the failed update left, when the way
 * down crosses Alembic steps no declaration covers (cli/appStartTrial.ts).
 */
async function detectBeforeMigrationDown(
  session: StackAccess,
  io: CliIo,
  quiet: boolean,
  good: HistoryEntry,
  failed: Pins,
): Promise<Detection> {
  const config = await session.config();
  const order = failed.migrationsRevisions ?? good.pins.migrationsRevisions;
  if (good.pins.migrationsTool !== "alembic" || order === undefined) return {};
  const to = good.pins.revision;
  // What the failed update left: a failed migration may have stopped between two steps.
  const from = await alembicRevisionNow(config);
  if (to === undefined || from === undefined) return {};
  return detectOnTheWayBack(
    {
      currentConfig: config,
      targetConfig: good.config,
      appFrom: failed.appVersion,
      from,
      to,
      order,
      declared: [
        ...(failed.migrationsMaintenance ?? []),
        ...(good.pins.migrationsMaintenance ?? []),
      ],
    },
    io,
    quiet,
  );
}

/** The keys the stack holds as secrets (a namespace with one secret leaf is one). */
function secretKeysOf(config: StackConfig): Set<string> {
  return new Set(
    Object.entries(config)
      .filter(([, entry]) => entry.secret === true)
      .map(([key]) => key),
  );
}

/**
 * Whether the update failed because a registry refused (or wanted) credentials: every such
 * error names the password's config key (adapters/registryAuth.ts, adapters/docker.ts).
 */
function credentialsRefused(outcome: EngineOutcome): boolean {
  const said = [
    outcome.error ?? "",
    ...outcome.events.map((e) =>
      e.diagnosticEvent?.severity === "error" ? e.diagnosticEvent.message : "",
    ),
  ];
  return said.some((text) => text.includes(REGISTRY_PASSWORD_KEY));
}

/**
 * Previews `pins` with the policy pack in a copy of the stack's config file, before the update
 * (issue 10, defect 5): the stack's own file is not written, so a refusal leaves it as it was.
 * Returns the exit code when the release must stop, undefined when the update may run.
 */
async function previewPins(
  session: StackAccess,
  io: CliIo,
  pins: readonly LeafPin[],
  policy: PolicyPack,
  common: { quiet: boolean; json: boolean },
): Promise<ExitCode | undefined> {
  if (!common.quiet) {
    io.stderr(
      `Previewing stack ${session.name}${pins.length > 0 ? ` (${describePins(pins)})` : ""} ` +
        `with the policy pack…\n`,
    );
  }
  // Silent: the update prints every step once it runs; a refusal is printed whole below.
  const outcome = await session.withConfigCopy(async (file) => {
    for (const command of leafCommands(pins, session.name, file)) {
      await session.pulumi(command.args, command.stdin);
    }
    return session.preview(file, () => undefined, policy);
  });
  const verdict = judgePreview(outcome);
  let why: string;
  let code: ExitCode;
  switch (verdict.kind) {
    case "pass":
      return undefined;
    case "locked":
      why = `did not start: ${lockedWhy(session)}`;
      code = ExitCode.badInput;
      break;
    case "refused":
      why = `refused by its preview, before anything changed:\n${formatRefusals(verdict.refusals)}`;
      code = ExitCode.badInput;
      break;
    case "unjudged":
      why = `did not start: the preview could not check the pins: ${verdict.why}`;
      code = ExitCode.failed;
      break;
    default: {
      const unexpected: never = verdict;
      throw new InternalError(`unknown preview verdict ${JSON.stringify(unexpected)}`);
    }
  }
  io.stderr(
    `Release ${why}\nNothing was changed and not rolled back; the stack's config file is as it was.\n`,
  );
  if (common.json) {
    io.stdout(
      `${JSON.stringify(
        {
          released: false,
          rolledBack: false,
          locked: verdict.kind === "locked",
          refusals: verdict.kind === "refused" ? verdict.refusals : [],
          violations: outcome.violations,
          error: verdict.kind === "unjudged" ? verdict.why : (outcome.error ?? null),
        },
        null,
        2,
      )}\n`,
    );
  }
  return code;
}

/** Whether a step of the update changed a resource (the pack stops at the resource it refuses). */
function changedAnything(events: EngineOutcome["events"]): boolean {
  return events.some((e) => {
    const m = e.resOutputsEvent?.metadata;
    // The stack's own resource and default providers are bookkeeping, not the world.
    if (
      m === undefined ||
      m.type === "pulumi:pulumi:Stack" ||
      m.type.startsWith("pulumi:providers:")
    ) {
      return false;
    }
    return m.op !== "same" && m.op !== "read" && m.op !== "refresh";
  });
}

// Said only when an update really runs; a lock whose process is gone is named as such.
function lockedWhy(session: StackAccess): string {
  const locks = engineLocks(process.env, session.workDir, session.name);
  const verdict = judgeStack(session.name, { locks, pending: [], partialSnapshots: [] });
  switch (verdict.kind) {
    case "busy":
      return verdict.message;
    case "recoverable":
      return `${verdict.happened.join("; ")}; run rewind recover`;
    case "clean":
      return `stack ${session.name} was locked by another update, which has ended; run again`;
    default: {
      const unexpected: never = verdict;
      return String(unexpected);
    }
  }
}

function readFileOrUndefined(file: string): Buffer | undefined {
  return fs.existsSync(file) ? fs.readFileSync(file) : undefined;
}

/** Puts a file back as it was, byte for byte (removed if it did not exist). */
function restoreFile(file: string, bytes: Buffer | undefined): void {
  if (bytes === undefined) {
    fs.rmSync(file, { force: true });
  } else {
    fs.writeFileSync(file, bytes);
  }
}

function secondsSince(io: CliIo, started: Date): number {
  return Math.round((io.now().getTime() - started.getTime()) / 1000);
}

/**
 * The known-good config, with the revision kept, a restore pinned or the failed config's
 * Alembic revision list carried over when the choice says so.
 */
export function rollbackConfig(
  good: HistoryEntry,
  keepRevision: string | undefined,
  restoreSnapshot: string | undefined,
  revisions?: readonly string[],
): StackConfig {
  const overrides = [
    ...(keepRevision === undefined ? [] : [`rewind:database.revision=${keepRevision}`]),
    ...(restoreSnapshot === undefined ? [] : [`rewind:restore.snapshot=${restoreSnapshot}`]),
  ];
  const config = revisions === undefined ? good.config : withRevisionList(good.config, revisions);
  return applyLeafPins(
    config,
    overrides.map((o) => parseSet(o, config)),
  );
}

// The steps without a down script between the failed pin and the known-good one, from the
// failed config's migrations (the newer set, which has every step); undefined if unreadable,
// and for Alembic, whose steps' downgrade()s decide at run time (chooseAutoRollback orders
// its ids by the configs' revision lists).
function stepsWithoutDown(workDir: string, failed: Pins, good: Pins): string[] | undefined {
  const from = failed.revision;
  const to = good.revision;
  if (failed.migrationsTool !== "sql" || failed.migrationsDir === undefined) {
    return undefined;
  }
  if (from === undefined || to === undefined || !isRevision(from) || !isRevision(to)) {
    return undefined;
  }
  if (compareRevisions(from, to) <= 0) {
    return [];
  }
  try {
    const set = readMigrationSet(path.resolve(workDir, failed.migrationsDir));
    return irreversibleSteps(set, from, to).map((s) => s.revision);
  } catch {
    return undefined;
  }
}

// The report follows the automatic rollback. Failures here are reported, not fatal: the
// rollback itself already happened and its exit code must say so.
async function reportAfterRollback(
  session: StackAccess,
  io: CliIo,
  reportFile: string | undefined,
  webhook: URL | undefined,
): Promise<void> {
  if (reportFile === undefined && webhook === undefined) {
    io.stderr(`Write the rollback report with: rewind report --stack ${session.name}\n`);
    return;
  }
  try {
    const { entries, rows } = await readHistory(session);
    const newest = entries.filter((e) => e.kind === "update").at(-1);
    if (newest === undefined) return;
    const facts = buildReport(entries, rows, {
      stack: session.name,
      update: newest.number,
      now: io.now(),
    });
    if (reportFile !== undefined) {
      fs.writeFileSync(reportFile, formatReport(facts));
      io.stderr(`Wrote the rollback report to ${reportFile}\n`);
    }
    if (webhook !== undefined) {
      await postWebhook(webhook, webhookPayload(facts));
      io.stderr(`Posted the rollback message to ${webhook.origin}\n`);
    }
  } catch (error) {
    io.stderr(`Could not write or send the rollback report: ${(error as Error).message}\n`);
  }
}
