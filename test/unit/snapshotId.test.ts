// Snapshot ids (domain/snapshotId.ts), the one rule of the store, and the manifest's file names and
// checksum (domain/snapshotManifest.ts).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { snapshotDir } from "../../adapters/backupStore";
import { isSnapshotId, newSnapshotId } from "../../domain/snapshotId";
import { itemFileName, overallSha256 } from "../../domain/snapshotManifest";

const now = new Date("2025-03-31T12:00:00Z");

void describe("snapshot ids and files", () => {
  test("new ids carry time, database and revision, and are valid directory names", () => {
    const id = newSnapshotId(new Date("2025-03-14T09:30:12.345Z"), "hunter", "0002");
    assert.match(id, /^20250314T093012Z-hunter-0002-[0-9a-f]{6}$/);
    assert.ok(isSnapshotId(id));
    assert.match(newSnapshotId(now, "my db/../x", "base"), /^20250331T120000Z-my_db_x-base-/);
  });

  test("ids that could leave the store are refused", () => {
    for (const bad of ["", "..", "../x", "a/b", ".partial-x", ".hidden", "a..b"]) {
      assert.equal(isSnapshotId(bad), false, bad);
      assert.throws(() => snapshotDir("/store", bad), /is not a snapshot id/);
    }
  });

  test("item files: one per item, / escaped so every item is one file name", () => {
    assert.equal(itemFileName("volume:sessions"), "files/volume:sessions.tar");
    assert.equal(itemFileName("path:/srv/hunter/.env"), "files/path:%2Fsrv%2Fhunter%2F.env.tar");
    assert.notEqual(itemFileName("path:/a%2Fb"), itemFileName("path:/a/b"));
  });

  test("the overall sha256 is that of the sha256sum listing, sorted by file", () => {
    const entries = [
      { file: "files/b.tar", sha256: "bb" },
      { file: "database.dump", sha256: "aa" },
    ];
    const listing = "aa  database.dump\nbb  files/b.tar\n";
    assert.equal(overallSha256(entries), createHash("sha256").update(listing).digest("hex"));
  });
});
