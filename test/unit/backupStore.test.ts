// The backup store on a temp dir, with its pure parts (retention, ids, checksums) and tar.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  beginSnapshot,
  buildManifest,
  latestVerifiedSnapshot,
  listSnapshots,
  publishSnapshot,
  readManifest,
  snapshotDir,
  verifySnapshot,
} from "../../adapters/backupStore";
import { archivePath, restorePath } from "../../adapters/tar";
import { snapshotsToPrune } from "../../domain/retention";
import { isSnapshotId, newSnapshotId } from "../../domain/snapshotId";
import {
  DATABASE_FILE,
  MANIFEST_FILE,
  SnapshotManifest,
  itemFileName,
  overallSha256,
} from "../../domain/snapshotManifest";

const DAY = 24 * 60 * 60 * 1000;
const now = new Date("2025-03-31T12:00:00Z");
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY).toISOString();
const snap = (id: string, age: number) => ({ id, takenAt: daysAgo(age) });

void describe("snapshotsToPrune", () => {
  test("prunes what is older than days, oldest first", () => {
    const snapshots = [snap("a", 40), snap("b", 35), snap("c", 10), snap("d", 1)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 1 }, now), ["a", "b"]);
  });

  test("keeps the newest keepAtLeast however old they are", () => {
    const snapshots = [snap("a", 90), snap("b", 80), snap("c", 70)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 2 }, now), ["a"]);
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 5 }, now), []);
  });

  test("never prunes a kept id (the new snapshot, a pinned restore)", () => {
    const snapshots = [snap("a", 90), snap("b", 80), snap("c", 70)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 1 }, now, ["a"]), ["b"]);
  });

  test("keeps a snapshot whose time cannot be read", () => {
    const snapshots = [{ id: "x", takenAt: "yesterday" }, snap("a", 90), snap("b", 1)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 30, keepAtLeast: 1 }, now), ["a"]);
  });

  test("days 0 prunes everything but the newest keepAtLeast", () => {
    const snapshots = [snap("a", 0.5), snap("b", 0.2), snap("c", 0.1)];
    assert.deepEqual(snapshotsToPrune(snapshots, { days: 0, keepAtLeast: 1 }, now), ["a", "b"]);
  });

  const arbitrarySnapshots = fc.uniqueArray(
    fc.record({
      id: fc.stringMatching(/^[a-z0-9]{1,6}$/),
      age: fc.double({ min: 0, max: 400, noNaN: true }),
    }),
    { selector: (s) => s.id, maxLength: 30 },
  );

  test("property: never prunes below keepAtLeast, never a kept id, never a young one", () => {
    fc.assert(
      fc.property(
        arbitrarySnapshots,
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.func(fc.boolean()),
        (raw, days, keepAtLeast, isKept) => {
          const snapshots = raw.map((s) => snap(s.id, s.age));
          const keep = raw.filter((s) => isKept(s.id)).map((s) => s.id);
          const pruned = snapshotsToPrune(snapshots, { days, keepAtLeast }, now, keep);
          assert.ok(snapshots.length - pruned.length >= Math.min(keepAtLeast, snapshots.length));
          assert.ok(pruned.every((id) => !keep.includes(id)));
          const byId = new Map(snapshots.map((s) => [s.id, s]));
          assert.ok(
            pruned.every((id) => Date.parse(byId.get(id)!.takenAt) < now.getTime() - days * DAY),
          );
          assert.equal(new Set(pruned).size, pruned.length);
        },
      ),
    );
  });

  test("property: the newest keepAtLeast are never pruned", () => {
    fc.assert(
      fc.property(arbitrarySnapshots, fc.integer({ min: 1, max: 10 }), (raw, keepAtLeast) => {
        const snapshots = raw.map((s) => snap(s.id, s.age));
        const pruned = snapshotsToPrune(snapshots, { days: 0, keepAtLeast }, now);
        const newest = [...snapshots]
          .sort((a, b) => Date.parse(b.takenAt) - Date.parse(a.takenAt) || (a.id < b.id ? 1 : -1))
          .slice(0, keepAtLeast)
          .map((s) => s.id);
        assert.ok(newest.every((id) => !pruned.includes(id)));
      }),
    );
  });
});

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

function tempStore(): string {
  return fs.mkdtempSync(path.join(tmpdir(), "rewind-store-"));
}

async function writeSnapshot(
  store: string,
  meta: Partial<SnapshotManifest> = {},
): Promise<SnapshotManifest> {
  const takenAt = meta.takenAt ?? now.toISOString();
  const id = meta.id ?? newSnapshotId(new Date(takenAt), "hunter", meta.revision ?? "0001");
  const dir = beginSnapshot(store, id);
  fs.writeFileSync(path.join(dir, DATABASE_FILE), "PGDMP fake dump", { mode: 0o600 });
  const manifest = await buildManifest(
    dir,
    {
      id,
      database: meta.database ?? "hunter",
      revision: meta.revision ?? "0001",
      appVersion: "1.0.0",
      takenAt,
      reason: "test",
    },
    [{ item: "database", file: DATABASE_FILE, format: "pg_dump-custom" }],
  );
  publishSnapshot(store, dir, manifest);
  return manifest;
}

void describe("manifest and verification on disk", () => {
  test("a published snapshot has a 0700 directory, 0600 files and a checksummed manifest", async () => {
    const store = tempStore();
    try {
      const manifest = await writeSnapshot(store);
      const dir = snapshotDir(store, manifest.id);
      assert.deepEqual(fs.readdirSync(store), [manifest.id], "no partial directory is left");
      assert.equal(fs.statSync(store).mode & 0o777, 0o700);
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
      assert.equal(fs.statSync(path.join(dir, MANIFEST_FILE)).mode & 0o777, 0o600);
      const sha = createHash("sha256").update("PGDMP fake dump").digest("hex");
      assert.deepEqual(manifest.items, [
        {
          item: "database",
          file: DATABASE_FILE,
          format: "pg_dump-custom",
          sha256: sha,
          size: 15,
        },
      ]);
      assert.equal(manifest.size, 15);
      assert.deepEqual(readManifest(store, manifest.id), manifest);
      assert.deepEqual(await verifySnapshot(store, manifest.id), {
        ok: true,
        manifest,
        problems: [],
      });
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("a flipped byte, a truncated file and a missing file are each reported", async () => {
    const store = tempStore();
    try {
      const manifest = await writeSnapshot(store);
      const file = path.join(snapshotDir(store, manifest.id), DATABASE_FILE);
      const bytes = fs.readFileSync(file);
      bytes[3] ^= 0xff;
      fs.writeFileSync(file, bytes);
      const flipped = await verifySnapshot(store, manifest.id);
      assert.equal(flipped.ok, false);
      assert.equal(flipped.problems.length, 1);
      assert.match(
        flipped.problems[0],
        /^database\.dump has sha256 [0-9a-f]{64}, the manifest records/,
      );

      fs.writeFileSync(file, "PGDMP");
      const truncated = await verifySnapshot(store, manifest.id);
      assert.match(truncated.problems[0], /^database\.dump has 5 bytes, the manifest records 15$/);

      fs.rmSync(file);
      assert.deepEqual((await verifySnapshot(store, manifest.id)).problems, [
        "database.dump is missing",
      ]);
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("an edited manifest fails: overall checksum, id, format", async () => {
    const store = tempStore();
    try {
      const manifest = await writeSnapshot(store);
      const file = path.join(snapshotDir(store, manifest.id), MANIFEST_FILE);
      fs.writeFileSync(file, JSON.stringify({ ...manifest, sha256: "0".repeat(64) }));
      assert.match(
        (await verifySnapshot(store, manifest.id)).problems[0],
        /overall sha256 0{64} does not match its entries/,
      );
      fs.writeFileSync(file, JSON.stringify({ ...manifest, id: "other" }));
      assert.match((await verifySnapshot(store, manifest.id)).problems[0], /id is "other"/);
      fs.writeFileSync(file, "{ not json");
      assert.match((await verifySnapshot(store, manifest.id)).problems[0], /not valid JSON/);
      assert.match(
        (await verifySnapshot(store, "20250101T000000Z-none")).problems[0],
        /does not exist in the backup store/,
      );
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("listing skips partial directories and reports unreadable ones; latest verified", async () => {
    const store = tempStore();
    try {
      const older = await writeSnapshot(store, { takenAt: daysAgo(2), revision: "0002" });
      const newer = await writeSnapshot(store, { takenAt: daysAgo(1), revision: "0002" });
      await writeSnapshot(store, { takenAt: daysAgo(0), revision: "0003" });
      await writeSnapshot(store, { takenAt: daysAgo(0), revision: "0002", database: "other" });
      beginSnapshot(store, "20250101T000000Z-hunter-0002-partial");
      fs.mkdirSync(path.join(store, "junk"));
      const listing = listSnapshots(store);
      assert.equal(listing.snapshots.length, 4);
      assert.deepEqual(
        listing.unreadable.map((u) => u.id),
        ["junk"],
      );
      assert.equal(listing.snapshots[0].id, older.id, "oldest first");

      assert.equal((await latestVerifiedSnapshot(store, "hunter", "0002"))?.id, newer.id);
      fs.writeFileSync(path.join(snapshotDir(store, newer.id), DATABASE_FILE), "corrupt");
      assert.equal(
        (await latestVerifiedSnapshot(store, "hunter", "0002"))?.id,
        older.id,
        "a corrupted snapshot is skipped",
      );
      assert.equal(await latestVerifiedSnapshot(store, "hunter", "0001"), undefined);
      assert.deepEqual(listSnapshots(path.join(store, "missing")), {
        snapshots: [],
        unreadable: [],
      });
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("a directory and a file archived with tar come back, replacing what is there", async () => {
    const root = tempStore();
    try {
      const sessions = path.join(root, "sessions");
      fs.mkdirSync(sessions, { mode: 0o750 });
      fs.chmodSync(sessions, 0o750);
      fs.writeFileSync(path.join(sessions, "user_1"), "one");
      const env = path.join(root, ".env");
      fs.writeFileSync(env, "SECRET_KEY=a\n", { mode: 0o600 });
      const tars = path.join(root, "snap", "files");
      assert.equal(await archivePath(sessions, path.join(tars, "s.tar")), "directory");
      assert.equal(await archivePath(env, path.join(tars, "e.tar")), "file");
      await assert.rejects(
        archivePath(path.join(root, "nope"), path.join(tars, "n.tar")),
        /does not exist/,
      );

      fs.writeFileSync(path.join(sessions, "user_2"), "created later");
      fs.writeFileSync(path.join(sessions, "user_1"), "changed");
      fs.writeFileSync(env, "SECRET_KEY=b\n");
      await restorePath(path.join(tars, "s.tar"), sessions, "directory");
      await restorePath(path.join(tars, "e.tar"), env, "file");
      assert.deepEqual(fs.readdirSync(sessions), ["user_1"]);
      assert.equal(fs.readFileSync(path.join(sessions, "user_1"), "utf8"), "one");
      assert.equal(fs.statSync(sessions).mode & 0o777, 0o750);
      assert.equal(fs.readFileSync(env, "utf8"), "SECRET_KEY=a\n");
      assert.equal(fs.statSync(env).mode & 0o777, 0o600);
      assert.deepEqual(
        fs.readdirSync(root).filter((n) => n.startsWith(".rewind-restore")),
        [],
        "no staging directory is left",
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
