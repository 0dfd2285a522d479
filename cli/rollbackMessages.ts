// How a rollback is recorded in the stack's history: the message of its update, written by
// `rewind rollback` and `rewind release`, read back by `rewind report`.
import { Decision } from "../domain/planner";
import { FailureCause, causeWords } from "../domain/rollbackPlan";

/** `rewind rollback --to-update 7`, the message of a manual rollback's update. */
export function rollbackMessage(to: string, restore: boolean): string {
  return `rewind rollback --to-update ${to}${restore ? " --restore" : ""}`;
}

/** The message of an automatic rollback's update; {@link parseRollbackMessage} reads it back. */
export function autoRollbackMessage(
  to: number,
  failed: number,
  cause: FailureCause,
  decision: Decision,
): string {
  return `rewind release: rollback to update ${to} after update ${failed} failed (${causeWords(cause)}); ${decision}`;
}

/** What an update's message says about a rollback, when Rewind wrote it. */
export type RollbackMessage =
  | { readonly kind: "manual"; readonly to: string; readonly restore: boolean }
  | {
      readonly kind: "automatic";
      readonly to: number;
      readonly failed: number;
      readonly cause: "gate" | "migration" | "other";
      readonly decision: string;
    };

export function parseRollbackMessage(message: string): RollbackMessage | undefined {
  const manual = /^rewind rollback --to(?:-update)? (\S+)( --restore)?$/.exec(message);
  if (manual !== null) {
    return { kind: "manual", to: manual[1], restore: manual[2] !== undefined };
  }
  const auto =
    /^rewind release: rollback to update (\d+) after update (\d+) failed \((health checks failed|migration failed|update failed)\); (\S+)$/.exec(
      message,
    );
  if (auto !== null) {
    const cause =
      auto[3] === "health checks failed"
        ? "gate"
        : auto[3] === "migration failed"
          ? "migration"
          : "other";
    return {
      kind: "automatic",
      to: Number(auto[1]),
      failed: Number(auto[2]),
      cause,
      decision: auto[4],
    };
  }
  return undefined;
}
