// `rewind rollback --to-update N | --to-version V`: the rollback from the stack's history (README.md). Pins the
// config that update ran with (every rewind:* key; secret values written back as secrets),
// shows the plan and its preview, asks, then runs `pulumi up`, whose HealthGate decides.
import { UserError } from "../domain/errors";
import { applyLeafPins, parseSet, pinCommands, pinConfig } from "./configPins";
import { classifyFailure } from "./progress";
import { RollbackPlan } from "../domain/rollbackPlan";
import { stamp } from "./rollbackPlanText";
import { progressPrinter } from "./stackAccess";
import { openStackChange } from "./stackChange";
import { COMMON_HELP, CliIo, Command, ExitCode, parseCommand, stringOption } from "./options";
import { requireRecovered } from "./recover";
import { TARGET_HELP, TARGET_OPTIONS, targetOption } from "./target";
import { plan as planCommand, planRollback, planWorks } from "./plan";
import { formatChanges, formatRollbackPlan } from "./rollbackPlanText";
import { rollbackMessage } from "./rollbackMessages";
import { formatSeconds, shortDigest } from "./stackHistory";

const usage = `Usage: rewind rollback (--to-update N | --to-version V | --to-time T) [--restore] [--yes]
                       [--allow-restore] [--skip-rehearsal] [--with-data]
                       [--dry-run] [--policy-config NAME] [--json] [--stack S]

Pins the config an earlier update ran with (all rewind:* keys, secrets kept secret), prints
the plan and its pulumi preview with the policy pack (as rewind plan does), asks for
confirmation, and runs pulumi up with the policy pack; the health gate runs inside it. The
update's message records the rollback ("rewind rollback --to-update 7"); rewind report writes
its report.

Options:
${TARGET_HELP}
  --restore       also pin the newest verified snapshot at the target revision to restore
                  (for a downgrade through a step without a down script)
  -y, --yes       do not ask; required when there is no terminal
  --allow-restore with --yes: restore the snapshot when the plan falls back to it (a step down
                  cannot be undone) or when the migration down fails; without it a rollback
                  that needs a restore stops and says so (a restore discards newer writes)
  --skip-rehearsal  do not rehearse an Alembic downgrade on a copy of the database first
  --with-data     rehearse on a copy of the rows too
  --dry-run       only plan: the same as rewind plan with these options
  --policy-config NAME  check with policy/config/NAME.json instead of the stack's own
  --json          the plan and the outcome as JSON on stdout
${COMMON_HELP}

Exit codes: 0 rolled back (with --dry-run: would work); 2 bad input (nothing changed); 3 not
rolled back (refused, preview failed, cancelled, or pulumi up failed).`;

export const rollback: Command = {
  name: "rollback",
  summary: "pin an earlier update's config, preview, confirm, pulumi up",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common, values } = parseCommand(
      args,
      {
        ...TARGET_OPTIONS,
        yes: { type: "boolean", short: "y", default: false },
        restore: { type: "boolean", default: false },
        "allow-restore": { type: "boolean", default: false },
        "skip-rehearsal": { type: "boolean", default: false },
        "with-data": { type: "boolean", default: false },
        "dry-run": { type: "boolean", default: false },
        "policy-config": { type: "string" },
      },
      io.env,
    );
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const to = targetOption(values);
    if (values["dry-run"] === true) {
      // Asks nothing and changes nothing, so --yes has no meaning here.
      return planCommand.run(
        args.filter(
          (a) => a !== "--dry-run" && a !== "--yes" && a !== "-y" && a !== "--allow-restore",
        ),
        io,
      );
    }
    const yes = values.yes === true;
    const allowRestore = values["allow-restore"] === true;
    // Checked before anything runs: a script without --yes must fail fast, not after a preview.
    if (!yes && !io.interactive) {
      throw new UserError(
        "refusing to roll back without confirmation: there is no terminal to ask on; " +
          "pass --yes to roll back non-interactively (rewind plan shows what would happen)",
      );
    }

    const { session, policy, lock } = await openStackChange(
      io,
      common.stack,
      stringOption(values, "policy-config"),
      ["rewind rollback", ...args].join(" "),
    );
    try {
      await requireRecovered(session, io, await session.config(), {
        recover: false,
        quiet: common.quiet,
        command: "rewind rollback",
      });
      const planned = await planRollback(session, to, {
        restore: values.restore === true,
        preview: true,
        io,
        quiet: common.quiet,
        policy,
        rehearse: values["skip-rehearsal"] !== true,
        withData: values["with-data"] === true,
      });
      const { plan, target, writes } = planned;
      const report = (outcome: Record<string, unknown>) => {
        if (common.json) {
          io.stdout(`${JSON.stringify({ plan, outcome }, null, 2)}\n`);
        }
      };
      if (!common.json) {
        io.stdout(formatRollbackPlan(plan));
      }
      if (!planWorks(plan)) {
        const why =
          plan.decision === "refuse"
            ? `refused: ${plan.reason}${plan.alternative ? `; ${plan.alternative}` : ""}`
            : `the preview failed: ${plan.preview?.error ?? "see above"}`;
        io.stderr(`Not rolled back: ${why}. Nothing was changed.\n`);
        report({ rolledBack: false, reason: why });
        return ExitCode.failed;
      }
      if (plan.decision === "none" && writes.changed.length === 0) {
        io.stderr(
          `Nothing to do: stack ${session.name} already runs update ${target.number}'s config.\n`,
        );
        report({ rolledBack: false, reason: "already pinned" });
        return ExitCode.ok;
      }

      if (plan.restoreReason === "irreversible" && yes && !allowRestore) {
        const why =
          `the plan restores snapshot ${plan.restorePin} (${plan.reason}); ${lossWords(plan)}. ` +
          `Run again with --yes --allow-restore to restore, or answer yes without --yes`;
        io.stderr(`Not rolled back: ${why}. Nothing was changed.\n`);
        report({ rolledBack: false, reason: why });
        return ExitCode.failed;
      }
      if (!yes) {
        const answer = await io.ask(
          `Roll back stack ${session.name} to update ${target.number} ` +
            `(app ${plan.app.to ?? "?"}, schema ${plan.schema.to ?? "?"}, ${plan.decision}` +
            `${plan.decision === "restore" ? `: ${lossWords(plan)}` : ""})? [y/N] `,
        );
        if (!/^y(es)?$/i.test(answer.trim())) {
          io.stderr("Cancelled: nothing was changed.\n");
          report({ rolledBack: false, reason: "cancelled" });
          return ExitCode.failed;
        }
      }

      for (const command of pinCommands(writes, session.name)) {
        await session.pulumi(command.args, command.stdin);
      }
      const message = rollbackMessage(String(target.number), values.restore === true);
      io.stderr(
        `Pinned update ${target.number}'s config (${writes.changed.join(", ") || "unchanged"}); running pulumi up…\n`,
      );
      const started = io.now();
      const outcome = await session.up(message, progressPrinter(io, common.quiet), policy);
      let seconds = Math.round((io.now().getTime() - started.getTime()) / 1000);
      let final = outcome;
      let restoredInstead: string | undefined;
      if (!outcome.ok) {
        const cause = classifyFailure(outcome.events);
        io.stderr(
          `Rollback FAILED after ${formatSeconds(seconds)}: ${outcome.error ?? "pulumi up failed"}\n` +
            (cause.migrationError === undefined
              ? ""
              : `The migration's error, whole:\n${cause.migrationError}\n`),
        );
        // The way down failed; the snapshot at the target revision is the way out (runbook
        // method 3), offered, and performed with --allow-restore.
        const snapshot = plan.snapshot;
        const offer =
          cause.migrationFailed && plan.decision !== "restore" && snapshot !== null
            ? snapshot
            : undefined;
        let restore = false;
        if (offer !== undefined) {
          const loss = `a restore discards what was written after ${stamp(offer.takenAt)}`;
          if (allowRestore && yes) {
            restore = true;
          } else if (!yes && io.interactive) {
            const answer = await io.ask(
              `The migration down failed. Restore snapshot ${offer.id} (taken ${stamp(offer.takenAt)} ` +
                `at ${offer.revision}) instead? ${loss}. [y/N] `,
            );
            restore = /^y(es)?$/i.test(answer.trim());
          }
          if (!restore) {
            io.stderr(
              `A verified snapshot exists at revision ${offer.revision}: ${offer.id} ` +
                `(taken ${stamp(offer.takenAt)}); ${loss}. Restore it with: ` +
                `rewind rollback --to-update ${target.number} --yes --allow-restore\n`,
            );
          }
        }
        if (!restore || offer === undefined) {
          io.stderr(
            `The stack's config now pins update ${target.number}'s config; the deployment did not converge ` +
              `to it. Fix the cause and run rewind rollback again, or pin another update.\n`,
          );
          report({
            rolledBack: false,
            message,
            error: outcome.error ?? null,
            seconds,
            restoreOffered: offer?.id ?? null,
          });
          return ExitCode.failed;
        }
        io.stderr(`Restoring snapshot ${offer.id} instead (--allow-restore)…\n`);
        const now = await session.config();
        const pinned = applyLeafPins(planned.targetConfig, [
          parseSet(`rewind:restore.snapshot=${offer.id}`, planned.targetConfig),
        ]);
        for (const command of pinCommands(pinConfig(now, pinned), session.name)) {
          await session.pulumi(command.args, command.stdin);
        }
        final = await session.up(
          rollbackMessage(String(target.number), true),
          progressPrinter(io, common.quiet),
          policy,
        );
        seconds = Math.round((io.now().getTime() - started.getTime()) / 1000);
        if (!final.ok) {
          io.stderr(
            `The restore FAILED too after ${formatSeconds(seconds)}: ${final.error ?? "pulumi up failed"}\n` +
              `A person must take over (rewind status; the snapshot is ${offer.id}).\n`,
          );
          report({ rolledBack: false, message, error: final.error ?? null, seconds });
          return ExitCode.failed;
        }
        restoredInstead = offer.id;
      }
      const o = final.outputs;
      if (!common.json) {
        io.stdout(
          `Rolled back stack ${session.name} to update ${target.number} in ${formatSeconds(seconds)}: ` +
            `app ${o.appVersion ?? plan.app.to ?? "?"}${o.digest ? ` (${shortDigest(o.digest)})` : ""}, ` +
            `schema ${o.revision ?? plan.schema.to ?? "?"}` +
            `${o.snapshotId ? `, snapshot ${o.snapshotId}` : ""}; ${formatChanges(final.changes, "done")}.\n` +
            (restoredInstead === undefined
              ? ""
              : `The migration down failed; snapshot ${restoredInstead} was restored instead.\n`) +
            `Write the report with: rewind report --stack ${session.name}\n`,
        );
      }
      report({
        rolledBack: true,
        message,
        seconds,
        outputs: o,
        changes: final.changes,
        restoredInstead: restoredInstead ?? null,
      });
      return ExitCode.ok;
    } finally {
      lock.release();
      await session.close();
    }
  },
};

/** What a restore discards, in words. */
function lossWords(plan: RollbackPlan): string {
  const d = plan.dataLoss;
  if (d === null) return "a restore discards what was written after the snapshot";
  return (
    `a restore discards what was written after ${d.takenAt === "" ? "the snapshot" : stamp(d.takenAt)}` +
    (d.rowsWrittenSince === null ? "" : ` (about ${d.rowsWrittenSince} rows)`)
  );
}
