// The rollback plan as `rewind plan` and `rewind rollback` print it, and the change counts of a
// preview or an update in words.
import { RollbackPlan } from "../domain/rollbackPlan";
import { shortDigest } from "./stackHistory";

/** The plan as `rewind plan` prints it. */
export function formatRollbackPlan(plan: RollbackPlan): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(9)} ${text}`);
  const more = (text: string) => lines.push(`  ${"".padEnd(9)} ${text}`);
  lines.push(
    `Rollback plan for stack ${plan.stack}: pin the config of update ${plan.target.update} ` +
      `(${stamp(plan.target.startTime)}${plan.target.message ? `, "${plan.target.message}"` : ""})`,
    "",
  );

  const now =
    plan.app.source === "none"
      ? "nothing deployed yet"
      : `now ${plan.app.digestNow === null ? "" : `${shortDigest(plan.app.digestNow)}, `}` +
        `from the ${plan.app.source === "outputs" ? "stack's outputs" : "newest succeeded update's config"}`;
  row("app", `${plan.app.from ?? "(none)"} → ${plan.app.to ?? "(none)"}   (${now})`);

  const s = plan.schema;
  let schema = `${s.from ?? "(unknown)"} → ${s.to ?? "(unknown)"}`;
  if (s.direction === "none") {
    schema += ": no change";
  } else if (s.direction === "up") {
    schema += ": up (a forward migration, with a backup first)";
  } else if (s.direction === "down") {
    const n = s.stepsDown.length;
    schema +=
      n === 0
        ? ": down"
        : `: down ${n} ${n === 1 ? "step" : "steps"}, ` +
          (s.stepsDown.some((step) => step.reversible === null)
            ? "reversibility unknown until each step runs"
            : s.reversible
              ? "every step reversible"
              : "NOT every step reversible");
  }
  row("schema", schema);
  for (const step of s.stepsDown) {
    more(
      `${step.revision}${step.name === null ? "" : ` ${step.name}`}: ` +
        (s.rehearsal !== null
          ? step.reversible === null
            ? "not reached in the rehearsal"
            : step.reversible
              ? "undone in the rehearsal"
              : "its downgrade failed in the rehearsal (irreversible)"
          : step.reversible === null
            ? "reversibility unknown (its downgrade() decides)"
            : step.reversible
              ? "has a down script"
              : "no down script (irreversible)"),
    );
  }
  if (s.note !== null) {
    const [first, ...rest] = s.note.split("\n");
    more(`(${first}${rest.length === 0 ? ")" : ""}`);
    // The tool's own last lines, whole: a traceback's end names the cause.
    rest.forEach((line, i) => more(`    ${line}${i === rest.length - 1 ? ")" : ""}`));
  }

  row(
    "snapshot",
    plan.snapshot === null
      ? `none: no verified snapshot at ${s.to ?? "the target revision"} in the backup store`
      : `${plan.snapshot.id} (taken ${stamp(plan.snapshot.takenAt)} at ${plan.snapshot.revision}, ` +
          `app ${plan.snapshot.appVersion}, checksum verified): what a restore would use`,
  );
  if (plan.restorePin !== null) {
    more(`the pinned config restores ${plan.restorePin}: the database is replaced by it`);
  }
  if (plan.dataLoss !== null) {
    const d = plan.dataLoss;
    more(
      `DATA LOSS: a restore discards everything written after ${d.takenAt === "" ? "the snapshot" : stamp(d.takenAt)}` +
        (d.rowsWrittenSince === null
          ? ` (${d.basis})`
          : `: about ${d.rowsWrittenSince} ${d.rowsWrittenSince === 1 ? "row" : "rows"} (${d.basis})`),
    );
  }

  row(
    "decision",
    `${plan.decision}: ${plan.method}` +
      (plan.targetMinutes === null ? "" : `, target < ${plan.targetMinutes} minutes`),
  );
  more(plan.reason);
  if (plan.restoreReason === "irreversible") {
    more(
      `rewind rollback performs this restore only when a person answers yes, or with --yes --allow-restore`,
    );
  }
  if (plan.alternative !== null) {
    more(`alternative: ${plan.alternative}`);
  }
  if (plan.order.kind !== "none") {
    row(
      "order",
      plan.order.kind === "maintenance"
        ? `maintenance (${plan.order.maintenance.join(", ")}): stop the app, migrate, start ${plan.app.to ?? "the pinned version"}`
        : plan.order.kind === "app first"
          ? "app first: the pinned version takes over on the newer schema, then the schema goes down; no downtime"
          : plan.order.kind === "schema first"
            ? "schema first: migrate up, then switch the app; no downtime"
            : "restore: stop the app, restore, start the pinned version",
    );
    if (plan.order.downtime !== null) {
      more(
        `expected downtime: ${plan.order.downtimeSeconds === null ? "" : `up to about ${plan.order.downtimeSeconds}s, `}${plan.order.downtime}`,
      );
    }
    if (plan.order.detection !== null) {
      more(`(${plan.order.detection})`);
    }
  }
  if (plan.steps.length > 0) {
    row("steps", plan.steps.join(" → "));
  }
  row(
    "config",
    plan.configChanges.length === 0
      ? "no change (already pinned)"
      : `${plan.configChanges.join(", ")} change`,
  );
  for (const n of plan.notes) {
    more(`note: ${n}`);
  }
  if (plan.preview !== null) {
    row(
      "preview",
      plan.preview.ok
        ? formatChanges(plan.preview.changes)
        : `FAILED: ${plan.preview.error ?? "see the progress above"}`,
    );
    more("(pulumi preview of the target config in a temporary copy of the stack's config file;");
    more(" the stack's own config was not changed)");
  }
  return lines.join("\n") + "\n";
}

/** `1 to update, 6 unchanged` for a preview; `1 updated, 6 unchanged` for an update done. */
export function formatChanges(
  changes: Readonly<Record<string, number>>,
  tense: "planned" | "done" = "planned",
): string {
  // What changes first, what stays last, whatever order the engine's map has.
  const order = ["create", "update", "replace", "delete", "same"];
  const planned: Record<string, string> = {
    create: "to create",
    update: "to update",
    delete: "to delete",
    replace: "to replace",
    same: "unchanged",
  };
  const done: Record<string, string> = {
    create: "created",
    update: "updated",
    delete: "deleted",
    replace: "replaced",
    same: "unchanged",
  };
  const words = tense === "done" ? done : planned;
  const rank = (op: string) => (order.includes(op) ? order.indexOf(op) : order.length - 1);
  const parts = Object.entries(changes)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([op, n]) => `${n} ${words[op] ?? op}`);
  return parts.length === 0 ? "no changes" : parts.join(", ");
}

/** `2025-11-25 12:30:01Z` from an ISO time. */
export function stamp(iso: string): string {
  return iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}
