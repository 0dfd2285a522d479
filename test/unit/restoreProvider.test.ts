// The Restore handler's `check`: a pinned snapshot that is missing, damaged or of another
// database is refused at preview, on snapshotId, before anything is stopped (issue 10, defect 5).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  beginSnapshot,
  buildManifest,
  publishSnapshot,
  snapshotDir,
} from "../../adapters/backupStore";
import { RestoreInputs, restoreHandler } from "../../provider/restore";
import { UNKNOWN } from "../../provider/resourceHandler";
import { DATABASE_FILE } from "../../domain/snapshotManifest";

const ID = "20261201T000000Z-hunter-0001-aaaaaa";

async function storeWithSnapshot(database = "hunter"): Promise<string> {
  const store = fs.mkdtempSync(path.join(tmpdir(), "rewind-restore-check-"));
  const dir = beginSnapshot(store, ID);
  fs.writeFileSync(path.join(dir, DATABASE_FILE), "PGDMP fake dump", { mode: 0o600 });
  const manifest = await buildManifest(
    dir,
    {
      id: ID,
      database,
      revision: "0001",
      appVersion: "1.0.0",
      takenAt: "2026-12-01T00:00:00.000Z",
      reason: "test",
    },
    [{ item: "database", file: DATABASE_FILE, format: "pg_dump-custom" }],
  );
  publishSnapshot(store, dir, manifest);
  return store;
}

function inputs(store: string, snapshotId = ID): RestoreInputs {
  return {
    databaseUrl: "postgres://rewind:pw@127.0.0.1:5432/hunter",
    database: "hunter",
    storePath: store,
    snapshotId,
    services: ["hunter"],
    stackId: "rewind/dev",
    appVersion: "1.0.0",
    dockerHost: "",
    lockTimeoutSeconds: 60,
  };
}

async function failures(news: RestoreInputs) {
  return (await restoreHandler.check!(undefined, news)).failures ?? [];
}

describe("Restore check", () => {
  test("a verified snapshot of this database passes", async () => {
    const store = await storeWithSnapshot();
    try {
      assert.deepEqual(await failures(inputs(store)), []);
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("a snapshot the store does not have is refused on snapshotId, saying what is allowed", async () => {
    const store = await storeWithSnapshot();
    try {
      const [failure, ...more] = await failures(inputs(store, "20250101T000000Z-nope-0001-abcdef"));
      assert.deepEqual(more, []);
      assert.equal(failure.property, "snapshotId");
      assert.match(
        failure.reason,
        /^snapshot "20250101T000000Z-nope-0001-abcdef" does not exist in the backup store .*; allowed: a snapshot of this database/,
      );
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("a flipped byte fails verification at check, not only at create", async () => {
    const store = await storeWithSnapshot();
    try {
      const dump = path.join(snapshotDir(store, ID), DATABASE_FILE);
      fs.chmodSync(dump, 0o600);
      fs.writeFileSync(dump, "PGDMP fake dumq");
      const [failure] = await failures(inputs(store));
      assert.match(failure.reason, /failed verification: database\.dump has sha256 [0-9a-f]{64}/);
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("another database's snapshot is refused", async () => {
    const store = await storeWithSnapshot("someone_elses");
    try {
      const [failure] = await failures(inputs(store));
      assert.match(
        failure.reason,
        /is of database "someone_elses"; it cannot be restored into database "hunter"/,
      );
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("values not known yet are checked at up", async () => {
    assert.deepEqual(await failures({ ...inputs("/nowhere"), snapshotId: UNKNOWN }), []);
  });
});
