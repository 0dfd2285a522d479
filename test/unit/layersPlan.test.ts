// Choosing the layer of a rollback (issue 11): a rehearsed Alembic downgrade, the maintenance
// order with its downtime, the restore a plan falls back to and what it discards.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildRollbackPlan } from "../../domain/rollbackPlan";
import { crossedRevisions, planRelease } from "../../domain/planner";
import {
  Rehearsal,
  irreversibleInRehearsal,
  rehearsedSteps,
  tailLines,
} from "../../domain/rehearsal";
import { estimateWritesSince } from "../../domain/writesSince";
import { formatRollbackPlan } from "../../cli/rollbackPlanText";
import {
  HistoryEntry,
  SnapshotRecord,
  StackConfig,
  namespaceObject,
  toEntries,
} from "../../domain/pins";
import { at, historyOf } from "./cliFixtures";

describe("tailLines", () => {
  test("keeps the last lines whole, dropping trailing blank ones", () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i + 1} ${"x".repeat(60)}`).join("\n");
    const tail = tailLines(`${text}\n\n`).split("\n");
    assert.equal(tail.length, 20);
    assert.equal(tail[0], `line 11 ${"x".repeat(60)}`);
    assert.equal(tail[19], `line 30 ${"x".repeat(60)}`);
    assert.equal(tailLines("one\r\ntwo", 1), "two");
  });
});

const order = ["0001", "0002", "0003", "0004"];
const failedAt = (reached: string): Rehearsal => ({
  from: "0004",
  to: "0001",
  ok: false,
  reached,
  seconds: 1.2,
  copied: "schema",
  output: "NotImplementedError: 0003 cannot be undone",
});

describe("rehearsedSteps", () => {
  test("steps above where the copy stopped were undone, the one it stopped at failed", () => {
    assert.deepEqual(rehearsedSteps(order, failedAt("0003")), [
      { revision: "0004", reversible: true },
      { revision: "0003", reversible: false },
      { revision: "0002", reversible: null },
    ]);
    assert.deepEqual(irreversibleInRehearsal(order, failedAt("0003")), ["0003"]);
    assert.deepEqual(irreversibleInRehearsal(order, failedAt("0004")), ["0004"]);
  });

  test("a rehearsal that reached its target undid every step", () => {
    const ok: Rehearsal = { ...failedAt("0001"), ok: true, output: "" };
    assert.deepEqual(
      rehearsedSteps(order, ok).map((s) => s.reversible),
      [true, true, true],
    );
  });
});

describe("the maintenance order", () => {
  test("a downgrade across a declared revision stops the app, migrates, then starts the old one", () => {
    const plan = planRelease({
      current: { appVersion: "2.0.0", revision: "0002" },
      desired: { appVersion: "1.0.0", revision: "0001" },
      irreversible: [],
      order: ["0001", "0002"],
      maintenance: ["0002"],
    });
    assert.equal(plan.decision, "migration-down");
    assert.deepEqual(plan.steps, ["backup", "migrate", "app", "gate"]);
    assert.deepEqual(plan.maintenance, ["0002"]);
    assert.match(
      plan.reason,
      /maintenance order for 0002 .*: back up, stop the app, migrate down, then start app 1\.0\.0$/,
    );
  });

  test("one that does not cross it keeps the app-first order", () => {
    const plan = planRelease({
      current: { appVersion: "3.0.0", revision: "0003" },
      desired: { appVersion: "2.0.0", revision: "0002" },
      irreversible: [],
      maintenance: ["0002"],
    });
    assert.deepEqual(plan.steps, ["app", "backup", "migrate", "gate"]);
    assert.equal(plan.maintenance, undefined);
  });

  test("crossed revisions: above the lower one, up to and including the higher one", () => {
    assert.deepEqual(crossedRevisions(["0002", "0004"], undefined, "0004", "0001"), [
      "0002",
      "0004",
    ]);
    assert.deepEqual(crossedRevisions(["0002", "0004"], undefined, "0001", "0002"), ["0002"]);
    assert.deepEqual(crossedRevisions(["0002"], undefined, "0002", "0003"), []);
    assert.deepEqual(crossedRevisions(["b"], ["a", "b", "c"], "c", "a"), ["b"]);
    assert.deepEqual(crossedRevisions([], ["a", "b"], "b", "a"), []);
  });
});

describe("estimateWritesSince", () => {
  const then = { statsReset: null, tables: { "public.items": 10, "public.old": 3 } };
  test("sums what each table's counter grew by; a new table counts whole", () => {
    assert.deepEqual(
      estimateWritesSince(then, {
        statsReset: null,
        tables: { "public.items": 25, "public.old": 3, "public.new": 4 },
      }),
      { rows: 19, basis: "rows inserted, updated or deleted since, from pg_stat_user_tables" },
    );
  });
  test("a reset, counters going down, or no counters give no estimate", () => {
    assert.equal(
      estimateWritesSince(then, { statsReset: "2026-01-01T00:00:00.000Z", tables: {} }).rows,
      null,
    );
    assert.equal(
      estimateWritesSince(then, { statsReset: null, tables: { "public.items": 2 } }).rows,
      null,
    );
    assert.equal(estimateWritesSince(undefined, { statsReset: null, tables: {} }).rows, null);
  });
});

// An Alembic stack whose 0002 renames a column (declared maintenance) and whose 0003 cannot go
// down; the newer configs declare it, the oldest does not.
function alembicConfig(config: StackConfig, maintenance: string[]): StackConfig {
  const database = {
    ...namespaceObject(config, "rewind:database"),
    migrations: { tool: "alembic", revisions: ["0001", "0002", "0003"], maintenance },
  };
  return {
    ...config,
    "rewind:database": { value: JSON.stringify(database), objectValue: database, secret: true },
  };
}
const entries = toEntries(
  historyOf([
    { version: "1.0.0", revision: "0001", at: 0 },
    { version: "2.0.0", revision: "0002", at: 600 },
    { version: "2.1.0", revision: "0003", at: 1200 },
  ]).map((u, i) => ({ ...u, config: alembicConfig(u.config, i === 2 ? [] : ["0002"]) })),
);
const [e1, e2, e3] = entries;
const snapshot: SnapshotRecord = {
  id: "20251125T121000Z-hunter-0002-aa11bb",
  database: "hunter",
  revision: "0002",
  appVersion: "2.0.0",
  takenAt: at(1200),
  storePath: "/var/backups/hunter",
};

function plan(
  target: HistoryEntry,
  from: HistoryEntry,
  extra: Partial<Parameters<typeof buildRollbackPlan>[0]> = {},
) {
  return buildRollbackPlan({
    stack: "dev",
    target,
    current: { appVersion: from.pins.appVersion, revision: from.pins.revision, source: "outputs" },
    migrations: undefined,
    currentConfig: from.pins,
    snapshot: undefined,
    restore: false,
    configChanges: ["rewind:app", "rewind:database"],
    ...extra,
  });
}

describe("buildRollbackPlan: the layer a rollback chooses", () => {
  test("a rehearsal that fails at 0003 makes the plan the restore of the snapshot, naming it", () => {
    const rehearsal: Rehearsal = {
      from: "0003",
      to: "0002",
      ok: false,
      reached: "0003",
      seconds: 0.8,
      copied: "schema",
      output:
        'File "0003_irreversible.py", line 20, in downgrade\nNotImplementedError: 0003 drops the notes column: restore the snapshot',
    };
    const p = plan(e2, e3, {
      rehearsal,
      snapshot,
      writesSince: {
        rows: 7,
        basis: "rows inserted, updated or deleted since, from pg_stat_user_tables",
      },
    });
    assert.equal(p.decision, "restore");
    assert.equal(p.restorePin, snapshot.id);
    assert.equal(p.restoreReason, "irreversible");
    assert.deepEqual(p.schema.stepsDown, [{ revision: "0003", name: null, reversible: false }]);
    assert.equal(p.schema.reversible, false);
    assert.deepEqual(p.steps, ["stop-app", "restore", "app", "gate"]);
    const text = formatRollbackPlan(p);
    assert.match(text, /0003: its downgrade failed in the rehearsal \(irreversible\)/);
    assert.match(
      text,
      /rehearsed on a copy of the schema: alembic downgrade 0002 failed at 0003 after 0\.8s; the tool's last lines:/,
    );
    assert.match(
      text,
      /\n {16}NotImplementedError: 0003 drops the notes column: restore the snapshot\)\n/,
    );
    assert.match(
      text,
      /DATA LOSS: a restore discards everything written after 2025-11-25 12:20:00Z: about 7 rows/,
    );
    assert.match(text, /decision {2}restore: Database Restore \(runbook method 3\)/);
    assert.match(text, /--yes --allow-restore/);
  });

  test("a target that still pins a restore already done falls back to the newest snapshot", () => {
    // After a release restored `done` and a later one failed at 0003 again: the known-good
    // config and the current one both pin `done`; pinned again it restores nothing.
    const done = "20251125T110000Z-hunter-0002-0d0d0d";
    const withDone = (entry: HistoryEntry): HistoryEntry => ({
      ...entry,
      pins: { ...entry.pins, restoreSnapshot: done },
    });
    const p = plan(withDone(e2), withDone(e3), {
      current: {
        appVersion: "2.1.0",
        revision: "0003",
        restoredSnapshot: done,
        source: "outputs",
      },
      rehearsal: {
        from: "0003",
        to: "0002",
        ok: false,
        reached: "0003",
        seconds: 1,
        copied: "schema",
        output: "x",
      },
      snapshot,
    });
    assert.equal(p.decision, "restore");
    assert.equal(p.restorePin, snapshot.id);
    assert.equal(p.restoreReason, "irreversible");
  });

  test("without a snapshot the same rehearsal refuses", () => {
    const p = plan(e2, e3, {
      rehearsal: {
        from: "0003",
        to: "0002",
        ok: false,
        reached: "0003",
        seconds: 1,
        copied: "schema",
        output: "x",
      },
    });
    assert.equal(p.decision, "refuse");
    assert.equal(p.alternative, "no verified snapshot of hunter at 0002 exists to restore instead");
  });

  test("a rename declared by the current config: maintenance order, downtime from the rehearsal", () => {
    const rehearsal: Rehearsal = {
      from: "0002",
      to: "0001",
      ok: true,
      reached: "0001",
      seconds: 2.3,
      copied: "schema",
      output: "",
    };
    // The target (update 1) predates the declaration; the current config's holds.
    const p = plan(e1, e2, { rehearsal });
    assert.equal(p.decision, "migration-down");
    assert.deepEqual(p.steps, ["backup", "migrate", "app", "gate"]);
    assert.deepEqual(p.order, {
      kind: "maintenance",
      maintenance: ["0002"],
      downtimeSeconds: 63,
      downtime:
        "from the app's stop to the other version's readiness: the migration (3s in the rehearsal) plus up to 60s for the app to become ready (health.timeoutSeconds)",
      appStart: null,
      detection: null,
    });
    assert.deepEqual(p.schema.stepsDown, [{ revision: "0002", name: null, reversible: true }]);
    assert.equal(p.schema.reversible, true);
    const text = formatRollbackPlan(p);
    assert.match(
      text,
      /\n {2}order {5}maintenance \(0002\): stop the app, migrate, start 1\.0\.0\n/,
    );
    assert.match(text, /expected downtime: up to about 63s, from the app's stop/);
  });

  test("a rehearsal of another way down is not used", () => {
    const p = plan(e1, e2, {
      rehearsal: {
        from: "0003",
        to: "0001",
        ok: false,
        reached: "0003",
        seconds: 1,
        copied: "schema",
        output: "",
      },
    });
    assert.equal(p.schema.rehearsal, null);
    assert.equal(p.schema.reversible, null);
  });
});
