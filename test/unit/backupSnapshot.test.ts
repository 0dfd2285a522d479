// BackupSnapshot under Pulumi's mocks: what it registers (type, name, inputs with their
// documented defaults), which outputs it declares, and that the URL's output stays secret.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { recordOptions, recordingMocks, secret, value, typedInputs } from "./mocks";
import * as states from "./mockStates";

const TYPE = "rewind:index:BackupSnapshot";
const URL = "postgres://rewind:pw@127.0.0.1:5432/hunter";
const ID = "20261126T010203Z-hunter-0002-3f9a";

const registrations = recordingMocks({
  [TYPE]: states.backupSnapshot(ID, ["20261001T000000Z-hunter-0001-aaaa"]),
});

/* eslint-disable @typescript-eslint/no-require-imports */
const { BackupSnapshot } =
  require("../../components/backupSnapshot") as typeof import("../../components/backupSnapshot");
/* eslint-enable @typescript-eslint/no-require-imports */

const REQUIRED = {
  databaseUrl: URL,
  database: "hunter",
  revision: "0002",
  appVersion: "1.1.0",
  storePath: "/srv/backups",
};

describe("BackupSnapshot", () => {
  test("the required inputs as given, every optional one at its documented default", async () => {
    registrations.length = 0;
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const before = Date.now();
    const snapshot = new BackupSnapshot("hunter-backup", REQUIRED, recordOptions(options));
    await value(snapshot.snapshotId);
    assert.deepEqual(
      registrations.map((r) => [r.type, r.name]),
      [[TYPE, "hunter-backup"]],
    );
    const inputs = typedInputs(registrations[0]);
    assert.deepEqual(inputs, {
      ...REQUIRED,
      include: ["database"],
      retain: { days: 30, keepAtLeast: 5 },
      reason: "manual",
      volumesRoot: "/var/lib/rewind/volumes",
      keep: [],
      lockTimeoutSeconds: 60,
    });
    // @default the time of the program run, as Pulumi's replacementTrigger (not an input)
    const opts = options.get("hunter-backup")!;
    const requestedAt = opts.replacementTrigger;
    assert.equal(typeof requestedAt, "string");
    const at = Date.parse(requestedAt as string);
    assert.equal(new Date(at).toISOString(), requestedAt);
    assert.ok(at >= before && at <= Date.now(), `requestedAt ${String(requestedAt)}`);
    assert.deepEqual(opts.additionalSecretOutputs, ["databaseUrl"]);
    // The snapshot outlives the resource; stacks of the dynamic type upgrade in place.
    assert.equal(opts.retainOnDelete, true);
    assert.deepEqual(opts.aliases, [{ type: "pulumi-nodejs:dynamic/rewind:BackupSnapshot" }]);
  });

  test("every input given is passed through as given, secrets still secret", async () => {
    registrations.length = 0;
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const given = {
      ...REQUIRED,
      include: ["database", "volume:sessions", "path:/srv/hunter/.env"],
      retain: { days: 0, keepAtLeast: 1 },
      reason: "migrate 0002->0003",
      volumesRoot: "/srv/volumes",
      keep: ["20261101T000000Z-hunter-0001-77aa"],
      lockTimeoutSeconds: 5,
      requestedAt: "2026-11-26T00:00:00.000Z",
    };
    const snapshot = new BackupSnapshot(
      "full",
      { ...given, databaseUrl: pulumi.secret(URL), database: pulumi.output("hunter") },
      {
        ...recordOptions(options),
        additionalSecretOutputs: ["manifestPath"],
      },
    );
    await value(snapshot.snapshotId);
    const { requestedAt, ...inputs } = given;
    assert.deepEqual(typedInputs(registrations[0]), { ...inputs, databaseUrl: secret(URL) });
    assert.equal(options.get("full")!.replacementTrigger, requestedAt);
    // The caller's own secret outputs are kept; the URL is added.
    assert.deepEqual(options.get("full")!.additionalSecretOutputs, ["manifestPath", "databaseUrl"]);
  });

  test("declares every output the provider returns", async () => {
    registrations.length = 0;
    const snapshot = new BackupSnapshot("outputs", REQUIRED);
    assert.deepEqual(
      {
        id: await value(snapshot.id),
        snapshotId: await value(snapshot.snapshotId),
        sha256: await value(snapshot.sha256),
        size: await value(snapshot.size),
        verified: await value(snapshot.verified),
        takenAt: await value(snapshot.takenAt),
        manifestPath: await value(snapshot.manifestPath),
        pruned: await value(snapshot.pruned),
        pruneError: await value(snapshot.pruneError),
        database: await value(snapshot.database),
        revision: await value(snapshot.revision),
      },
      {
        id: ID,
        snapshotId: ID,
        sha256: "c".repeat(64),
        size: 4096,
        verified: true,
        takenAt: "2026-11-26T01:02:03.000Z",
        manifestPath: `/srv/backups/${ID}/manifest.json`,
        pruned: ["20261001T000000Z-hunter-0001-aaaa"],
        pruneError: "",
        database: "hunter",
        revision: "0002",
      },
    );
  });

  test("bad plain arguments fail before anything is registered, each named", () => {
    registrations.length = 0;
    assert.throws(
      () =>
        new BackupSnapshot("bad", {
          ...REQUIRED,
          database: "",
          revision: " ",
          storePath: "backups",
          include: ["database", "volume:", pulumi.output("volume:unchecked"), "path:relative"],
          retain: { days: -1, keepAtLeast: 0 },
          volumesRoot: "volumes",
          keep: ["../20261101T000000Z-hunter-0001-77aa"],
          lockTimeoutSeconds: -5,
        }),
      (err: Error) => {
        assert.equal(err.name, "UserError");
        assert.deepEqual(err.message.split("\n"), [
          `BackupSnapshot "bad": database is ""; allowed: the database's name, as in the URL`,
          `BackupSnapshot "bad": revision is " "; allowed: the revision the database is at, ` +
            `e.g. "0002" or "base"`,
          `BackupSnapshot "bad": storePath is "backups"; allowed: an absolute path: the backup ` +
            `store's directory`,
          `BackupSnapshot "bad": include[1] is "volume:"; allowed: "database", "volume:<name>" ` +
            `or "path:<absolute path>"`,
          `BackupSnapshot "bad": include[3] is "path:relative"; allowed: "database", ` +
            `"volume:<name>" or "path:<absolute path>"`,
          `BackupSnapshot "bad": retain.days is -1; allowed: an integer number of days, at least 0`,
          `BackupSnapshot "bad": retain.keepAtLeast is 0; allowed: an integer of at least 1`,
          `BackupSnapshot "bad": volumesRoot is "volumes"; allowed: an absolute path: the ` +
            `directory holding one directory per volume`,
          `BackupSnapshot "bad": keep[0] is "../20261101T000000Z-hunter-0001-77aa"; allowed: a ` +
            `snapshot id from the backup store (letters, digits, ".", "_" and "-", starting with ` +
            `a letter or digit), e.g. "20261126T005230Z-hunter-0001-b09dc0"`,
          `BackupSnapshot "bad": lockTimeoutSeconds is -5; allowed: an integer number of ` +
            `seconds, at least 1`,
        ]);
        return true;
      },
    );
    assert.deepEqual(registrations, []);
  });

  test("a timeout of 0 is refused: PostgreSQL would wait for the lock forever", () => {
    assert.throws(() => new BackupSnapshot("zero", { ...REQUIRED, lockTimeoutSeconds: 0 }), {
      name: "UserError",
      message:
        `BackupSnapshot "zero": lockTimeoutSeconds is 0; allowed: an integer number of ` +
        `seconds, at least 1`,
    });
  });

  test("values given as Outputs are left to the provider", async () => {
    registrations.length = 0;
    const snapshot = new BackupSnapshot("later", {
      ...REQUIRED,
      storePath: pulumi.output("relative"),
      include: pulumi.output(["volume:"]),
      lockTimeoutSeconds: pulumi.output(-1),
    });
    await value(snapshot.snapshotId);
    assert.deepEqual(
      registrations.map((r) => r.name),
      ["later"],
    );
  });
});
