// What `rewind status` shows: what runs (app version, digest, schema revision, from the stack's
// outputs), the newest snapshot of its database and the stack's last update. Pure.
import { HistoryEntry, SnapshotRecord, isGood } from "../domain/pins";
import { stamp } from "./rollbackPlanText";
import { StackOutputs, durationSeconds, formatSeconds, newestFirst } from "./stackHistory";

export interface StatusFacts {
  readonly stack: string;
  readonly app: { readonly version: string | null; readonly digest: string | null };
  readonly schema: string | null;
  readonly url: string | null;
  /** The newest snapshot of the stack's database in its backup store. */
  readonly snapshot: SnapshotRecord | null;
  readonly lastUpdate: {
    readonly number: number;
    readonly kind: string;
    readonly result: string;
    readonly startTime: string;
    readonly durationSeconds: number | null;
    readonly message: string;
  } | null;
  /** The newest succeeded update, whose outputs describe what runs; null if none. */
  readonly lastGood: number | null;
}

/**
 * The status from one outputs read, the history and the store's manifests.
 * @param entries Oldest first.
 * @param snapshots Manifests of the newest update's store; only its database's count.
 */
export function buildStatus(
  stack: string,
  outputs: StackOutputs,
  entries: readonly HistoryEntry[],
  snapshots: readonly SnapshotRecord[],
): StatusFacts {
  const last = entries.at(-1);
  const good = entries.filter(isGood).at(-1);
  const database = last?.pins.database;
  const snapshot =
    newestFirst(snapshots.filter((s) => database === undefined || s.database === database))[0] ??
    null;
  return {
    stack,
    app: { version: outputs.appVersion ?? null, digest: outputs.digest ?? null },
    schema: outputs.revision ?? null,
    url: outputs.url ?? null,
    snapshot,
    lastUpdate:
      last === undefined
        ? null
        : {
            number: last.number,
            kind: last.kind,
            result: last.result,
            startTime: last.startTime.toISOString(),
            durationSeconds: durationSeconds(last),
            message: last.message,
          },
    lastGood: good?.number ?? null,
  };
}

/** The status as `rewind status` prints it. */
export function formatStatus(s: StatusFacts): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(9)} ${text}`);
  const more = (text: string) => lines.push(`  ${"".padEnd(9)} ${text}`);
  const deployed = s.app.version !== null || s.schema !== null;
  lines.push(
    deployed
      ? `Stack ${s.stack}: what runs (the stack's outputs${s.lastGood === null ? "" : `, update ${s.lastGood}`})`
      : `Stack ${s.stack}: nothing deployed yet`,
    "",
  );
  if (deployed) {
    row("app", s.app.version ?? "(unknown)");
    row("digest", s.app.digest ?? "(unknown)");
    row("schema", s.schema ?? "(unknown)");
  }
  row(
    "snapshot",
    s.snapshot === null
      ? "none in the backup store"
      : `${s.snapshot.id} (taken ${stamp(s.snapshot.takenAt)} at ${s.snapshot.revision}, ` +
          `app ${s.snapshot.appVersion})`,
  );
  const u = s.lastUpdate;
  if (u === null) {
    row("update", "none yet");
  } else {
    row(
      "update",
      `${u.number} ${u.kind === "update" ? "" : `${u.kind} `}${u.result} ${stamp(u.startTime)}` +
        (u.durationSeconds === null ? ", running" : `, took ${formatSeconds(u.durationSeconds)}`),
    );
    if (u.message !== "") {
      more(`"${u.message}"`);
    }
    if (u.result !== "succeeded" && s.lastGood !== null && deployed) {
      more(`what runs is update ${s.lastGood}'s, the last that succeeded`);
    }
  }
  if (s.url !== null) {
    row("url", s.url);
  }
  return lines.join("\n") + "\n";
}
