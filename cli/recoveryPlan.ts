// What a stack's leftovers mean and what `rewind recover` will do about them. Pure: the
// inspection (stackRecovery.ts) is read before.
import type { EngineLock, StackInspection } from "./stackRecovery";

export type Verdict =
  /** Nothing left behind. */
  | { readonly kind: "clean" }
  /** An update really runs (or may, on another host): wait; nothing will be done. */
  | { readonly kind: "busy"; readonly message: string }
  /** A killed update's leftovers: what happened, and what recovery will do. */
  | { readonly kind: "recoverable"; readonly happened: string[]; readonly actions: string[] };

function since(lock: EngineLock): string {
  return lock.since.replace("T", " ").replace(/(\.\d+)?(Z|[+-]\d\d:\d\d)$/, "$2");
}

/** Judges an inspection. */
export function judgeStack(stack: string, inspection: StackInspection): Verdict {
  const { locks, pending, partialSnapshots } = inspection;
  const alive = locks.find((l) => l.state === "alive");
  if (alive !== undefined) {
    return {
      kind: "busy",
      message:
        `another update of stack ${stack} is in progress: pulumi pid ${alive.pid} on host ` +
        `${alive.host} (user ${alive.user}) since ${since(alive)}; wait for it to finish`,
    };
  }
  const elsewhere = locks.find((l) => l.state === "unknown");
  if (elsewhere !== undefined) {
    return {
      kind: "busy",
      message:
        `stack ${stack} is locked by pulumi pid ${elsewhere.pid} on host ${elsewhere.host} ` +
        `since ${since(elsewhere)}; whether it still runs cannot be told from this host. Wait ` +
        `for it; if that process is gone, remove ${elsewhere.file} and run rewind recover`,
    };
  }
  const happened: string[] = [];
  const actions: string[] = [];
  if (locks.length > 0) {
    const l = locks[0];
    happened.push(
      `an update was interrupted: pulumi pid ${l.pid} (since ${since(l)}) is gone, but its ` +
        `lock of the stack remains`,
    );
    actions.push("remove the lock of the process that is gone (pulumi cancel)");
  }
  if (pending.length > 0) {
    happened.push(
      `${pending.length} operation${pending.length === 1 ? "" : "s"} it began never finished: ` +
        pending.map((p) => `${p.type} ${p.resource}`).join(", "),
    );
    actions.push(
      "refresh the stack against the real world, dropping the unfinished creates " +
        "(pulumi refresh --clear-pending-creates)",
    );
  }
  if (partialSnapshots.length > 0) {
    happened.push(
      `${partialSnapshots.length} partial snapshot${partialSnapshots.length === 1 ? "" : "s"} ` +
        `(never verified) in the backup store: ${partialSnapshots.join(", ")}`,
    );
    actions.push("remove the partial snapshots");
  }
  return happened.length === 0 ? { kind: "clean" } : { kind: "recoverable", happened, actions };
}

/** The verdict in lines, for stderr or `rewind status`. */
export function formatVerdict(verdict: Verdict, command: string): string {
  switch (verdict.kind) {
    case "clean":
      return "";
    case "busy":
      return `${verdict.message[0].toUpperCase()}${verdict.message.slice(1)}.\n`;
    case "recoverable":
      return (
        `The stack was left behind by an interrupted update:\n` +
        verdict.happened.map((h) => `  - ${h}\n`).join("") +
        `${command} will:\n` +
        verdict.actions.map((a, i) => `  ${i + 1}. ${a}\n`).join("")
      );
    default: {
      const unexpected: never = verdict;
      return String(unexpected);
    }
  }
}
