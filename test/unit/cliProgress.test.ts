import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { causeWords } from "../../domain/rollbackPlan";
import {
  classifyFailure,
  newProgressState,
  plain,
  renderEvent,
  shortType,
} from "../../cli/progress";

const STACK = "urn:pulumi:dev::rewind::pulumi:pulumi:Stack::rewind-dev";
const GATE_TYPE = "rewind:index:HealthGate";
const GATE = `urn:pulumi:dev::rewind::rewind:index:Release$${GATE_TYPE}::hunter-gate`;
const MIGRATION_TYPE = "rewind:index:Migration";
const MIGRATION = `urn:pulumi:dev::rewind::rewind:index:Release$${MIGRATION_TYPE}::hunter-migration`;

function step(
  kind: "resourcePreEvent" | "resOutputsEvent",
  op: string,
  urn: string,
  type: string,
): EngineEvent {
  return {
    sequence: 0,
    timestamp: 0,
    [kind]: { metadata: { op, urn, type, provider: "" } },
  } as unknown as EngineEvent;
}

function diag(severity: string, message: string, urn?: string): EngineEvent {
  return {
    sequence: 0,
    timestamp: 0,
    diagnosticEvent: { severity, message, urn, color: "never" },
  } as EngineEvent;
}

function failed(urn: string, type: string): EngineEvent {
  return {
    sequence: 0,
    timestamp: 0,
    resOpFailedEvent: { metadata: { op: "update", urn, type, provider: "" }, status: 1, steps: 1 },
  } as unknown as EngineEvent;
}

describe("renderEvent", () => {
  test("one line when a step starts and one when it ends, with the step's own time", () => {
    const state = newProgressState();
    assert.equal(
      renderEvent(step("resourcePreEvent", "update", GATE, GATE_TYPE), 2_000, 0, state),
      "[  2.0s] update    HealthGate hunter-gate",
    );
    assert.equal(
      renderEvent(step("resOutputsEvent", "update", GATE, GATE_TYPE), 9_450, 0, state),
      "[  9.4s] updated   HealthGate hunter-gate (7.5s)",
    );
  });

  test("unchanged resources, the stack and providers are not worth a line", () => {
    const state = newProgressState();
    assert.equal(
      renderEvent(step("resourcePreEvent", "same", GATE, GATE_TYPE), 0, 0, state),
      undefined,
    );
    assert.equal(
      renderEvent(step("resourcePreEvent", "create", STACK, "pulumi:pulumi:Stack"), 0, 0, state),
      undefined,
    );
    assert.equal(
      renderEvent(
        step(
          "resourcePreEvent",
          "create",
          "urn:x::y::pulumi:providers:pulumi-nodejs::default",
          "pulumi:providers:pulumi-nodejs",
        ),
        0,
        0,
        state,
      ),
      undefined,
    );
  });

  test("failures, errors and the summary; colour codes stripped; minutes past 60 s", () => {
    const state = newProgressState();
    renderEvent(step("resourcePreEvent", "update", GATE, GATE_TYPE), 1_000, 0, state);
    assert.equal(
      renderEvent(failed(GATE, GATE_TYPE), 65_000, 0, state),
      "[ 1m05s] failed    HealthGate hunter-gate (update after 1m04s)",
    );
    assert.equal(
      renderEvent(
        diag("error", "<{%fg 1%}>ready never answered 200\nstack trace…<{%reset%}>", GATE),
        65_000,
        0,
        state,
      ),
      "[ 1m05s] error     HealthGate hunter-gate: ready never answered 200 — stack trace…",
    );
    assert.equal(
      renderEvent(diag("info", "plan: app-only: app 1.2.0 → 1.1.0", STACK), 500, 0, state),
      "[  0.5s] info      plan: app-only: app 1.2.0 → 1.1.0",
    );
    assert.equal(
      renderEvent(
        {
          sequence: 0,
          timestamp: 0,
          summaryEvent: {
            maybeCorrupt: false,
            durationSeconds: 9,
            resourceChanges: { update: 2, same: 5 },
            policyPacks: {},
          },
        },
        9_000,
        0,
        state,
      ),
      "[  9.0s] done      2 updated, 5 unchanged",
    );
  });

  test("the engine's debug diagnostics and stderr echoes are not shown", () => {
    const state = newProgressState();
    assert.equal(
      renderEvent(diag("debug", "Registering resource: t=rewind:index:Release"), 0, 0, state),
      undefined,
    );
    assert.equal(renderEvent(diag("info#err", "npm warn"), 0, 0, state), undefined);
  });

  test("types are shown by their last segment", () => {
    assert.equal(shortType(GATE_TYPE), "HealthGate");
    assert.equal(shortType("rewind:app:AppService"), "AppService");
    assert.equal(plain("\u001b[31mred\u001b[0m"), "red");
  });
});

describe("classifyFailure", () => {
  test("a failed HealthGate step is a gate failure", () => {
    const cause = classifyFailure([
      step("resourcePreEvent", "update", GATE, GATE_TYPE),
      diag("error", "health gate failed: GET /healthz/ready answered 503 for 60s", GATE),
      failed(GATE, GATE_TYPE),
      diag("error", "update failed", STACK),
    ]);
    assert.deepEqual(cause, {
      gateFailed: true,
      migrationFailed: false,
      failedResources: ["HealthGate hunter-gate"],
      firstError: "health gate failed: GET /healthz/ready answered 503 for 60s",
    });
    assert.equal(causeWords(cause), "health checks failed");
  });

  test("the new app version never becoming ready in its switch counts as failed health checks", () => {
    const deployment =
      "urn:pulumi:dev::rewind::rewind:index:Release$rewind:app:AppService$pulumi-nodejs:dynamic/rewind:DockerDeployment::hunter";
    const notReady = classifyFailure([
      diag(
        "error",
        "hunter 1.2.0-bad did not become ready within 15s: GET /healthz/ready answered 503",
        deployment,
      ),
    ]);
    assert.deepEqual(
      [notReady.gateFailed, notReady.failedResources],
      [true, ["DockerDeployment hunter"]],
    );
    const pullFailed = classifyFailure([
      diag("error", "manifest for hunter:9.9.9 not found", deployment),
    ]);
    assert.equal(pullFailed.gateFailed, false);
  });

  test("an error diagnostic on a Migration is a migration failure, even without resOpFailed", () => {
    const cause = classifyFailure([diag("error", "0003 add_index: syntax error", MIGRATION)]);
    assert.equal(cause.migrationFailed, true);
    assert.equal(cause.gateFailed, false);
    assert.equal(causeWords(cause), "migration failed");
  });

  test("a failed Migration keeps its whole error, the tool's last lines included", () => {
    const error =
      "alembic migration 0003 -> 0002 failed: [...] exited with 1. Alembic's output (its last 20 lines):\n" +
      '  File "0003.py", line 20, in downgrade\nNotImplementedError: 0003 cannot be undone';
    const cause = classifyFailure([
      step("resourcePreEvent", "update", MIGRATION, MIGRATION_TYPE),
      diag("error", error, MIGRATION),
      failed(MIGRATION, MIGRATION_TYPE),
      diag("error", "update failed", STACK),
    ]);
    assert.equal(cause.migrationFailed, true);
    assert.equal(cause.migrationError, error);
    // The progress line keeps its gist short; the whole error is the CLI's to print.
    assert.equal(cause.firstError?.includes("NotImplementedError"), false);
  });

  test("an error on the stack alone (the program refused) is some other failure", () => {
    const cause = classifyFailure([
      diag("error", "refused: schema 0003 → 0001 passes through…", STACK),
    ]);
    assert.deepEqual(
      [cause.gateFailed, cause.migrationFailed, cause.failedResources],
      [false, false, []],
    );
    assert.equal(causeWords(cause), "update failed");
  });
});
