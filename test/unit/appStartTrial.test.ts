// The maintenance order, detected (issue 11): which steps down a trial start of the old version
// judges, what a trial that was not ready puts in the maintenance order, and the plan with a
// ready and a not-ready trial.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildRollbackPlan } from "../../domain/rollbackPlan";
import {
  AppStartTrial,
  Rehearsal,
  appStartSentence,
  maintenanceDetected,
  undeclaredStepsDown,
} from "../../domain/rehearsal";
import { formatRollbackPlan } from "../../cli/rollbackPlanText";
import { HistoryEntry, StackConfig, namespaceObject, toEntries } from "../../domain/pins";
import { historyOf } from "./cliFixtures";

describe("undeclaredStepsDown", () => {
  const order = ["0001", "0002", "0003"];
  test("the steps down, newest first, when none is declared", () => {
    assert.deepEqual(undeclaredStepsDown(order, "0003", "0001", []), ["0003", "0002"]);
    assert.deepEqual(undeclaredStepsDown(order, "0002", "base", ["0004"]), ["0002", "0001"]);
  });
  test("none when a declared step is crossed: the whole way down is in maintenance already", () => {
    assert.deepEqual(undeclaredStepsDown(order, "0003", "0001", ["0002"]), []);
  });
  test("none on the way up or when the schema stays", () => {
    assert.deepEqual(undeclaredStepsDown(order, "0001", "0003", []), []);
    assert.deepEqual(undeclaredStepsDown(order, "0002", "0002", []), []);
  });
});

const notReady: AppStartTrial = {
  version: "1.0.0",
  revision: "0002",
  steps: ["0002"],
  ready: false,
  seconds: 15.2,
  timeoutSeconds: 15,
  problem:
    'last answer to GET /healthz/ready: HTTP 503 {"error": "column \\"name\\" does not exist"}',
};
const ready: AppStartTrial = { ...notReady, ready: true, seconds: 1.4, problem: "" };

describe("maintenanceDetected", () => {
  test("a trial that was not ready puts its steps in the maintenance order", () => {
    assert.deepEqual(maintenanceDetected(notReady), ["0002"]);
  });
  test("a ready trial, or none, puts nothing there", () => {
    assert.deepEqual(maintenanceDetected(ready), []);
    assert.deepEqual(maintenanceDetected(undefined), []);
  });
});

describe("appStartSentence", () => {
  test("not ready: the version, the copy, the last answer, the timeout and the pin", () => {
    assert.equal(
      appStartSentence(notReady),
      "detected: 1.0.0 did not become ready on a copy of the schema at 0002 " +
        '(last answer to GET /healthz/ready: HTTP 503 {"error": "column \\"name\\" does not exist"}) ' +
        "within 15s (health.timeoutSeconds); the rollback pins 0002 in " +
        "rewind:database.migrations.maintenance",
    );
  });
  test("ready: app first", () => {
    assert.equal(
      appStartSentence(ready),
      "detected ready: 1.0.0 became ready on a copy of the schema at 0002 in 1.4s; app first",
    );
  });
});

// An Alembic stack whose 0002 renames a column and no config declares it.
function alembicConfig(config: StackConfig): StackConfig {
  const database = {
    ...namespaceObject(config, "rewind:database"),
    migrations: { tool: "alembic", revisions: ["0001", "0002"] },
  };
  return {
    ...config,
    "rewind:database": { value: JSON.stringify(database), objectValue: database, secret: true },
  };
}
const [e1, e2] = toEntries(
  historyOf([
    { version: "1.0.0", revision: "0001", at: 0 },
    { version: "2.0.0", revision: "0002", at: 600 },
  ]).map((u) => ({ ...u, config: alembicConfig(u.config) })),
);
const rehearsal: Rehearsal = {
  from: "0002",
  to: "0001",
  ok: true,
  reached: "0001",
  seconds: 1.6,
  copied: "schema",
  output: "",
};

function plan(target: HistoryEntry, from: HistoryEntry, appStart?: AppStartTrial) {
  return buildRollbackPlan({
    stack: "dev",
    target,
    current: { appVersion: from.pins.appVersion, revision: from.pins.revision, source: "outputs" },
    migrations: undefined,
    currentConfig: from.pins,
    snapshot: undefined,
    restore: false,
    configChanges: ["rewind:app", "rewind:database"],
    rehearsal,
    appStart,
  });
}

describe("buildRollbackPlan with a trial of the old version on the newer schema", () => {
  test("not ready: the maintenance order for the undeclared step, and why", () => {
    const p = plan(e1, e2, notReady);
    assert.equal(p.decision, "migration-down");
    assert.deepEqual(p.steps, ["backup", "migrate", "app", "gate"]);
    assert.equal(p.order.kind, "maintenance");
    assert.deepEqual(p.order.maintenance, ["0002"]);
    assert.deepEqual(p.order.appStart, notReady);
    assert.equal(p.order.detection, appStartSentence(notReady));
    const text = formatRollbackPlan(p);
    assert.match(
      text,
      /\n {2}order {5}maintenance \(0002\): stop the app, migrate, start 1\.0\.0\n/,
    );
    assert.match(
      text,
      /\n {12}\(detected: 1\.0\.0 did not become ready on a copy of the schema at 0002 \(last answer to GET \/healthz\/ready: HTTP 503 .*\) within 15s \(health\.timeoutSeconds\); the rollback pins 0002 in rewind:database\.migrations\.maintenance\)\n/,
    );
  });

  test("ready: app first, as without a trial, saying it was tried", () => {
    const p = plan(e1, e2, ready);
    assert.deepEqual(p.steps, ["app", "backup", "migrate", "gate"]);
    assert.equal(p.order.kind, "app first");
    assert.deepEqual(p.order.maintenance, []);
    assert.match(formatRollbackPlan(p), /\(detected ready: 1\.0\.0 became ready .* app first\)/);
  });

  test("a trial on another schema than the one now is not used", () => {
    const p = plan(e1, e2, { ...notReady, revision: "0003" });
    assert.equal(p.order.kind, "app first");
    assert.equal(p.order.appStart, null);
    assert.equal(p.order.detection, null);
  });
});
