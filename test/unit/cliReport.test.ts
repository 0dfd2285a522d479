import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  buildReport,
  formatReport,
  newestRollback,
  webhookPayload,
} from "../../cli/rollbackReport";
import { historyRows } from "../../cli/stackHistory";
import { toEntries } from "../../domain/pins";
import { T0, historyOf } from "./cliFixtures";

const auto = toEntries(
  historyOf([
    { version: "1.0.0", revision: "0001", at: 0 },
    { version: "1.1.0", revision: "0002", at: 600, took: 40 },
    { version: "1.2.0-bad", revision: "0002", at: 1200, took: 75, result: "failed" },
    {
      version: "1.1.0",
      revision: "0002",
      at: 1276,
      took: 33,
      message:
        "rewind release: rollback to update 2 after update 3 failed (health checks failed); app-only",
    },
  ]),
);
const now = new Date(T0 + 2000 * 1000);

describe("newestRollback", () => {
  test("finds Rewind's own rollback messages", () => {
    assert.equal(newestRollback(auto)?.number, 4);
  });

  test("finds a rollback pinned by hand: a lower revision, or an app version that ran before", () => {
    const byHand = toEntries(
      historyOf([
        { version: "1.0.0", revision: "0001", at: 0 },
        { version: "1.1.0", revision: "0002", at: 100 },
        { version: "1.0.0", revision: "0001", at: 200, message: "" },
        { version: "1.3.0", revision: "0001", at: 300 },
      ]),
    );
    assert.equal(newestRollback(byHand)?.number, 3);
    const forward = toEntries(
      historyOf([
        { version: "1.0.0", revision: "0001", at: 0 },
        { version: "1.1.0", revision: "0002", at: 100 },
      ]),
    );
    assert.equal(newestRollback(forward), undefined);
  });
});

describe("buildReport", () => {
  const rows = historyRows(auto, [], {
    appVersion: "1.1.0",
    digest: `sha256:${"ab".repeat(32)}`,
    revision: "0002",
    snapshotId: null,
  });
  const facts = buildReport(auto, rows, { stack: "prod", update: 4, now });

  test("issue, severity and method from the decision matrix", () => {
    assert.equal(
      facts.issue,
      'The release update 3 (app 1.2.0-bad, schema 0002, "rewind release --set rewind:app.version=1.2.0-bad") ' +
        "failed: its health checks failed; rewind release rolled back automatically.",
    );
    assert.deepEqual(
      [facts.severity, facts.severityBasis],
      ["Critical", "decision matrix: health checks fail"],
    );
    assert.deepEqual(
      [facts.decision, facts.method, facts.targetMinutes],
      ["app-only", "Application Rollback (runbook method 1)", 5],
    );
    assert.equal(facts.status, "Resolved");
  });

  test("time to roll back runs from the failure to the end of the rollback", () => {
    // update 3 ended at 1275 s, update 4 at 1309 s
    assert.equal(facts.rollbackSeconds, 34);
    assert.equal(facts.withinTarget, true);
    assert.equal(facts.failed?.update, 3);
  });

  test("before is what ran when the rollback started, after what runs at its end", () => {
    // 1.2.0-bad was tried and never took over: 1.1.0 (update 2) kept serving.
    assert.deepEqual(facts.app, { from: "1.1.0", to: "1.1.0" });
    assert.deepEqual(facts.revision, { from: "0002", to: "0002" });
    assert.equal(facts.servingUpdate, 2);
    assert.deepEqual(facts.tried, { app: "1.2.0-bad", revision: "0002" });
    const table = formatReport(facts)
      .split("\n")
      .filter((l) => l.startsWith("| app version") || l.startsWith("| |"));
    assert.deepEqual(table, [
      "| | tried (update 3, failed) | before: running when the rollback started (update 2) | after: running at the end (update 4) |",
      "| app version | `1.2.0-bad` | `1.1.0` | `1.1.0` |",
    ]);
  });

  test("a failed rollback's after is what still runs", () => {
    const failedBack = toEntries(
      historyOf([
        { version: "1.0.0", revision: "0001", at: 0 },
        { version: "1.1.0", revision: "0002", at: 100 },
        {
          version: "1.0.0",
          revision: "0001",
          at: 200,
          result: "failed",
          message: "rewind rollback --to-update 1",
        },
      ]),
    );
    const r = buildReport(failedBack, [], { stack: "prod", update: 3, now });
    assert.deepEqual(r.app, { from: "1.1.0", to: "1.1.0" });
    assert.deepEqual(r.revision, { from: "0002", to: "0002" });
    assert.equal(r.status, "Pending");
  });

  test("the gate's checks are what was verified", () => {
    assert.deepEqual(
      facts.verified.map((v) => `${v.ok ? "x" : " "} ${v.check}`),
      [
        "x pulumi up converged the stack to the pinned config (app 1.1.0, schema 0002)",
        "x health gate: liveness GET /healthz/live",
        "x health gate: readiness GET /healthz/ready",
        "x health gate: smoke GET /items answers 200",
        "x health gate: SQL `select 1 from items` returns at least 100 rows",
        `x the app runs image sha256:${"ab".repeat(32)}`,
      ],
    );
  });

  test("the timeline starts at the last known-good update", () => {
    assert.deepEqual(
      facts.timeline.map((t) => `${t.time.slice(11, 19)} ${t.update ?? "-"} ${t.event}`),
      [
        "12:10:40 2 last known-good state (app 1.1.0, schema 0002) deployed: rewind release --set rewind:app.version=1.1.0",
        "12:20:00 3 started (app 1.2.0-bad, schema 0002): rewind release --set rewind:app.version=1.2.0-bad",
        "12:21:15 3 failed after 1m 15s",
        "12:21:16 4 started (app 1.1.0, schema 0002): rewind release: rollback to update 2 after update 3 failed (health checks failed); app-only",
        "12:21:49 4 succeeded after 33s",
        "12:33:20 - report generated (rewind report)",
      ],
    );
  });

  test("a manual rollback is unassessed until a person rates it", () => {
    const manual = toEntries(
      historyOf([
        { version: "1.0.0", revision: "0001", at: 0 },
        { version: "1.1.0", revision: "0002", at: 100 },
        { version: "1.0.0", revision: "0001", at: 200, message: "rewind rollback --to 1" },
      ]),
    );
    const r = buildReport(manual, [], { stack: "prod", update: 3, now });
    assert.deepEqual([r.severity, r.decision, r.failed], ["Unassessed", "migration-down", null]);
    assert.match(r.issue, /^Manual rollback from update 2 /);
    assert.ok(
      r.verified.some(
        (v) => v.check === "schema revision read back from the version table is 0001",
      ),
    );
    const rated = buildReport(manual, [], {
      stack: "prod",
      update: 3,
      now,
      severity: "High",
      issue: "API errors > 10%",
    });
    assert.deepEqual([rated.severity, rated.issue], ["High", "API errors > 10%"]);
  });
});

describe("formatReport", () => {
  const facts = buildReport(auto, historyRows(auto, []), { stack: "prod", update: 4, now });
  const markdown = formatReport(facts);

  test("follows the runbook template's fields in order", () => {
    const fields = [
      "**Issue**",
      "**Severity**",
      "**Rollback Method**",
      "**Rollback Time**",
      "**Root Cause**",
      "**Prevention**",
      "**Status**",
    ];
    const positions = fields.map((f) => markdown.indexOf(f));
    assert.ok(
      positions.every((p) => p > 0),
      markdown,
    );
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
    );
    assert.ok(markdown.startsWith("## Rollback Report - 2025-11-25 12:21 UTC\n"));
    assert.match(
      markdown,
      /\*\*Rollback Time\*\*: 34s \(from the failure of update 3 to the end of rollback update 4\); target < 5 minutes: met/,
    );
  });

  test("leaves root cause and prevention to a person, and ends with the timeline", () => {
    assert.match(
      markdown,
      /### Root cause\n\n<!-- A person fills this in[^\n]*-->\n_To be filled in._/,
    );
    assert.match(markdown, /### Prevention and post-rollback actions\n/);
    assert.match(markdown, /\| app version \| `1\.2\.0-bad` \| `1\.1\.0` \|/);
    assert.match(markdown, /\| 2025-11-25 12:21:15Z \| 3 \| failed after 1m 15s \|/);
  });
});

describe("webhookPayload", () => {
  test("a chat text plus the facts", () => {
    const payload = webhookPayload(buildReport(auto, [], { stack: "prod", update: 4, now }));
    assert.equal(
      payload.text,
      "Rolled back on stack prod: app 1.1.0 → 1.1.0, schema 0002 → 0002 (update 3 tried app 1.2.0-bad, schema 0002) (Application Rollback (runbook method 1)) " +
        "in 34s. Severity: Critical. Status: Resolved. " +
        'The release update 3 (app 1.2.0-bad, schema 0002, "rewind release --set rewind:app.version=1.2.0-bad") ' +
        "failed: its health checks failed; rewind release rolled back automatically.",
    );
    assert.deepEqual(
      { ...(payload.rewind as Record<string, unknown>), issue: undefined },
      {
        stack: "prod",
        update: 4,
        failedUpdate: 3,
        status: "Resolved",
        severity: "Critical",
        decision: "app-only",
        method: "Application Rollback (runbook method 1)",
        issue: undefined,
        app: { from: "1.1.0", to: "1.1.0" },
        revision: { from: "0002", to: "0002" },
        tried: { app: "1.2.0-bad", revision: "0002" },
        digest: null,
        snapshotId: null,
        rollbackSeconds: 34,
        withinTarget: true,
        startedAt: "2025-11-25T12:21:16.000Z",
        endedAt: "2025-11-25T12:21:49.000Z",
      },
    );
  });
});
