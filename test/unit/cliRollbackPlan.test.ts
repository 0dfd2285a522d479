import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildMigrationSet } from "../../domain/migrationSet";
import {
  autoRollbackMessage,
  parseRollbackMessage,
  rollbackMessage,
} from "../../cli/rollbackMessages";
import {
  buildRollbackPlan,
  chooseAutoRollback,
  classifyChange,
  method,
} from "../../domain/rollbackPlan";
import { formatChanges, formatRollbackPlan } from "../../cli/rollbackPlanText";
import { FailureCause } from "../../domain/rollbackPlan";
import {
  HistoryEntry,
  SnapshotRecord,
  StackConfig,
  namespaceObject,
  toEntries,
} from "../../domain/pins";
import { at, historyOf } from "./cliFixtures";

// 0001 and 0002 have down scripts, 0003 does not.
const migrations = buildMigrationSet([
  "0001_items.up.sql",
  "0001_items.down.sql",
  "0002_add_score.up.sql",
  "0002_add_score.down.sql",
  "0003_drop_legacy.up.sql",
]);

const entries = toEntries(
  historyOf([
    { version: "1.0.0", revision: "0001", at: 0 },
    { version: "1.1.0", revision: "0002", at: 600 },
    { version: "1.2.0", revision: "0003", at: 1200 },
  ]),
);
const [v1, v2, v3] = entries;

const snapshot: SnapshotRecord = {
  id: "20251125T121000Z-hunter-0001-aa11bb",
  database: "hunter",
  revision: "0001",
  appVersion: "1.0.0",
  takenAt: at(600),
  storePath: "/var/backups/hunter",
};

const gate: FailureCause = {
  gateFailed: true,
  migrationFailed: false,
  failedResources: [],
  firstError: undefined,
};
const migration: FailureCause = {
  gateFailed: false,
  migrationFailed: true,
  failedResources: [],
  firstError: undefined,
};
const other: FailureCause = {
  gateFailed: false,
  migrationFailed: false,
  failedResources: [],
  firstError: "image not found",
};

function planTo(
  target: HistoryEntry,
  from: HistoryEntry,
  extra: Partial<Parameters<typeof buildRollbackPlan>[0]> = {},
) {
  return buildRollbackPlan({
    stack: "dev",
    target,
    current: { appVersion: from.pins.appVersion, revision: from.pins.revision, source: "outputs" },
    migrations,
    snapshot: undefined,
    restore: false,
    configChanges: ["rewind:app", "rewind:database"],
    ...extra,
  });
}

describe("buildRollbackPlan", () => {
  test("a reversible step down is a migration down, app first", () => {
    const plan = planTo(v2, { ...v3, pins: { ...v3.pins, revision: "0002" } });
    assert.equal(plan.decision, "app-only");
    const down = planTo(v1, v2);
    assert.equal(down.decision, "migration-down");
    assert.equal(down.method, "Database Migration Rollback (runbook method 2)");
    assert.deepEqual(down.schema.stepsDown, [
      { revision: "0002", name: "add_score", reversible: true },
    ]);
    assert.equal(down.schema.reversible, true);
    assert.deepEqual(down.steps, ["app", "backup", "migrate", "gate"]);
  });

  test("through an irreversible step it is refused without a snapshot, naming none", () => {
    const refused = planTo(v1, v3);
    assert.equal(refused.decision, "refuse");
    assert.equal(refused.schema.reversible, false);
    assert.equal(refused.restoreReason, null);
    assert.equal(
      refused.alternative,
      "no verified snapshot of hunter at 0001 exists to restore instead",
    );
  });

  test("through an irreversible step with a verified snapshot it is the restore, with its loss", () => {
    const fallBack = planTo(v1, v3, {
      snapshot,
      writesSince: { rows: 42, basis: "from pg_stat_user_tables" },
    });
    assert.equal(fallBack.decision, "restore");
    assert.equal(fallBack.restorePin, snapshot.id);
    assert.equal(fallBack.restoreReason, "irreversible");
    assert.equal(fallBack.alternative, null);
    assert.equal(fallBack.schema.reversible, false);
    assert.deepEqual(
      fallBack.schema.stepsDown.map((s) => [s.revision, s.reversible]),
      [
        ["0003", false],
        ["0002", true],
      ],
    );
    assert.deepEqual(fallBack.dataLoss, {
      snapshotId: snapshot.id,
      takenAt: snapshot.takenAt,
      rowsWrittenSince: 42,
      basis: "from pg_stat_user_tables",
    });
    assert.equal(fallBack.order.kind, "restore");
    const restore = planTo(v1, v3, { snapshot, restore: true });
    assert.equal(restore.restoreReason, "asked");
    assert.equal(restore.decision, "restore");
    assert.equal(restore.restorePin, snapshot.id);
    assert.deepEqual(restore.steps, ["stop-app", "restore", "app", "gate"]);
  });

  test("the plan as printed", () => {
    const plan = planTo(v1, v3, {
      snapshot,
      current: {
        appVersion: "1.2.0",
        revision: "0003",
        digest: `sha256:${"ab".repeat(32)}`,
        source: "outputs",
      },
      preview: {
        ok: false,
        changes: {},
        error: "refused: schema 0003 → 0001 passes through 1 irreversible step",
      },
    });
    assert.equal(
      formatRollbackPlan(plan),
      [
        'Rollback plan for stack dev: pin the config of update 1 (2025-11-25 12:00:00Z, "rewind release --set rewind:app.version=1.0.0")',
        "",
        "  app       1.2.0 → 1.0.0   (now sha256:abababababab, from the stack's outputs)",
        "  schema    0003 → 0001: down 2 steps, NOT every step reversible",
        "            0003 drop_legacy: no down script (irreversible)",
        "            0002 add_score: has a down script",
        `  snapshot  ${snapshot.id} (taken 2025-11-25 12:10:00Z at 0001, app 1.0.0, checksum verified): what a restore would use`,
        `            the pinned config restores ${snapshot.id}: the database is replaced by it`,
        "            DATA LOSS: a restore discards everything written after 2025-11-25 12:10:00Z (no estimate: the snapshot records no write counters)",
        "  decision  restore: Database Restore (runbook method 3), target < 15 minutes",
        `            schema 0003 → 0001 cannot go down: 0003 cannot be undone (no down script); restore snapshot "${snapshot.id}": stop the app, restore the database, then start app 1.0.0`,
        "            rewind rollback performs this restore only when a person answers yes, or with --yes --allow-restore",
        "  order     restore: stop the app, restore, start the pinned version",
        "            expected downtime: the app is stopped from the restore's start until the pinned version is ready: the restore's time (the snapshot's size) plus up to 60s (health.timeoutSeconds)",
        "  steps     stop-app → restore → app → gate",
        "  config    rewind:app, rewind:database change",
        "  preview   FAILED: refused: schema 0003 → 0001 passes through 1 irreversible step",
        "            (pulumi preview of the target config in a temporary copy of the stack's config file;",
        "             the stack's own config was not changed)",
        "",
      ].join("\n"),
    );
  });

  test("an unreadable migrations dir leaves reversibility unknown; the program still decides", () => {
    const plan = planTo(v1, v2, {
      migrations: undefined,
      migrationsNote: 'migrations directory "x" does not exist',
    });
    assert.equal(plan.schema.reversible, null);
    assert.equal(plan.schema.note, 'migrations directory "x" does not exist');
    assert.equal(plan.decision, "migration-down");
  });

  test("the runbook's methods and time targets", () => {
    assert.deepEqual(method("app-only"), {
      name: "Application Rollback (runbook method 1)",
      targetMinutes: 5,
    });
    assert.equal(method("restore").targetMinutes, 15);
    assert.equal(method("migration-down").targetMinutes, 10);
  });
});

describe("chooseAutoRollback", () => {
  test("a failed gate pins the last known-good config", () => {
    const choice = chooseAutoRollback({
      cause: gate,
      lastKnownGood: v2,
      failed: { ...v3.pins, revision: "0002" },
      irreversible: [],
      snapshot: undefined,
    });
    assert.deepEqual([choice.action, choice.decision, choice.to?.number], ["pin", "app-only", 2]);
    assert.equal(
      choice.reason,
      "health checks failed: pin the last known-good config, update 2 (app 1.1.0, schema 0002)",
    );
  });

  test("a failed gate over an irreversible migration rolls the app back and keeps the schema", () => {
    const choice = chooseAutoRollback({
      cause: gate,
      lastKnownGood: v2,
      failed: v3.pins,
      irreversible: ["0003"],
      snapshot,
    });
    assert.deepEqual(
      [choice.decision, choice.keepRevision, choice.restoreSnapshot],
      ["app-only", "0003", undefined],
    );
  });

  test("a failed migration goes down when it can, restores when it cannot, else stops", () => {
    const down = chooseAutoRollback({
      cause: migration,
      lastKnownGood: v2,
      failed: v3.pins,
      irreversible: [],
      snapshot,
    });
    assert.equal(down.decision, "migration-down");
    const restore = chooseAutoRollback({
      cause: migration,
      lastKnownGood: v2,
      failed: v3.pins,
      irreversible: ["0003"],
      snapshot,
    });
    assert.deepEqual([restore.decision, restore.restoreSnapshot], ["restore", snapshot.id]);
    const stop = chooseAutoRollback({
      cause: migration,
      lastKnownGood: v2,
      failed: v3.pins,
      irreversible: ["0003"],
      snapshot: undefined,
    });
    assert.deepEqual([stop.action, stop.decision], ["none", "refuse"]);
  });

  test("any other failure pins the known-good config; no known-good update stops", () => {
    const choice = chooseAutoRollback({
      cause: other,
      lastKnownGood: v1,
      failed: v2.pins,
      irreversible: [],
      snapshot: undefined,
    });
    assert.deepEqual([choice.action, choice.decision], ["pin", "migration-down"]);
    assert.match(
      choice.reason,
      /^the update failed \(image not found\): pin the last known-good config/,
    );
    const none = chooseAutoRollback({
      cause: gate,
      lastKnownGood: undefined,
      failed: v1.pins,
      irreversible: [],
      snapshot: undefined,
    });
    assert.deepEqual(
      [none.action, none.reason],
      [
        "none",
        "health checks failed and no earlier update succeeded: there is no known-good config to pin",
      ],
    );
  });
});

describe("update messages", () => {
  test("round-trip through the history", () => {
    assert.equal(rollbackMessage("7", false), "rewind rollback --to-update 7");
    assert.deepEqual(parseRollbackMessage("rewind rollback --to-update 7"), {
      kind: "manual",
      to: "7",
      restore: false,
    });
    // Updates recorded before --to-update existed.
    assert.deepEqual(parseRollbackMessage("rewind rollback --to 7 --restore"), {
      kind: "manual",
      to: "7",
      restore: true,
    });
    const auto = autoRollbackMessage(2, 3, gate, "app-only");
    assert.equal(
      auto,
      "rewind release: rollback to update 2 after update 3 failed (health checks failed); app-only",
    );
    assert.deepEqual(parseRollbackMessage(auto), {
      kind: "automatic",
      to: 2,
      failed: 3,
      cause: "gate",
      decision: "app-only",
    });
    assert.equal(parseRollbackMessage("rewind release --set rewind:app.version=1.1.0"), undefined);
  });

  test("the change an update made, from its pins and the previous ones", () => {
    assert.equal(classifyChange(v3.pins, v2.pins), "migration-down");
    assert.equal(classifyChange(v1.pins, v2.pins), "migration-up");
    assert.equal(classifyChange({ ...v2.pins, appVersion: "1.2.0" }, v2.pins), "app-only");
    assert.equal(classifyChange(v2.pins, { ...v2.pins, restoreSnapshot: "s" }), "restore");
    assert.equal(classifyChange(v2.pins, v2.pins), "none");
  });
});

describe("formatChanges", () => {
  test("changes first, unchanged last, whatever the engine's order", () => {
    assert.equal(
      formatChanges({ same: 5, update: 2, create: 1 }),
      "1 to create, 2 to update, 5 unchanged",
    );
    assert.equal(formatChanges({ same: 0 }), "no changes");
    assert.equal(formatChanges({ replace: 1, same: 4 }, "done"), "1 replaced, 4 unchanged");
  });
});

// An Alembic stack: hex ids, ordered only by each config's rewind:database.migrations.revisions,
// which grows by one id per release (an older config's list lacks the newer revisions).
const ids = ["ae1027a6acf", "27c6a30d7c24", "1975ea83b712"];

function alembicConfig(config: StackConfig, revisions: readonly string[]): StackConfig {
  const database = {
    ...namespaceObject(config, "rewind:database"),
    migrations: { tool: "alembic", dir: "/srv/hunter", revisions },
  };
  return {
    ...config,
    "rewind:database": { value: JSON.stringify(database), objectValue: database, secret: true },
  };
}

const alembicEntries = toEntries(
  historyOf([
    { version: "0.9.0", revision: "base", at: 0 },
    { version: "1.0.0", revision: ids[0], at: 600 },
    { version: "1.1.0", revision: ids[1], at: 1200 },
    { version: "1.2.0", revision: ids[2], at: 1800 },
  ]).map((u, i) => ({ ...u, config: alembicConfig(u.config, ids.slice(0, Math.max(1, 3 - i))) })),
);
const [a0, a1, a2, a3] = alembicEntries;

function alembicPlanTo(
  target: HistoryEntry,
  from: HistoryEntry,
  extra: Partial<Parameters<typeof buildRollbackPlan>[0]> = {},
) {
  return planTo(target, from, { migrations: undefined, currentConfig: from.pins, ...extra });
}

describe("buildRollbackPlan with Alembic ids", () => {
  test("the fixture's lists grow by one id per release", () => {
    assert.deepEqual(
      alembicEntries.map((e) => [e.pins.revision, e.pins.migrationsRevisions]),
      [
        ["base", [ids[0]]],
        [ids[0], [ids[0]]],
        [ids[1], ids.slice(0, 2)],
        [ids[2], ids],
      ],
    );
  });

  test("up: ordered by the target's own list, a forward migration", () => {
    const plan = alembicPlanTo(a3, a1);
    assert.deepEqual(
      [plan.schema.direction, plan.schema.orderedBy, plan.decision, plan.steps],
      ["up", "target-list", "migration-up", ["backup", "migrate", "app", "gate"]],
    );
    assert.deepEqual(plan.schema.stepsDown, []);
    assert.deepEqual(plan.notes, []);
  });

  test("down: the current config's list orders it, each step's reversibility unknown", () => {
    const plan = alembicPlanTo(a1, a3);
    assert.deepEqual(
      [plan.schema.direction, plan.schema.orderedBy, plan.decision, plan.steps],
      ["down", "current-list", "migration-down", ["app", "backup", "migrate", "gate"]],
    );
    assert.deepEqual(plan.schema.stepsDown, [
      { revision: "1975ea83b712", name: null, reversible: null },
      { revision: "27c6a30d7c24", name: null, reversible: null },
    ]);
    assert.equal(plan.schema.reversible, null);
    assert.equal(
      plan.schema.note,
      "Alembic steps: each step's downgrade() decides at run time whether it can undo its " +
        "revision; the program does not treat any as irreversible up front",
    );
    assert.deepEqual(plan.notes, [
      "update 2's rewind:database.migrations.revisions lacks a revision; the current config's " +
        "list is pinned with it (the program orders by the pinned list)",
    ]);
    assert.equal(
      plan.reason,
      "schema 1975ea83b712 → ae1027a6acf (down; each Alembic step's downgrade() decides " +
        "whether it can), app 1.2.0 → 1.0.0: " +
        "switch the app first (it tolerates the newer schema), back up, then migrate down",
    );
  });

  test("down to base undoes every revision", () => {
    const plan = alembicPlanTo(a0, a2);
    assert.deepEqual(
      [plan.schema.from, plan.schema.to, plan.schema.direction, plan.decision],
      ["27c6a30d7c24", "base", "down", "migration-down"],
    );
    assert.deepEqual(
      plan.schema.stepsDown.map((s) => s.revision),
      ["27c6a30d7c24", "ae1027a6acf"],
    );
  });

  test("the same revision is app-only", () => {
    const plan = alembicPlanTo(a2, { ...a3, pins: { ...a3.pins, revision: ids[1] } });
    assert.deepEqual(
      [plan.schema.direction, plan.schema.orderedBy, plan.decision],
      ["none", "target-list", "app-only"],
    );
  });

  test("a current revision in neither list is refused, naming it", () => {
    const plan = alembicPlanTo(a2, { ...a3, pins: { ...a3.pins, revision: "deadbeef" } });
    assert.deepEqual(
      [plan.decision, plan.schema.direction, plan.schema.orderedBy, plan.steps],
      ["refuse", "unknown", null, []],
    );
    assert.equal(
      plan.reason,
      "update 3's rewind:database.migrations.revisions (ae1027a6acf, 27c6a30d7c24) lacks " +
        '"deadbeef", and the current config\'s rewind:database.migrations.revisions ' +
        '(ae1027a6acf, 27c6a30d7c24, 1975ea83b712) lacks "deadbeef": the program orders ' +
        "Alembic revisions by that list only and would refuse the pin; list every revision " +
        "id there, oldest first",
    );
  });

  test("the plan as printed", () => {
    const plan = alembicPlanTo(a1, a3, { configChanges: ["rewind:app", "rewind:database"] });
    assert.equal(
      formatRollbackPlan(plan),
      [
        'Rollback plan for stack dev: pin the config of update 2 (2025-11-25 12:10:00Z, "rewind release --set rewind:app.version=1.0.0")',
        "",
        "  app       1.2.0 → 1.0.0   (now from the stack's outputs)",
        "  schema    1975ea83b712 → ae1027a6acf: down 2 steps, reversibility unknown until each step runs",
        "            1975ea83b712: reversibility unknown (its downgrade() decides)",
        "            27c6a30d7c24: reversibility unknown (its downgrade() decides)",
        "            (Alembic steps: each step's downgrade() decides at run time whether it can undo its revision; the program does not treat any as irreversible up front)",
        "  snapshot  none: no verified snapshot at ae1027a6acf in the backup store",
        "  decision  migration-down: Database Migration Rollback (runbook method 2), target < 10 minutes",
        "            schema 1975ea83b712 → ae1027a6acf (down; each Alembic step's downgrade() decides whether it can), app 1.2.0 → 1.0.0: switch the app first (it tolerates the newer schema), back up, then migrate down",
        "  order     app first: the pinned version takes over on the newer schema, then the schema goes down; no downtime",
        "  steps     app → backup → migrate → gate",
        "  config    rewind:app, rewind:database change",
        "            note: update 2's rewind:database.migrations.revisions lacks a revision; the current config's list is pinned with it (the program orders by the pinned list)",
        "",
      ].join("\n"),
    );
  });
});

describe("chooseAutoRollback with Alembic ids", () => {
  test("a failed gate goes down, pinning the failed config's list with the known-good one", () => {
    const choice = chooseAutoRollback({
      cause: gate,
      lastKnownGood: a2,
      failed: a3.pins,
      irreversible: undefined,
      snapshot: undefined,
    });
    assert.deepEqual(
      [choice.action, choice.decision, choice.to?.number, choice.revisions],
      ["pin", "migration-down", 3, ids],
    );
    assert.equal(
      choice.reason,
      "health checks failed: pin the last known-good config, update 3 (app 1.1.0, schema 27c6a30d7c24)",
    );
  });

  test("a failed migration goes down; its downgrade()s decide", () => {
    const choice = chooseAutoRollback({
      cause: migration,
      lastKnownGood: a2,
      failed: a3.pins,
      irreversible: undefined,
      snapshot: undefined,
    });
    assert.deepEqual([choice.action, choice.decision], ["pin", "migration-down"]);
    assert.equal(
      choice.reason,
      "the migration failed: migrate down (each Alembic step's downgrade() decides at run time " +
        "whether it can); pin update 3 (app 1.1.0, schema 27c6a30d7c24)",
    );
  });

  test("going back to a newer revision is a forward migration", () => {
    const choice = chooseAutoRollback({
      cause: gate,
      lastKnownGood: a3,
      failed: a1.pins,
      irreversible: undefined,
      snapshot: undefined,
    });
    assert.deepEqual(
      [choice.action, choice.decision, choice.revisions],
      ["pin", "migration-up", undefined],
    );
  });

  test("a failed revision in neither list stops, naming it", () => {
    const choice = chooseAutoRollback({
      cause: gate,
      lastKnownGood: a2,
      failed: { ...a3.pins, revision: "deadbeef" },
      irreversible: undefined,
      snapshot: undefined,
    });
    assert.deepEqual([choice.action, choice.decision], ["none", "refuse"]);
    assert.equal(
      choice.reason,
      "health checks failed and the way back cannot be ordered: update 3's " +
        'rewind:database.migrations.revisions (ae1027a6acf, 27c6a30d7c24) lacks "deadbeef", ' +
        "and the failed update's config's rewind:database.migrations.revisions " +
        '(ae1027a6acf, 27c6a30d7c24, 1975ea83b712) lacks "deadbeef": the program orders ' +
        "Alembic revisions by that list only and would refuse the pin; list every revision " +
        "id there, oldest first",
    );
  });

  test("the change an update made, ordered by the lists", () => {
    assert.equal(classifyChange(a3.pins, a2.pins), "migration-down");
    assert.equal(classifyChange(a1.pins, a2.pins), "migration-up");
    assert.equal(classifyChange(a2.pins, a0.pins), "migration-down");
  });
});
