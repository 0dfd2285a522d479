// `rewind recover` (and `rewind release --recover`): puts right what a killed update left
// behind: the state's emptied `.attrs` files (every pulumi says `error: EOF` while they are
// there), the lock of a pulumi process that is gone, the operations it never finished
// (reconciled against the real world by a refresh) and partial snapshots. Refuses while an
// update really runs.
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { UserError } from "../domain/errors";
import { StackConfig } from "../domain/pins";
import { acquireConfigLock, lockWaitMs } from "./configLock";
import { COMMON_HELP, CliIo, Command, ExitCode, parseCommand } from "./options";
import { Verdict, formatVerdict, judgeStack } from "./recoveryPlan";
import { StackAccess, defaultProjectDir, progressPrinter } from "./stackAccess";
import {
  StackInspection,
  engineLocks,
  inspectStack,
  pendingOperations,
  removeDeadLocks,
  removePartialSnapshots,
} from "./stackRecovery";

const usage = `Usage: rewind recover [--json] [--stack S]

After an update was killed (the machine rebooted, the process was killed): removes the state's
attribute files a killed pulumi left empty (then every pulumi command says only "error: EOF";
the state files they describe are whole), removes the stack's lock when the pulumi process
that holds it is gone, refreshes the stack against the
real world dropping the operations it never finished (pulumi refresh --clear-pending-creates),
and removes partial snapshots from the backup store. Says what it found and what it did.
Refuses, changing nothing, while an update really runs.

Options:
  --json          what was found and done, as JSON (repairedStateFiles: the files removed)
${COMMON_HELP}

Exit codes: 0 recovered (or nothing to recover); 2 an update runs (nothing changed); 3 the
refresh failed.`;

/** Inspects the stack and judges it; `config` names the backup store. */
export async function judge(
  session: StackAccess,
  env: CliIo["env"],
  config: StackConfig,
): Promise<{ inspection: StackInspection; verdict: Verdict }> {
  const inspection = await inspectStack(
    env,
    session.workDir,
    session.name,
    () => session.automationStack(),
    config,
  );
  return { inspection, verdict: judgeStack(session.name, inspection) };
}

/**
 * Before a command changes the stack: returns when nothing is left behind, or after recovering
 * when `recover`; otherwise throws a UserError (exit 2) saying what happened and what
 * `rewind recover` would do. "Another update is in progress" only when one runs.
 */
export async function requireRecovered(
  session: StackAccess,
  io: CliIo,
  config: StackConfig,
  options: { recover: boolean; quiet: boolean; command: string },
): Promise<boolean> {
  const { inspection, verdict } = await judge(session, io.env, config);
  if (verdict.kind === "clean") {
    return false;
  }
  if (verdict.kind === "busy") {
    throw new UserError(`${verdict.message}. Nothing was changed`);
  }
  if (!options.recover) {
    throw new UserError(
      `${formatVerdict(verdict, options.command === "rewind release" ? "rewind recover (or rewind release --recover)" : "rewind recover")}` +
        `Nothing was changed; run rewind recover --stack ${session.name}, then ${options.command} again`,
    );
  }
  io.stderr(formatVerdict(verdict, "Recovering first; this"));
  await recoverStack(session, inspection, progressPrinter(io, options.quiet));
  io.stderr(`Recovered stack ${session.name}.\n`);
  return true;
}

/** The broken state files that were removed, for stderr. */
export function repairedStateText(files: readonly string[]): string {
  return (
    `Removed ${files.length === 1 ? "1 attribute file" : `${files.length} attribute files`} of ` +
    `the Pulumi state that a killed pulumi left empty or cut short:\n` +
    files.map((f) => `  - ${f}\n`).join("")
  );
}

/** Does what the verdict of `inspection` says, in its order. @throws Error when a step fails. */
export async function recoverStack(
  session: StackAccess,
  inspection: StackInspection,
  onEvent: (e: EngineEvent) => void,
): Promise<void> {
  const stack = await session.automationStack();
  if (inspection.locks.length > 0) {
    // pulumi cancel removes every lock of the stack: only when none of their processes runs.
    const now = engineLocks(process.env, session.workDir, session.name);
    if (now.some((l) => l.state !== "gone")) {
      throw new UserError(
        `${judgeStack(session.name, { ...inspection, locks: now }).kind === "busy" ? "an update started meanwhile" : "the locks changed"}; nothing was changed`,
      );
    }
    await stack.cancel().catch(() => undefined);
    removeDeadLocks(now);
  }
  if (inspection.pending.length > 0) {
    await stack.refresh({
      clearPendingCreates: true,
      message: "rewind recover: refresh, dropping unfinished creates",
      onEvent,
    });
    if ((await pendingOperations(stack)).length > 0) {
      // What the refresh kept (an unfinished update or delete): the state without them, then
      // a refresh that reads each resource as it really is.
      const state = await stack.exportStack();
      const deployment = state.deployment as { pending_operations?: unknown[] };
      delete deployment.pending_operations;
      await stack.importStack(state);
      await stack.refresh({ message: "rewind recover: refresh after pending operations", onEvent });
    }
  }
  removePartialSnapshots(inspection.partialSnapshots);
}

export const recover: Command = {
  name: "recover",
  summary: "after a killed update: clear its stale lock, reconcile pending operations, partials",
  usage,
  async run(args: readonly string[], io: CliIo): Promise<ExitCode> {
    const { common } = parseCommand(args, {}, io.env);
    if (common.help) {
      io.stdout(`${usage}\n`);
      return ExitCode.ok;
    }
    const session = await StackAccess.open(defaultProjectDir(io.env), common.stack, "repair");
    const repaired = session.repairedStateFiles;
    if (repaired.length > 0) {
      io.stderr(repairedStateText(repaired));
    }
    const lock = await acquireConfigLock(
      session.configFile(),
      session.name,
      "rewind recover",
      lockWaitMs(io.env),
    );
    try {
      const { inspection, verdict } = await judge(session, io.env, await session.config());
      const report = (recovered: boolean) =>
        common.json &&
        io.stdout(
          `${JSON.stringify({ stack: session.name, verdict, recovered, repairedStateFiles: repaired }, null, 2)}\n`,
        );
      if (verdict.kind === "clean") {
        io.stderr(
          `${repaired.length > 0 ? "Nothing else" : "Nothing"} to recover: stack ${session.name} ` +
            `has no lock, no pending operation and no partial snapshot.\n`,
        );
        report(repaired.length > 0);
        return ExitCode.ok;
      }
      if (verdict.kind === "busy") {
        io.stderr(
          `${formatVerdict(verdict, "")}Nothing ${repaired.length > 0 ? "else " : ""}was changed.\n`,
        );
        report(false);
        return ExitCode.badInput;
      }
      io.stderr(formatVerdict(verdict, "rewind recover"));
      try {
        await recoverStack(session, inspection, progressPrinter(io, common.quiet));
      } catch (error) {
        io.stderr(`Recovery FAILED: ${(error as Error).message}\n`);
        report(false);
        return ExitCode.failed;
      }
      io.stderr(`Recovered stack ${session.name}; rewind status shows what runs.\n`);
      report(true);
      return ExitCode.ok;
    } finally {
      lock.release();
      await session.close();
    }
  },
};
