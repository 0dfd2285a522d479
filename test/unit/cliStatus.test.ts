// `rewind status`: what runs, the newest snapshot and the last update, in exact words.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SnapshotRecord, toEntries } from "../../domain/pins";
import { buildStatus, formatStatus } from "../../cli/statusText";
import { at, historyOf } from "./cliFixtures";

const digest = `sha256:${"ab12".repeat(16)}`;
const outputs = {
  appVersion: "1.1.0",
  digest,
  revision: "0002",
  snapshotId: null,
  url: "http://127.0.0.1:8000",
};
const snapshot = (id: string, seconds: number, database = "hunter"): SnapshotRecord => ({
  id,
  database,
  revision: "0001",
  appVersion: "1.0.0",
  takenAt: at(seconds),
  storePath: "/var/backups/hunter",
});

describe("rewind status", () => {
  test("what runs, the newest snapshot of the database and the last update", () => {
    const entries = toEntries(
      historyOf([
        { version: "1.0.0", revision: "0001", at: 0 },
        { version: "1.1.0", revision: "0002", at: 600, took: 11 },
      ]),
    );
    const facts = buildStatus("prod", outputs, entries, [
      snapshot("20251125T120000Z-hunter-base-000001", 5),
      snapshot("20251125T121000Z-hunter-0001-aa11bb", 605),
      snapshot("20251125T122000Z-other-0001-cc22dd", 900, "other"),
    ]);
    assert.equal(
      formatStatus(facts),
      [
        "Stack prod: what runs (the stack's outputs, update 2)",
        "",
        "  app       1.1.0",
        `  digest    ${digest}`,
        "  schema    0002",
        "  snapshot  20251125T121000Z-hunter-0001-aa11bb (taken 2025-11-25 12:10:05Z at 0001, app 1.0.0)",
        "  update    2 succeeded 2025-11-25 12:10:00Z, took 11s",
        '            "rewind release --set rewind:app.version=1.1.0"',
        "  url       http://127.0.0.1:8000",
        "",
      ].join("\n"),
    );
  });

  test("after a failed update, says whose outputs run", () => {
    const entries = toEntries(
      historyOf([
        { version: "1.1.0", revision: "0002", at: 0 },
        { version: "1.2.0-bad", revision: "0002", at: 600, took: 26, result: "failed" },
      ]),
    );
    const text = formatStatus(buildStatus("prod", outputs, entries, []));
    assert.match(
      text,
      new RegExp(
        [
          "  snapshot  none in the backup store",
          "  update    2 failed 2025-11-25 12:10:00Z, took 26s",
          '            "rewind release --set rewind:app.version=1.2.0-bad"',
          "            what runs is update 1's, the last that succeeded",
        ].join("\n"),
      ),
    );
  });

  test("a stack without updates", () => {
    assert.equal(
      formatStatus(buildStatus("new", {}, [], [])),
      [
        "Stack new: nothing deployed yet",
        "",
        "  snapshot  none in the backup store",
        "  update    none yet",
        "",
      ].join("\n"),
    );
  });
});
