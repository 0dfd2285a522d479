import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Restore } from "../../components/restore";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { beginSnapshot, buildManifest, publishSnapshot } from "../../adapters/backupStore";
import { DATABASE_FILE } from "../../domain/snapshotManifest";
import { StackResource, UNKNOWN } from "../../policy/resources";
import {
  checkRestoreInputs,
  checkRestoreSnapshots,
} from "../../policy/restoreRequiresVerifiedSnapshot";

const ID = "20260101T000000Z-hunter-0001-abcdef";
const DUMP = "PGDMP fake custom-format dump of hunter at 0001\n";

describe("restore-requires-verified-snapshot: the Restore's inputs", () => {
  test("a Restore naming a snapshot id passes", () => {
    assert.deepEqual(checkRestoreInputs({ snapshotId: ID }), []);
  });

  test("an empty snapshotId is refused", () => {
    assert.deepEqual(checkRestoreInputs({ snapshotId: "" }), [
      `The Restore names no snapshotId; pin the id of a verified snapshot (rewind:restore.snapshot).`,
    ]);
  });

  test("a missing snapshotId is refused", () => {
    assert.deepEqual(checkRestoreInputs({}), [
      `The Restore names no snapshotId; pin the id of a verified snapshot (rewind:restore.snapshot).`,
    ]);
  });

  test("a snapshotId that is a path is refused", () => {
    assert.deepEqual(checkRestoreInputs({ snapshotId: "../other/snap" }), [
      `The Restore names "../other/snap", which is not a snapshot id (letters, digits, ".", "_" ` +
        `and "-", no "..").`,
    ]);
  });

  test("an unknown snapshotId (preview) is not judged", () => {
    assert.deepEqual(checkRestoreInputs({ snapshotId: UNKNOWN }), []);
  });
});

describe("restore-requires-verified-snapshot: the snapshot in the backup store", () => {
  let root: string;
  let store: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), "rewind-policy-restore-"));
    store = join(root, "store");
    const partial = beginSnapshot(store, ID);
    writeFileSync(join(partial, DATABASE_FILE), DUMP, { mode: 0o600 });
    const manifest = await buildManifest(
      partial,
      {
        id: ID,
        database: "hunter",
        revision: "0001",
        appVersion: "1.0.0",
        takenAt: "2026-01-01T00:00:00.000Z",
        reason: "migrate 0001->0002",
      },
      [{ item: "database", file: DATABASE_FILE, format: "pg_dump-custom" }],
    );
    publishSnapshot(store, partial, manifest);
  });

  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const URN =
    "urn:pulumi:dev::rewind::rewind:index:Release$" + Restore.__pulumiType + "::r-restore";
  function restore(props: Record<string, unknown> = {}): StackResource {
    return {
      type: Restore.__pulumiType,
      name: "r-restore",
      urn: URN,
      props: { snapshotId: ID, storePath: store, database: "hunter", ...props },
      dependencies: [],
      propertyDependencies: {},
    };
  }

  test("a snapshot that exists, verifies and is of the restored database passes", async () => {
    assert.deepEqual(await checkRestoreSnapshots([restore()]), []);
  });

  test("a relative storePath is found from the project root", async () => {
    const relative = restore({ storePath: basename(store) });
    assert.deepEqual(await checkRestoreSnapshots([relative], dirname(store)), []);
  });

  test("a snapshot the store does not hold is refused", async () => {
    const missing = "20260102T000000Z-hunter-0001-000000";
    assert.deepEqual(await checkRestoreSnapshots([restore({ snapshotId: missing })]), [
      {
        urn: URN,
        message:
          `Restore "r-restore" names snapshot "${missing}", which fails verification: snapshot ` +
          `"${missing}" does not exist in the backup store ${store}.`,
      },
    ]);
  });

  test("a snapshot of another database is refused", async () => {
    assert.deepEqual(await checkRestoreSnapshots([restore({ database: "billing" })]), [
      {
        urn: URN,
        message:
          `Restore "r-restore" restores database "billing" from snapshot "${ID}", which is of ` +
          `database "hunter".`,
      },
    ]);
  });

  test("a Restore without a storePath is refused", async () => {
    assert.deepEqual(await checkRestoreSnapshots([restore({ storePath: "" })]), [
      {
        urn: URN,
        message: `Restore "r-restore" names no storePath, so snapshot "${ID}" cannot be found.`,
      },
    ]);
  });

  test("unknown or malformed ids and an unknown storePath are left to the input check", async () => {
    assert.deepEqual(await checkRestoreSnapshots([restore({ snapshotId: UNKNOWN })]), []);
    assert.deepEqual(await checkRestoreSnapshots([restore({ snapshotId: "" })]), []);
    assert.deepEqual(await checkRestoreSnapshots([restore({ storePath: UNKNOWN })]), []);
  });

  // Last: it corrupts the shared snapshot.
  test("a snapshot whose file no longer matches its checksum is refused", async () => {
    const recorded = createHash("sha256").update(DUMP).digest("hex");
    const corrupted = DUMP.replace("0001", "0002");
    writeFileSync(join(store, ID, DATABASE_FILE), corrupted);
    const actual = createHash("sha256").update(corrupted).digest("hex");
    assert.deepEqual(await checkRestoreSnapshots([restore()]), [
      {
        urn: URN,
        message:
          `Restore "r-restore" names snapshot "${ID}", which fails verification: ` +
          `${DATABASE_FILE} has sha256 ${actual}, the manifest records ${recorded}.`,
      },
    ]);
  });
});
