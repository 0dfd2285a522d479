import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UserError } from "../../domain/errors";
import {
  SnapshotRecord,
  databaseName,
  lastKnownGood,
  readPins,
  toEntries,
} from "../../domain/pins";
import {
  formatHistoryTable,
  formatSeconds,
  historyRows,
  resolveTarget,
} from "../../cli/stackHistory";
import { T0, at, configOf, historyOf } from "./cliFixtures";

const releases = historyOf([
  { version: "1.0.0", revision: "0001", at: 0 },
  { version: "1.1.0", revision: "0002", at: 600, took: 45 },
  { version: "1.2.0-bad", revision: "0002", at: 1200, result: "failed", took: 90 },
  {
    version: "1.1.0",
    revision: "0002",
    at: 1300,
    message:
      "rewind release: rollback to update 2 after update 3 failed (health checks failed); app-only",
  },
]);

function snapshot(
  id: string,
  seconds: number,
  revision: string,
  database = "hunter",
): SnapshotRecord {
  return {
    id,
    database,
    revision,
    appVersion: "1.0.0",
    takenAt: at(seconds),
    storePath: "/var/backups/hunter",
  };
}

describe("toEntries", () => {
  test("numbers file-backend updates (version 0) by position, oldest first", () => {
    const entries = toEntries(releases);
    assert.deepEqual(
      entries.map((e) => [e.number, e.pins.appVersion, e.result]),
      [
        [1, "1.0.0", "succeeded"],
        [2, "1.1.0", "succeeded"],
        [3, "1.2.0-bad", "failed"],
        [4, "1.1.0", "succeeded"],
      ],
    );
  });

  test("keeps the service backend's own version numbers", () => {
    const numbered = releases.map((u, i) => ({ ...u, version: 40 - i }));
    assert.deepEqual(
      toEntries(numbered).map((e) => e.number),
      [37, 38, 39, 40],
    );
  });
});

describe("readPins", () => {
  test("reads version, revision, store, database name and gate from a secret namespace", () => {
    const pins = readPins(configOf({ version: "1.1.0", revision: "0002", restore: "snap-1" }));
    assert.equal(pins.appVersion, "1.1.0");
    assert.equal(pins.revision, "0002");
    assert.equal(pins.restoreSnapshot, "snap-1");
    assert.equal(pins.storePath, "/var/backups/hunter");
    assert.equal(pins.database, "hunter");
    assert.equal(pins.migrationsTool, "sql");
    assert.deepEqual(pins.gate?.sql, [{ query: "select 1 from items", minRows: 100 }]);
    assert.equal(pins.gate?.ready, "/healthz/ready");
    assert.equal(JSON.stringify(pins).includes("pw@"), false, "the URL's password never leaves");
  });

  test("reads a namespace given only as JSON text (a whole-namespace secret)", () => {
    const pins = readPins({
      "rewind:app": { value: JSON.stringify({ version: "2.0.0" }), secret: true },
    });
    assert.equal(pins.appVersion, "2.0.0");
    assert.equal(pins.revision, undefined);
  });

  test("database names come from the URL path", () => {
    assert.equal(databaseName("postgres://u:p@h:5432/hunter_demo?sslmode=disable"), "hunter_demo");
    assert.equal(databaseName("postgres://u:p@h:5432"), undefined);
    assert.equal(databaseName("not a url"), undefined);
  });
});

describe("historyRows", () => {
  test("newest first; the newest succeeded update takes digest and snapshot from the outputs", () => {
    const rows = historyRows(toEntries(releases), [], {
      appVersion: "1.1.0",
      digest: `sha256:${"ab".repeat(32)}`,
      revision: "0002",
      snapshotId: null,
    });
    assert.deepEqual(
      rows.map((r) => [r.number, r.result, r.appVersion, r.digestSource, r.durationSeconds]),
      [
        [4, "succeeded", "1.1.0", "outputs", 30],
        [3, "failed", "1.2.0-bad", null, 90],
        [2, "succeeded", "1.1.0", null, 45],
        [1, "succeeded", "1.0.0", null, 30],
      ],
    );
    assert.equal(rows[0].digest, `sha256:${"ab".repeat(32)}`);
    assert.equal(rows[0].snapshotId, null);
  });

  test("outputs never describe a failed newest update", () => {
    const failedLast = historyOf([
      { version: "1.0.0", revision: "0001", at: 0 },
      { version: "1.2.0-bad", revision: "0001", at: 100, result: "failed" },
    ]);
    const rows = historyRows(toEntries(failedLast), [], {
      appVersion: "1.0.0",
      digest: "sha256:x",
    });
    assert.equal(rows[0].appVersion, "1.2.0-bad");
    assert.equal(rows[0].digest, null);
  });

  test("a version pinned by digest is its own digest", () => {
    const digest = `sha256:${"cd".repeat(32)}`;
    const rows = historyRows(
      toEntries(historyOf([{ version: digest, revision: "0001", at: 0 }])),
      [],
    );
    assert.equal(rows[0].digest, digest);
    assert.equal(rows[0].digestSource, "config");
  });

  test("a snapshot belongs to the update it was taken during, of the same database", () => {
    const snapshots = [
      snapshot("s-during-2", 610, "0001"),
      snapshot("s-other-db", 620, "0001", "other"),
      snapshot("s-between", 900, "0002"),
      snapshot("s-last-second", 1200 + 90 + 1, "0002"),
    ];
    const rows = historyRows(toEntries(releases), snapshots);
    const byNumber = new Map(rows.map((r) => [r.number, r]));
    assert.equal(byNumber.get(1)?.snapshotId, null);
    assert.equal(byNumber.get(2)?.snapshotId, "s-during-2");
    assert.equal(byNumber.get(2)?.snapshotSource, "taken");
    assert.equal(byNumber.get(3)?.snapshotId, "s-last-second");
  });

  test("a newly pinned restore shows as restored, once", () => {
    const restored = historyOf([
      { version: "1.0.0", revision: "0001", at: 0 },
      { version: "1.0.0", revision: "0001", at: 100, restore: "snap-7" },
      { version: "1.0.1", revision: "0001", at: 200, restore: "snap-7" },
    ]);
    const rows = historyRows(toEntries(restored), []);
    assert.deepEqual(
      rows.map((r) => [r.number, r.snapshotId, r.snapshotSource]),
      [
        [3, null, null],
        [2, "snap-7", "restored"],
        [1, null, null],
      ],
    );
  });

  test("a restore's row names the snapshot it restored, not a backup the update before took within the same second", () => {
    const failedDown = historyOf([
      { version: "2.0.0", revision: "0002", at: 0 },
      { version: "2.1.0", revision: "0003", at: 100, result: "failed", took: 20 },
      // The automatic rollback's migration down: it backs up, then the downgrade raises.
      { version: "2.0.0", revision: "0002", at: 130, result: "failed", took: 5 },
      { version: "2.0.0", revision: "0002", at: 135, took: 10, restore: "s-at-0002" },
      { version: "2.0.0", revision: "0002", at: 200, restore: "s-at-0002" },
    ]);
    const snapshots = [
      snapshot("s-at-0002", 101, "0002"),
      // Taken by update 3 in its last second, within update 4's window.
      snapshot("s-before-down", 135, "0003"),
    ];
    const rows = historyRows(toEntries(failedDown), snapshots);
    assert.deepEqual(
      rows.map((r) => [r.number, r.snapshotId, r.snapshotSource]),
      [
        [5, null, null],
        [4, "s-at-0002", "restored"],
        [3, "s-before-down", "taken"],
        [2, "s-at-0002", "taken"],
        [1, null, null],
      ],
    );
  });

  test("hundreds of updates are one pass: 2000 updates and 500 snapshots in well under a second", () => {
    const many = historyOf(
      Array.from({ length: 2000 }, (_, i) => ({
        version: `1.${i}.0`,
        revision: "0002",
        at: i * 100,
        result: i % 7 === 0 ? "failed" : "succeeded",
      })),
    );
    const snapshots = Array.from({ length: 500 }, (_, i) => snapshot(`s${i}`, i * 400 + 5, "0002"));
    const started = process.hrtime.bigint();
    const rows = historyRows(toEntries(many), snapshots);
    const table = formatHistoryTable(rows);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(rows.length, 2000);
    assert.equal(table.split("\n").length, 2002);
    assert.ok(ms < 1000, `took ${ms} ms`);
  });

  test("the table has one aligned line per update", () => {
    const rows = historyRows(
      toEntries(releases),
      [snapshot("20251125T121010Z-hunter-0001-aa11bb", 610, "0001")],
      {
        appVersion: "1.1.0",
        digest: `sha256:${"ab".repeat(32)}`,
        revision: "0002",
        snapshotId: null,
      },
    );
    assert.equal(
      formatHistoryTable(rows),
      [
        "#  time (UTC)            result     app                                    digest               schema  snapshot                             took",
        "4  2025-11-25 12:21:40Z  succeeded  1.1.0                                  sha256:abababababab  0002    -                                    30s",
        "3  2025-11-25 12:20:00Z  failed     1.2.0-bad (tried; 1.1.0 kept serving)  -                    0002    -                                    1m 30s",
        "2  2025-11-25 12:10:00Z  succeeded  1.1.0                                  -                    0002    20251125T121010Z-hunter-0001-aa11bb  45s",
        "1  2025-11-25 12:00:00Z  succeeded  1.0.0                                  -                    0001    -                                    30s",
        "",
      ].join("\n"),
    );
  });

  test("durations read as a person says them", () => {
    assert.equal(formatSeconds(42), "42s");
    assert.equal(formatSeconds(185), "3m 05s");
    assert.equal(formatSeconds(3720), "1h 02m");
  });
});

describe("resolveTarget", () => {
  const entries = toEntries(releases);

  test("a number is an update number", () => {
    assert.equal(resolveTarget(entries, "2").number, 2);
  });

  test("a version is the newest succeeded update that ran it", () => {
    assert.equal(resolveTarget(entries, "1.1.0").number, 4);
    assert.equal(resolveTarget(entries, "1.0.0").number, 1);
  });

  test("a time is the update that was serving then (--to-time)", () => {
    // Update 2 finished at T0+645s, update 3 failed, update 4 finished at T0+1330s.
    const time = (seconds: number) => new Date(T0 + seconds * 1000).toISOString().slice(0, 19);
    assert.equal(resolveTarget(entries, { by: "time", value: time(700) }).number, 2);
    assert.equal(resolveTarget(entries, { by: "time", value: `${time(1331)}Z` }).number, 4);
  });

  test("a failed update cannot be pinned again", () => {
    assert.throws(
      () => resolveTarget(entries, "3"),
      (e: Error) =>
        e instanceof UserError &&
        e.message ===
          "--to 3: update 3 is failed; only a succeeded update's config can be pinned again; " +
            "recent succeeded updates: 1 (app 1.0.0), 2 (app 1.1.0), 4 (app 1.1.0)",
    );
  });

  test("an unknown number or version names what exists", () => {
    assert.throws(() => resolveTarget(entries, "9"), {
      message: "--to 9: there is no update 9; updates run from 1 to 4 (see rewind history)",
    });
    assert.throws(() => resolveTarget(entries, "1.2.0-bad"), {
      message:
        '--to 1.2.0-bad: no succeeded update ran app version "1.2.0-bad"; versions that did: ' +
        "1.0.0, 1.1.0 (a number selects an update by its number)",
    });
    assert.throws(() => resolveTarget([], "1"), {
      message: "--to 1: the stack has no updates yet",
    });
  });
});

describe("lastKnownGood", () => {
  test("is the newest succeeded update, before a given one", () => {
    const entries = toEntries(releases);
    assert.equal(lastKnownGood(entries)?.number, 4);
    assert.equal(lastKnownGood(entries, 3)?.number, 2);
    assert.equal(lastKnownGood(entries, 1), undefined);
  });

  test("a refresh is not a known-good config", () => {
    const withRefresh = toEntries(
      historyOf([
        { version: "1.0.0", revision: "0001", at: 0 },
        { version: "1.1.0", revision: "0001", at: 50, kind: "refresh" },
      ]),
    );
    assert.equal(lastKnownGood(withRefresh)?.number, 1);
    assert.equal(T0 > 0, true);
  });
});
