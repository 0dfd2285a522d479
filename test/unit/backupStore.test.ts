// The backup store on a temp dir: publishing, manifests, verification, listing.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
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
import { newSnapshotId } from "../../domain/snapshotId";
import { DATABASE_FILE, MANIFEST_FILE, SnapshotManifest } from "../../domain/snapshotManifest";

const DAY = 24 * 60 * 60 * 1000;
const now = new Date("2025-03-31T12:00:00Z");
const daysAgo = (d: number) => new Date(now.getTime() - d * DAY).toISOString();

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
});
