import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fc from "fast-check";
import { planRelease } from "../../domain/planner";
import { predecessors, releaseOrder } from "../../domain/releaseOrder";

describe("releaseOrder", () => {
  test("upgrade: backup, migration, app, gate", () => {
    assert.deepEqual(releaseOrder(["backup", "migrate", "app", "gate"], true), [
      "backup",
      "migration",
      "app",
      "gate",
    ]);
  });

  test("downgrade: the app switches first, then backup and migration down", () => {
    assert.deepEqual(releaseOrder(["app", "backup", "migrate", "gate"], true), [
      "app",
      "backup",
      "migration",
      "gate",
    ]);
  });

  test("restore: the migration only confirms the restored revision, after the restore", () => {
    assert.deepEqual(releaseOrder(["stop-app", "restore", "app", "gate"], true), [
      "restore",
      "migration",
      "app",
      "gate",
    ]);
  });

  test("app-only: the unchanged migration goes first, out of the way", () => {
    assert.deepEqual(releaseOrder(["app", "gate"], true), ["migration", "app", "gate"]);
  });

  test("nothing to do: every resource is still declared, so none is deleted", () => {
    assert.deepEqual(releaseOrder([], true), ["migration", "app", "gate"]);
    assert.deepEqual(releaseOrder([], false), ["migration", "app"]);
  });

  test("predecessors chain each role to the one before it", () => {
    assert.deepEqual(
      [...predecessors(["backup", "migration", "app", "gate"])],
      [
        ["backup", undefined],
        ["migration", "backup"],
        ["app", "migration"],
        ["gate", "app"],
      ],
    );
  });

  test("for every plan: roles are unique, the plan's order is kept, the gate is last", () => {
    const version = fc.constantFrom("1.0.0", "1.1.0");
    const revision = fc.constantFrom("base", "0001", "0002", "0003");
    fc.assert(
      fc.property(
        fc.record({
          current: fc.option(fc.record({ appVersion: version, revision }), { nil: undefined }),
          desired: fc.record({
            appVersion: version,
            revision,
            restoreSnapshot: fc.option(fc.constant("snap-1"), { nil: null }),
          }),
          gateEnabled: fc.boolean(),
        }),
        (input) => {
          const plan = planRelease({ ...input, irreversible: [] });
          const order = releaseOrder(plan.steps, input.gateEnabled);
          assert.equal(new Set(order).size, order.length);
          assert.ok(order.includes("migration") && order.includes("app"));
          assert.equal(order.includes("gate"), input.gateEnabled);
          if (input.gateEnabled) assert.equal(order.at(-1), "gate");
          const at = (r: string) => order.indexOf(r as never);
          if (plan.steps.includes("backup")) assert.equal(at("backup") + 1, at("migration"));
          // Only an app that changes has a place in the plan's order; an unchanged one is a no-op.
          if (plan.steps.includes("app") && plan.direction === "upgrade") {
            assert.ok(at("migration") < at("app"));
          }
          if (plan.steps.includes("app") && plan.direction === "downgrade") {
            assert.ok(at("app") < at("migration"));
          }
          if (plan.direction === "restore") assert.equal(order[0], "restore");
        },
      ),
      { numRuns: 1000 },
    );
  });
});
