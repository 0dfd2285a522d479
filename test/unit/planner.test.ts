// `void` before describe/test: node:test awaits them itself; no-floating-promises cannot know.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { InternalError } from "../../domain/errors";
import { Failure, Plan, planRelease, rollbackDecision } from "../../domain/planner";

describe("planRelease", () => {
  test("first deploy: backup, migrate up from base, start the app, gate", () => {
    assert.deepEqual(
      planRelease({
        current: undefined,
        desired: { appVersion: "1.0.0", revision: "0003" },
        irreversible: [],
      }),
      {
        direction: "initial",
        steps: ["backup", "migrate", "app", "gate"],
        decision: "migration-up",
        reason: "first deploy: migrate base → 0003, then start app 1.0.0",
      } satisfies Plan,
    );
  });

  test("first deploy at base has nothing to migrate", () => {
    assert.deepEqual(
      planRelease({
        current: {},
        desired: { appVersion: "1.0.0", revision: "base" },
        irreversible: [],
      }),
      {
        direction: "initial",
        steps: ["app", "gate"],
        decision: "app-only",
        reason: "first deploy: start app 1.0.0",
      },
    );
  });

  test("upgrade: backup → migrate → app → gate", () => {
    assert.deepEqual(
      planRelease({
        current: { appVersion: "1.0.0", revision: "0002" },
        desired: { appVersion: "1.1.0", revision: "0003", restoreSnapshot: null },
        irreversible: [],
      }),
      {
        direction: "upgrade",
        steps: ["backup", "migrate", "app", "gate"],
        decision: "migration-up",
        reason:
          "schema 0002 → 0003 (up), app 1.0.0 → 1.1.0: back up, migrate up, then switch the app",
      },
    );
  });

  test("upgrade of the schema alone leaves the app step out", () => {
    assert.deepEqual(
      planRelease({
        current: { appVersion: "1.1.0", revision: "0002" },
        desired: { appVersion: "1.1.0", revision: "0004" },
        irreversible: [],
      }),
      {
        direction: "upgrade",
        steps: ["backup", "migrate", "gate"],
        decision: "migration-up",
        reason:
          "schema 0002 → 0004 (up), app stays at 1.1.0: back up, migrate up, then switch the app",
      },
    );
  });

  test("a database that never migrated counts as base", () => {
    const plan = planRelease({
      current: { appVersion: "1.0.0" },
      desired: { appVersion: "1.0.0", revision: "0001" },
      irreversible: [],
    });
    assert.equal(plan.direction, "upgrade");
    assert.match(plan.reason, /^schema base → 0001 \(up\)/);
  });

  test("without backups before migrations, or without the gate, those steps go", () => {
    const input = {
      current: { appVersion: "1.0.0", revision: "0002" },
      desired: { appVersion: "1.1.0", revision: "0003" },
      irreversible: [],
    };
    const noBackup = planRelease({ ...input, backupBeforeMigration: false });
    assert.deepEqual(noBackup.steps, ["migrate", "app", "gate"]);
    assert.equal(
      noBackup.reason,
      "schema 0002 → 0003 (up), app 1.0.0 → 1.1.0: migrate up, then switch the app",
    );
    assert.deepEqual(planRelease({ ...input, gateEnabled: false }).steps, [
      "backup",
      "migrate",
      "app",
    ]);
  });

  test("downgrade: app first (it tolerates the newer schema), back up, migrate down, gate", () => {
    assert.deepEqual(
      planRelease({
        current: { appVersion: "1.1.0", revision: "0003" },
        desired: { appVersion: "1.0.0", revision: "0002" },
        irreversible: [],
      }),
      {
        direction: "downgrade",
        steps: ["app", "backup", "migrate", "gate"],
        decision: "migration-down",
        reason:
          "schema 0003 → 0002 (down, every step reversible), app 1.1.0 → 1.0.0: " +
          "switch the app first (it tolerates the newer schema), back up, then migrate down",
      },
    );
  });

  test("an Alembic downgrade follows the listed order and claims no reversibility", () => {
    assert.deepEqual(
      planRelease({
        current: { appVersion: "1.1.0", revision: "27c6a30d7c24" },
        desired: { appVersion: "1.0.0", revision: "ae1027a6acf" },
        irreversible: [],
        order: ["ae1027a6acf", "27c6a30d7c24"],
      }),
      {
        direction: "downgrade",
        steps: ["app", "backup", "migrate", "gate"],
        decision: "migration-down",
        reason:
          "schema 27c6a30d7c24 → ae1027a6acf (down; each Alembic step's downgrade() decides " +
          "whether it can), app 1.1.0 → 1.0.0: switch the app first (it tolerates the newer " +
          "schema), back up, then migrate down",
      },
    );
  });

  test("a downgrade through an irreversible step is refused, naming it and the fix", () => {
    assert.deepEqual(
      planRelease({
        current: { appVersion: "1.1.0", revision: "0003" },
        desired: { appVersion: "1.0.0", revision: "0002" },
        irreversible: ["0003"],
      }),
      {
        direction: "downgrade",
        steps: [],
        decision: "refuse",
        reason:
          "schema 0003 → 0002 passes through irreversible step 0003 (no down script); " +
          "pin a snapshot to restore instead (rewind:restore.snapshot)",
      },
    );
    assert.equal(
      planRelease({
        current: { appVersion: "1.1.0", revision: "0005" },
        desired: { appVersion: "1.0.0", revision: "0001" },
        irreversible: ["0005", "0003"],
      }).reason,
      "schema 0005 → 0001 passes through irreversible steps 0005, 0003 (no down script); " +
        "pin a snapshot to restore instead (rewind:restore.snapshot)",
    );
  });

  test("irreversible steps do not matter when the schema goes up", () => {
    const plan = planRelease({
      current: { appVersion: "1.0.0", revision: "0002" },
      desired: { appVersion: "1.1.0", revision: "0003" },
      irreversible: ["0003"],
    });
    assert.equal(plan.decision, "migration-up");
  });

  test("a pinned snapshot restores: stop-app → restore → app → gate, even through irreversible steps", () => {
    assert.deepEqual(
      planRelease({
        current: { appVersion: "1.1.0", revision: "0003" },
        desired: { appVersion: "1.0.0", revision: "0002", restoreSnapshot: "snap-20250128" },
        irreversible: ["0003"],
      }),
      {
        direction: "restore",
        steps: ["stop-app", "restore", "app", "gate"],
        decision: "restore",
        reason:
          `restore snapshot "snap-20250128": stop the app, restore the database, ` +
          "then start app 1.0.0",
      },
    );
  });

  test("a snapshot pin already applied does not restore again", () => {
    assert.deepEqual(
      planRelease({
        current: { appVersion: "1.0.0", revision: "0002", restoredSnapshot: "snap-1" },
        desired: { appVersion: "1.0.0", revision: "0002", restoreSnapshot: "snap-1" },
        irreversible: [],
      }),
      {
        direction: "none",
        steps: [],
        decision: "none",
        reason: "app 1.0.0 and schema 0002 are already as pinned",
      },
    );
    // A different snapshot is a new restore.
    assert.equal(
      planRelease({
        current: { appVersion: "1.0.0", revision: "0002", restoredSnapshot: "snap-1" },
        desired: { appVersion: "1.0.0", revision: "0002", restoreSnapshot: "snap-2" },
        irreversible: [],
      }).direction,
      "restore",
    );
  });

  test("app-only: the schema stays, the app moves, the gate checks it", () => {
    assert.deepEqual(
      planRelease({
        current: { appVersion: "1.1.0", revision: "0003" },
        desired: { appVersion: "1.0.0", revision: "0003" },
        irreversible: [],
      }),
      {
        direction: "app-only",
        steps: ["app", "gate"],
        decision: "app-only",
        reason: "app 1.1.0 → 1.0.0; schema stays at 0003",
      },
    );
  });

  test("an app that was never deployed, on a migrated database", () => {
    assert.equal(
      planRelease({
        current: { revision: "0003" },
        desired: { appVersion: "1.0.0", revision: "0003" },
        irreversible: [],
      }).reason,
      "app (none) → 1.0.0; schema stays at 0003",
    );
  });

  test("Alembic ids are ordered by the history, not by their text", () => {
    const order = ["ae1027a6acf", "1975ea83b712", "27c6a30d7c24"];
    const plan = planRelease({
      current: { appVersion: "2.0.0", revision: "27c6a30d7c24" },
      desired: { appVersion: "1.9.0", revision: "ae1027a6acf" },
      irreversible: [],
      order,
    });
    assert.equal(plan.direction, "downgrade");
    assert.deepEqual(plan.steps, ["app", "backup", "migrate", "gate"]);
    assert.throws(
      () =>
        planRelease({
          current: { appVersion: "2.0.0", revision: "27c6a30d7c24" },
          desired: { appVersion: "2.0.0", revision: "ffff" },
          irreversible: [],
          order,
        }),
      {
        name: "UserError",
        message: `unknown revision "ffff"; known revisions: base, ae1027a6acf, 1975ea83b712, 27c6a30d7c24`,
      },
    );
  });

  test("opaque ids without a history are a bug in the caller", () => {
    assert.throws(
      () =>
        planRelease({
          current: { appVersion: "1", revision: "ae1027a6acf" },
          desired: { appVersion: "1", revision: "base" },
          irreversible: [],
        }),
      InternalError,
    );
  });
});

describe("planRelease properties", () => {
  const revision = fc
    .integer({ min: 0, max: 20 })
    .map((n) => (n === 0 ? "base" : String(n).padStart(4, "0")));
  const version = fc.constantFrom("1.0.0", "1.1.0", "2.0.0");
  const input = fc.record({
    current: fc.option(
      fc.record(
        {
          appVersion: version,
          revision,
          restoredSnapshot: fc.constantFrom("snap-1", "snap-2"),
        },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
    desired: fc.record({
      appVersion: version,
      revision,
      restoreSnapshot: fc.constantFrom(null, undefined, "snap-1", "snap-2"),
    }),
    irreversible: fc.subarray(["0003", "0007", "0012"]),
    backupBeforeMigration: fc.boolean(),
    gateEnabled: fc.boolean(),
  });

  test("the planner's order rules hold for every plan", () => {
    fc.assert(
      fc.property(input, (i) => {
        const { direction, steps, decision } = planRelease(i);
        const at = (s: (typeof steps)[number]) => steps.indexOf(s);
        assert.equal(new Set(steps).size, steps.length, "no step twice");
        if (steps.length > 0 && i.gateEnabled) {
          assert.equal(steps.at(-1), "gate", "the gate comes last");
        }
        assert.equal(steps.includes("gate"), steps.length > 0 && i.gateEnabled);
        if (steps.includes("migrate")) {
          // No schema change, up or down, without a fresh backup right before it.
          assert.equal(
            steps.includes("backup") && at("backup") === at("migrate") - 1,
            i.backupBeforeMigration,
          );
          if (steps.includes("app") && direction !== "downgrade") {
            assert.ok(at("migrate") < at("app"));
          }
        }
        if (direction === "downgrade" && steps.includes("app")) {
          assert.ok(at("app") < at("migrate"), "downgrade switches the app first");
        }
        if (steps.includes("restore")) {
          assert.deepEqual(steps.slice(0, 3), ["stop-app", "restore", "app"]);
        }
        assert.equal(
          steps.includes("backup"),
          steps.includes("migrate") && i.backupBeforeMigration,
        );
        assert.equal(steps.length === 0, decision === "none" || decision === "refuse");
      }),
      { numRuns: 2000 },
    );
  });
});

describe("rollbackDecision (the hunter runbook's decision tree)", () => {
  const row = (
    gateFailed: boolean,
    migrationFailed: boolean,
    downReversible: boolean,
    snapshotAvailable: boolean,
  ): Failure => ({ gateFailed, migrationFailed, downReversible, snapshotAvailable });

  // Every combination, written out rather than derived, so a change of the matrix shows here.
  const table: [Failure, string][] = [
    [row(false, false, false, false), "none"],
    [row(false, false, false, true), "none"],
    [row(false, false, true, false), "none"],
    [row(false, false, true, true), "none"],
    [row(true, false, false, false), "app-only"],
    [row(true, false, false, true), "app-only"],
    [row(true, false, true, false), "app-only"],
    [row(true, false, true, true), "app-only"],
    [row(false, true, true, false), "migration-down"],
    [row(false, true, true, true), "migration-down"],
    [row(true, true, true, true), "migration-down"],
    [row(true, true, true, false), "migration-down"],
    [row(false, true, false, true), "restore"],
    [row(true, true, false, true), "restore"],
    [row(false, true, false, false), "refuse"],
    [row(true, true, false, false), "refuse"],
  ];

  test("covers every combination", () => {
    assert.equal(new Set(table.map(([f]) => JSON.stringify(f))).size, 16);
  });

  for (const [failure, decision] of table) {
    test(`${JSON.stringify(failure)} → ${decision}`, () => {
      assert.equal(rollbackDecision(failure).decision, decision);
    });
  }

  test("reasons say what happened and what to do", () => {
    assert.deepEqual(rollbackDecision(row(true, false, false, false)), {
      decision: "app-only",
      reason: "the health gate failed: roll the app back to the last known-good version",
    });
    assert.deepEqual(rollbackDecision(row(false, true, true, false)), {
      decision: "migration-down",
      reason: "the migration failed and every step back has a down script: migrate down",
    });
    assert.deepEqual(rollbackDecision(row(false, true, false, true)), {
      decision: "restore",
      reason:
        "the migration failed and a step back has no down script: restore the snapshot taken " +
        "before the migration",
    });
    assert.deepEqual(rollbackDecision(row(false, true, false, false)), {
      decision: "refuse",
      reason:
        "the migration failed, a step back has no down script and no snapshot is available: " +
        "no safe automatic rollback, a human must decide",
    });
    assert.deepEqual(rollbackDecision(row(false, false, true, true)), {
      decision: "none",
      reason: "nothing failed: no rollback needed",
    });
  });
});
