// The rollback report of the runbooks (docs/runbooks.md:
// issue, severity, method, time, root cause, prevention, status) and the chat message that
// announces it (the runbooks share the status in the ops channel). Pure: built from the stack's history.
import { Decision } from "../domain/planner";
import { RollbackMessage, parseRollbackMessage } from "./rollbackMessages";
import { classifyChange, method } from "../domain/rollbackPlan";
import { stamp } from "./rollbackPlanText";
import { HistoryEntry, isGood } from "../domain/pins";
import { HistoryRow, durationSeconds, formatSeconds } from "./stackHistory";

/** Everything the report says, as data (the webhook sends a summary of it). */
export interface ReportFacts {
  readonly stack: string;
  readonly generatedAt: string;
  readonly rollback: UpdateFacts;
  /** The failed update the rollback recovered from, if the update before it failed. */
  readonly failed: UpdateFacts | null;
  readonly issue: string;
  readonly severity: string;
  readonly severityBasis: string;
  readonly decision: Decision;
  readonly method: string;
  readonly targetMinutes: number | null;
  /** From the failure's detection (or the rollback's start) to the rollback's end. */
  readonly rollbackSeconds: number | null;
  readonly withinTarget: boolean | null;
  /** `from`: what ran when the rollback started; `to`: what runs at its end. */
  readonly app: { readonly from: string | null; readonly to: string | null };
  readonly revision: { readonly from: string | null; readonly to: string | null };
  /** The update whose config ran when the rollback started (it kept serving a failed one). */
  readonly servingUpdate: number | null;
  /** What the failed update tried, when the rollback followed one. */
  readonly tried: {
    readonly app: string | null;
    readonly revision: string | null;
  } | null;
  readonly digest: string | null;
  readonly snapshot: { readonly id: string; readonly source: string } | null;
  readonly verified: readonly { readonly ok: boolean; readonly check: string }[];
  readonly status: "Resolved" | "Pending";
  readonly timeline: readonly {
    readonly time: string;
    readonly update: number | null;
    readonly event: string;
  }[];
}

export interface UpdateFacts {
  readonly update: number;
  readonly message: string;
  readonly result: string;
  readonly startTime: string;
  readonly endTime: string | null;
  readonly seconds: number | null;
}

export interface ReportOptions {
  readonly stack: string;
  /** The rollback's update; its row gives digest and snapshot. */
  readonly update: number;
  readonly now: Date;
  /** A person's words for the issue and severity, when the history cannot say. */
  readonly issue?: string;
  readonly severity?: string;
}

/**
 * The update a report is about by default: the newest rollback. An update is a rollback when
 * Rewind's message says so, or when it moved the stack back: a lower schema revision, a newly
 * pinned restore, or an app version an earlier update already ran (a pin set
 * by hand).
 */
export function newestRollback(entries: readonly HistoryEntry[]): HistoryEntry | undefined {
  const updates = entries.filter((e) => e.kind === "update");
  for (let i = updates.length - 1; i >= 0; i--) {
    const entry = updates[i];
    if (parseRollbackMessage(entry.message) !== undefined) {
      return entry;
    }
    const before = updates[i - 1];
    if (before === undefined) {
      continue;
    }
    const change = classifyChange(before.pins, entry.pins);
    const earlierVersion = updates
      .slice(0, i - 1)
      .some((e) => isGood(e) && e.pins.appVersion === entry.pins.appVersion);
    if (
      change === "restore" ||
      change === "migration-down" ||
      (change === "app-only" && earlierVersion)
    ) {
      return entry;
    }
  }
  return undefined;
}

/** Gathers the report's facts about rollback update `options.update`. */
export function buildReport(
  entries: readonly HistoryEntry[],
  rows: readonly HistoryRow[],
  options: ReportOptions,
): ReportFacts {
  const updates = entries.filter((e) => e.kind === "update");
  const index = updates.findIndex((e) => e.number === options.update);
  if (index < 0) {
    throw new Error(`update ${options.update} is not an update of stack ${options.stack}`);
  }
  const rollback = updates[index];
  const parsed = parseRollbackMessage(rollback.message);
  const before =
    parsed?.kind === "automatic"
      ? (updates.find((e) => e.number === parsed.failed) ?? updates[index - 1])
      : updates[index - 1];
  const failed = before !== undefined && before.result !== "succeeded" ? before : undefined;
  const decision = decisionOf(parsed, before, rollback);
  const m = method(decision);
  const { severity, basis } = severityOf(parsed, failed, options.severity);
  const row = rows.find((r) => r.number === rollback.number);
  // What ran when the rollback started: the newest update before it that succeeded (a failed
  // update's version never took over, the switch being health-gated). What runs at the end:
  // the rollback's pins once it succeeded, else still what ran before.
  const serving = updates.slice(0, index).filter(isGood).at(-1);
  const succeededNow = rollback.result === "succeeded";
  const end = succeededNow ? rollback : serving;

  const ended = rollback.endTime;
  const from = failed?.endTime ?? rollback.startTime;
  const rollbackSeconds =
    ended === undefined ? null : Math.max(0, Math.round((ended.getTime() - from.getTime()) / 1000));
  const succeeded = rollback.result === "succeeded";

  return {
    stack: options.stack,
    generatedAt: options.now.toISOString(),
    rollback: facts(rollback),
    failed: failed === undefined ? null : facts(failed),
    issue: options.issue ?? issueOf(parsed, before, failed),
    severity,
    severityBasis: basis,
    decision,
    method: m.name,
    targetMinutes: m.targetMinutes,
    rollbackSeconds,
    withinTarget:
      rollbackSeconds === null || m.targetMinutes === null || !succeeded
        ? null
        : rollbackSeconds <= m.targetMinutes * 60,
    app: { from: serving?.pins.appVersion ?? null, to: end?.pins.appVersion ?? null },
    revision: { from: serving?.pins.revision ?? null, to: end?.pins.revision ?? null },
    servingUpdate: serving?.number ?? null,
    tried:
      failed === undefined
        ? null
        : { app: failed.pins.appVersion ?? null, revision: failed.pins.revision ?? null },
    digest: row?.digest ?? null,
    snapshot:
      row?.snapshotId == null
        ? null
        : { id: row.snapshotId, source: row.snapshotSource ?? "taken" },
    verified: verifiedChecks(rollback, decision, row),
    status: succeeded ? "Resolved" : "Pending",
    timeline: timeline(updates, index, options.now),
  };
}

function facts(entry: HistoryEntry): UpdateFacts {
  return {
    update: entry.number,
    message: entry.message,
    result: entry.result,
    startTime: entry.startTime.toISOString(),
    endTime: entry.endTime?.toISOString() ?? null,
    seconds: durationSeconds(entry),
  };
}

function decisionOf(
  parsed: RollbackMessage | undefined,
  before: HistoryEntry | undefined,
  rollback: HistoryEntry,
): Decision {
  if (parsed?.kind === "automatic") {
    const known = ["app-only", "migration-down", "restore"] as const;
    const d = known.find((k) => k === parsed.decision);
    if (d !== undefined) return d;
  }
  return classifyChange(before?.pins, rollback.pins);
}

// The decision matrix's severities (docs/runbooks.md): health checks failing and a
// failed migration are Critical. A release that failed before its gate has no row; it is
// High, as API errors are. A manual rollback's cause is not in the history: a person rates it.
function severityOf(
  parsed: RollbackMessage | undefined,
  failed: HistoryEntry | undefined,
  override: string | undefined,
): { severity: string; basis: string } {
  if (override !== undefined) {
    return { severity: override, basis: "set by the person who wrote the report" };
  }
  const cause =
    parsed?.kind === "automatic" ? parsed.cause : failed === undefined ? undefined : "other";
  switch (cause) {
    case "gate":
      return { severity: "Critical", basis: "decision matrix: health checks fail" };
    case "migration":
      return { severity: "Critical", basis: "decision matrix: database migration fails" };
    case "other":
      return { severity: "High", basis: "the release failed before its health gate passed" };
    default:
      return { severity: "Unassessed", basis: "manual rollback: rate it with --severity" };
  }
}

function issueOf(
  parsed: RollbackMessage | undefined,
  before: HistoryEntry | undefined,
  failed: HistoryEntry | undefined,
): string {
  const what = (e: HistoryEntry) =>
    `update ${e.number} (app ${e.pins.appVersion ?? "?"}, schema ${e.pins.revision ?? "?"}` +
    `${e.message ? `, "${e.message}"` : ""})`;
  if (parsed?.kind === "automatic" && failed !== undefined) {
    const cause = {
      gate: "its health checks failed",
      migration: "a migration failed",
      other: "the update failed",
    }[parsed.cause];
    return `The release ${what(failed)} failed: ${cause}; rewind release rolled back automatically.`;
  }
  if (failed !== undefined) {
    return `The release ${what(failed)} failed.`;
  }
  if (before !== undefined) {
    return `Manual rollback from ${what(before)}; the reason is not recorded in the stack's history (--issue).`;
  }
  return "Rollback; the reason is not recorded in the stack's history (--issue).";
}

function verifiedChecks(
  rollback: HistoryEntry,
  decision: Decision,
  row: HistoryRow | undefined,
): { ok: boolean; check: string }[] {
  const ok = rollback.result === "succeeded";
  const pins = rollback.pins;
  const checks: { ok: boolean; check: string }[] = [
    {
      ok,
      check:
        `pulumi up ${ok ? "converged" : "did not converge"} the stack to the pinned config ` +
        `(app ${pins.appVersion ?? "?"}, schema ${pins.revision ?? "?"})`,
    },
  ];
  const gate = pins.gate;
  if (gate === undefined || !gate.enabled) {
    checks.push({
      ok: false,
      check: "the health gate is disabled for this stack: nothing was probed",
    });
  } else {
    const probe = (what: string) => ({ ok, check: `health gate: ${what}` });
    if (gate.startup !== undefined) checks.push(probe(`startup GET ${gate.startup}`));
    if (gate.live !== undefined) checks.push(probe(`liveness GET ${gate.live}`));
    if (gate.ready !== undefined) checks.push(probe(`readiness GET ${gate.ready}`));
    for (const s of gate.smoke)
      checks.push(
        probe(
          `smoke GET ${s.path} answers ${s.expectStatus}${s.maxMs === undefined ? "" : ` within ${s.maxMs} ms`}`,
        ),
      );
    for (const d of gate.dependencies ?? []) checks.push(probe(`dependency ${d}`));
    for (const q of gate.sql)
      checks.push(probe(`SQL \`${q.query}\` returns at least ${q.minRows} rows`));
  }
  if (decision === "migration-down") {
    checks.push({
      ok,
      check: `schema revision read back from the version table is ${pins.revision ?? "?"}`,
    });
  }
  if (decision === "restore" && pins.restoreSnapshot !== undefined) {
    checks.push({
      ok,
      check: `snapshot ${pins.restoreSnapshot}'s checksum was verified before it was restored`,
    });
  }
  if (row?.digest) {
    checks.push({ ok, check: `the app runs image ${row.digest}` });
  }
  return checks;
}

// From the last update that succeeded before the incident up to the rollback: a person reads
// the release, its failure and the rollback in order, with the times the runbook asks for.
function timeline(
  updates: readonly HistoryEntry[],
  index: number,
  now: Date,
): { time: string; update: number | null; event: string }[] {
  let first = index - 1;
  while (first > 0 && !isGood(updates[first])) {
    first--;
  }
  const from = Math.max(0, first, index - 20);
  const events: { time: string; update: number | null; event: string }[] = [];
  for (const e of updates.slice(from, index + 1)) {
    const pins = `app ${e.pins.appVersion ?? "?"}, schema ${e.pins.revision ?? "?"}`;
    const said = e.message ? `: ${e.message}` : "";
    if (e.number === updates[from].number && e !== updates[index] && isGood(e)) {
      events.push({
        time: (e.endTime ?? e.startTime).toISOString(),
        update: e.number,
        event: `last known-good state (${pins}) deployed${said}`,
      });
      continue;
    }
    events.push({
      time: e.startTime.toISOString(),
      update: e.number,
      event: `started (${pins})${said}`,
    });
    if (e.endTime !== undefined) {
      const took = durationSeconds(e);
      events.push({
        time: e.endTime.toISOString(),
        update: e.number,
        event: `${e.result}${took === null ? "" : ` after ${formatSeconds(took)}`}`,
      });
    }
  }
  events.push({ time: now.toISOString(), update: null, event: "report generated (rewind report)" });
  return events;
}

/** The report as Markdown, in the runbook template's order. */
export function formatReport(r: ReportFacts): string {
  const time =
    r.rollbackSeconds === null
      ? "unknown (the rollback has not finished)"
      : `${formatSeconds(r.rollbackSeconds)}` +
        (r.failed === null
          ? ` (rollback update ${r.rollback.update}, start to end)`
          : ` (from the failure of update ${r.failed.update} to the end of rollback update ${r.rollback.update})`) +
        (r.targetMinutes === null
          ? ""
          : `; target < ${r.targetMinutes} minutes: ${r.withinTarget === null ? "n/a" : r.withinTarget ? "met" : "MISSED"}`);
  const cell = (v: string | null) => (v === null ? "-" : `\`${v}\``);
  const lines = [
    `## Rollback Report - ${stamp(r.rollback.endTime ?? r.rollback.startTime).replace(/:\d\dZ$/, " UTC")}`,
    "",
    `**Stack**: ${r.stack}  `,
    `**Issue**: ${r.issue}  `,
    `**Severity**: ${r.severity} (${r.severityBasis})  `,
    `**Rollback Method**: ${r.method} — ${r.decision}  `,
    `**Rollback Time**: ${time}  `,
    ...(r.decision === "restore" && r.snapshot !== null
      ? [
          `**Data loss**: a restore discards what was written after its snapshot: ` +
            `\`${r.snapshot.id}\`${takenFromId(r.snapshot.id)}  `,
        ]
      : []),
    `**Root Cause**: _to be filled in (see "Root cause" below)_  `,
    `**Prevention**: _to be filled in (see "Prevention" below)_  `,
    `**Status**: ${r.status}${r.status === "Pending" ? ` — rollback update ${r.rollback.update} ${r.rollback.result}` : ""}`,
    "",
    "### Versions",
    "",
    ...versionsTable(r, cell),
    "",
    `Rollback update ${r.rollback.update} started ${stamp(r.rollback.startTime)}, ` +
      `${r.rollback.endTime === null ? "still running" : `ended ${stamp(r.rollback.endTime)} (${r.rollback.result})`}` +
      `${r.rollback.message ? `: \`${r.rollback.message}\`` : ""}.`,
    "",
    "### What was verified",
    "",
    ...r.verified.map((v) => `- [${v.ok ? "x" : " "}] ${v.check}`),
    "",
    "### Root cause",
    "",
    "<!-- A person fills this in: what went wrong, and why it was not caught before release. -->",
    "_To be filled in._",
    "",
    "### Prevention and post-rollback actions",
    "",
    "<!-- What will stop this from happening again; what must be fixed before the next release. -->",
    "- [ ] _To be filled in._",
    "",
    "### Timeline (UTC)",
    "",
    "| time | update | event |",
    "|---|---|---|",
    ...r.timeline.map(
      (t) => `| ${stamp(t.time)} | ${t.update ?? ""} | ${t.event.replace(/\|/g, "\\|")} |`,
    ),
    "",
  ];
  return lines.join("\n");
}

// "before" is what ran when the rollback started, "after" what runs at its end; a failed
// update's own version is a column of its own: it was tried, it never served.
function versionsTable(r: ReportFacts, cell: (v: string | null) => string): string[] {
  const tried = r.tried !== null && r.failed !== null;
  const before = `before: running when the rollback started${r.servingUpdate === null ? "" : ` (update ${r.servingUpdate})`}`;
  const after =
    r.status === "Resolved"
      ? `after: running at the end (update ${r.rollback.update})`
      : `after: still running (rollback update ${r.rollback.update} ${r.rollback.result})`;
  const row = (label: string, triedCell: string, a: string, b: string) =>
    `| ${label} |${tried ? ` ${triedCell} |` : ""} ${a} | ${b} |`;
  return [
    `| |${tried ? ` tried (update ${r.failed!.update}, ${r.failed!.result}) |` : ""} ${before} | ${after} |`,
    `|---|${tried ? "---|" : ""}---|---|`,
    row("app version", cell(r.tried?.app ?? null), cell(r.app.from), cell(r.app.to)),
    row(
      "schema revision",
      cell(r.tried?.revision ?? null),
      cell(r.revision.from),
      cell(r.revision.to),
    ),
    row("image digest", "-", "-", cell(r.status === "Resolved" ? r.digest : null)),
    row(
      "snapshot",
      "-",
      "-",
      r.snapshot === null ? "-" : `${cell(r.snapshot.id)} (${r.snapshot.source})`,
    ),
  ];
}

/**
 * The chat message: `text` for Slack, Mattermost or Rocket.Chat incoming webhooks, and the
 * facts under `rewind` for anything that reads JSON.
 */
export function webhookPayload(r: ReportFacts): Record<string, unknown> {
  const move = (a: { from: string | null; to: string | null }) =>
    `${a.from ?? "?"} → ${a.to ?? "?"}`;
  const text =
    `${r.status === "Resolved" ? "Rolled back" : "Rollback FAILED"} on stack ${r.stack}: ` +
    `app ${move(r.app)}, schema ${move(r.revision)}` +
    (r.tried === null
      ? ""
      : ` (update ${r.failed?.update ?? "?"} tried app ${r.tried.app ?? "?"}, schema ${r.tried.revision ?? "?"})`) +
    ` (${r.method})` +
    (r.rollbackSeconds === null ? "" : ` in ${formatSeconds(r.rollbackSeconds)}`) +
    `. Severity: ${r.severity}. Status: ${r.status}. ${r.issue}`;
  return {
    text,
    rewind: {
      stack: r.stack,
      update: r.rollback.update,
      failedUpdate: r.failed?.update ?? null,
      status: r.status,
      severity: r.severity,
      decision: r.decision,
      method: r.method,
      issue: r.issue,
      app: r.app,
      revision: r.revision,
      tried: r.tried,
      digest: r.digest,
      snapshotId: r.snapshot?.id ?? null,
      rollbackSeconds: r.rollbackSeconds,
      withinTarget: r.withinTarget,
      startedAt: r.rollback.startTime,
      endedAt: r.rollback.endTime,
    },
  };
}

// Snapshot ids start with the time they were taken (domain/snapshotId.ts).
function takenFromId(id: string): string {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z-/.exec(id);
  return m === null ? "" : `, taken ${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}Z`;
}
