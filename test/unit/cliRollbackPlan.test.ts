import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildMigrationSet } from "../../components/migrationSet";
import {
  autoRollbackMessage,
  buildRollbackPlan,
  chooseAutoRollback,
  classifyChange,
  formatChanges,
  formatRollbackPlan,
  method,
  parseRollbackMessage,
  rollbackMessage,
} from "../../cli/rollbackPlan";
import { FailureCause } from "../../cli/progress";
import { HistoryEntry, SnapshotRecord, toEntries } from "../../cli/updates";
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

  test("through an irreversible step it is refused, naming the snapshot to restore instead", () => {
    const refused = planTo(v1, v3, { snapshot });
    assert.equal(refused.decision, "refuse");
    assert.equal(refused.schema.reversible, false);
    assert.deepEqual(
      refused.schema.stepsDown.map((s) => [s.revision, s.reversible]),
      [
        ["0003", false],
        ["0002", true],
      ],
    );
    assert.equal(
      refused.alternative,
      `restore snapshot ${snapshot.id} instead: rewind rollback --to 1 --restore`,
    );
    const restore = planTo(v1, v3, { snapshot, restore: true });
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
        "  decision  refuse: no safe method (a person must decide)",
        "            schema 0003 → 0001 passes through irreversible step 0003 (no down script); pin a snapshot to restore instead (rewind:restore.snapshot)",
        `            alternative: restore snapshot ${snapshot.id} instead: rewind rollback --to 1 --restore`,
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
    assert.equal(rollbackMessage("7", false), "rewind rollback --to 7");
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
