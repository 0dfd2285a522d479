// What a failed preview before a release means: each refused pin under its config key (exit
// 2), or a preview that could not judge the pins (exit 3). The messages are the engine's,
// the program's and the providers' own wording, as a preview reports them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { PreviewOutcome, formatRefusals, judgePreview } from "../../cli/previewRefusal";

const STACK = "urn:pulumi:dev::rewind::pulumi:pulumi:Stack::rewind-dev";
const urn = (type: string, name: string) =>
  `urn:pulumi:dev::rewind::rewind:index:Release$rewind:index:${type}::${name}`;

function diag(message: string, at?: string, severity = "error"): EngineEvent {
  return {
    sequence: 0,
    timestamp: 0,
    diagnosticEvent: { severity, message, urn: at, color: "never" },
  } as EngineEvent;
}

function failed(events: EngineEvent[], extra: Partial<PreviewOutcome> = {}): PreviewOutcome {
  return { ok: false, locked: false, violations: [], events, error: "preview failed", ...extra };
}

describe("judgePreview", () => {
  test("a preview that passed lets the update run", () => {
    assert.deepEqual(judgePreview({ ...failed([]), ok: true }), { kind: "pass" });
  });

  test("a stack another update holds is locked, not refused", () => {
    assert.deepEqual(judgePreview(failed([], { locked: true })), { kind: "locked" });
  });

  test("a check failure is named under the config key its input comes from", () => {
    const verdict = judgePreview(
      failed([
        diag(
          "rewind:index:ImageRef resource 'hunter-image': property version value {9.9.9} has a " +
            'problem: version "9.9.9" of 127.0.0.1:5000/hunter is not in the registry; its ' +
            "versions: 1.0.0, 1.1.0\n",
          urn("ImageRef", "hunter-image"),
        ),
        diag("update failed", STACK),
      ]),
    );
    assert.deepEqual(verdict, {
      kind: "refused",
      refusals: [
        {
          key: "rewind:app.version",
          by: "ImageRef hunter-image",
          says:
            'version "9.9.9" of 127.0.0.1:5000/hunter is not in the registry; its versions: ' +
            "1.0.0, 1.1.0",
        },
      ],
    });
  });

  test("a check failure on an input no key feeds is named by its resource and input", () => {
    const verdict = judgePreview(
      failed([
        diag(
          "rewind:index:DockerDeployment resource 'worker-deployment': property command value " +
            "{[]} has a problem: command is []; allowed: an argument array",
          urn("DockerDeployment", "worker-deployment"),
        ),
      ]),
    );
    assert.equal(verdict.kind, "refused");
    assert.equal(
      verdict.kind === "refused" && verdict.refusals[0].key,
      "DockerDeployment worker-deployment: command",
    );
  });

  test("the program's config errors: one refusal per key, the stack prefix dropped", () => {
    const verdict = judgePreview(
      failed([
        diag(
          'stack "dev": rewind:app.replicas is 0; allowed: an integer of at least 1\n' +
            'stack "dev": rewind:app.port is 80; allowed: a port from 1024 to 65535\n',
          STACK,
        ),
      ]),
    );
    assert.deepEqual(verdict, {
      kind: "refused",
      refusals: [
        {
          key: "rewind:app.replicas",
          by: "the program",
          says: "rewind:app.replicas is 0; allowed: an integer of at least 1",
        },
        {
          key: "rewind:app.port",
          by: "the program",
          says: "rewind:app.port is 80; allowed: a port from 1024 to 65535",
        },
      ],
    });
  });

  test("a pin the program could not find in the world names its key", () => {
    const verdict = judgePreview(
      failed([
        diag(
          'stack "dev": rewind:database.migrations.dir: migrations directory "/p/nope" does not ' +
            "exist; allowed: a directory of the project holding NNNN_name.up.sql files",
          STACK,
        ),
      ]),
    );
    assert.deepEqual(verdict.kind === "refused" && verdict.refusals, [
      {
        key: "rewind:database.migrations.dir",
        by: "the program",
        says:
          'migrations directory "/p/nope" does not exist; allowed: a directory of the project ' +
          "holding NNNN_name.up.sql files",
      },
    ]);
  });

  test("a mandatory policy violation is a refusal, under the key its message names", () => {
    const verdict = judgePreview(
      failed([], {
        violations: [
          {
            policy: "backup-retention-minimum",
            resource: "BackupSnapshot hunter-backup",
            message:
              "The BackupSnapshot's retain.days is 1; this stack keeps snapshots at least 7 days (rewind:backup.retain.days).",
          },
          {
            policy: "migration-requires-backup",
            resource: "Migration hunter-migration",
            message: "A Migration must have a verified backup.",
          },
        ],
      }),
    );
    assert.deepEqual(verdict.kind === "refused" && verdict.refusals.map((r) => [r.key, r.by]), [
      [
        "rewind:backup.retain.days",
        "policy backup-retention-minimum on BackupSnapshot hunter-backup",
      ],
      [
        "Migration hunter-migration",
        "policy migration-requires-backup on Migration hunter-migration",
      ],
    ]);
  });

  test("PostgreSQL down: the pins were not judged (exit 3), even beside a refusal", () => {
    const down =
      'cannot connect to database "rewind_db_1" at 127.0.0.1:5433: connection refused; is ' +
      "PostgreSQL running and is the port in rewind:database.url right?";
    assert.deepEqual(judgePreview(failed([diag(down, STACK)])), {
      kind: "unjudged",
      unreachable: true,
      why: down,
    });
    const both = judgePreview(
      failed([
        diag(down, STACK),
        diag(
          "rewind:index:ImageRef resource 'hunter-image' has a problem: nope",
          urn("ImageRef", "hunter-image"),
        ),
      ]),
    );
    assert.equal(both.kind, "unjudged");
  });

  test("a registry that does not answer is no bad pin either", () => {
    const verdict = judgePreview(
      failed([
        diag(
          "rewind:index:ImageRef resource 'hunter-image': property version value {1.1.0} has a " +
            "problem: the registry at http://127.0.0.1:5000 did not answer HEAD /v2/hunter/" +
            "manifests/1.1.0 (fetch failed); is it running and reachable?",
          urn("ImageRef", "hunter-image"),
        ),
      ]),
    );
    assert.equal(verdict.kind, "unjudged");
  });

  test("a bug in the program, or a failure nobody explained, is not the user's input", () => {
    const bug = judgePreview(
      failed([
        diag("Rewind's program failed (a bug, not your config): TypeError: x\n    at y", STACK),
      ]),
    );
    assert.deepEqual(bug.kind === "unjudged" && bug.unreachable, false);
    const silent = judgePreview(failed([diag("update failed", STACK)], { error: "exit 255" }));
    assert.deepEqual(silent, { kind: "unjudged", unreachable: false, why: "exit 255" });
  });

  test("warnings and info lines are not refusals", () => {
    const verdict = judgePreview(
      failed([diag("plan: app-only", STACK, "info"), diag("careful", STACK, "warning")], {
        error: "boom",
      }),
    );
    assert.equal(verdict.kind, "unjudged");
  });
});

describe("formatRefusals", () => {
  test("each key once, its refusals under it with who said so", () => {
    assert.equal(
      formatRefusals([
        { key: "rewind:app.version", by: "ImageRef hunter-image", says: "not in the registry" },
        { key: "rewind:restore.snapshot", by: "the program", says: "does not exist" },
        { key: "rewind:app.version", by: "policy images-pinned on ImageRef x", says: "pin it" },
      ]),
      [
        "  rewind:app.version",
        "    not in the registry (ImageRef hunter-image)",
        "    pin it (policy images-pinned on ImageRef x)",
        "  rewind:restore.snapshot",
        "    does not exist (the program)",
      ].join("\n"),
    );
  });
});
