import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BackupSnapshot } from "../../components/backupSnapshot";
import { Migration } from "../../components/migration";
import { Restore } from "../../components/restore";
import { unknownCheckingProxy } from "@pulumi/policy";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import {
  checkMigrationGraph,
  checkMigrationInputs,
  migrationRequiresBackup,
} from "../../policy/migrationRequiresBackup";
import { StackResource, UNKNOWN, readProps } from "../../policy/resources";

const migration = {
  database: "hunter",
  fromRevision: "0001",
  revision: "0002",
  snapshotId: "snap-1",
  snapshotDatabase: "hunter",
  snapshotRevision: "0001",
};

/** A copy of `props` without `key`: one input left out. */
function without(props: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...props };
  delete copy[key];
  return copy;
}

const NO_SNAPSHOT =
  `The Migration takes database "hunter" from "0001" to "0002" but names no snapshotId; ` +
  `take a BackupSnapshot of "hunter" at "0001" first and pass its snapshotId.`;

describe("migration-requires-backup: the Migration's inputs", () => {
  test("a migration naming a snapshot of its database at its starting revision passes", () => {
    assert.deepEqual(checkMigrationInputs(migration), []);
  });

  test("a migration that does not change the revision needs no snapshot", () => {
    const same = { ...migration, revision: "0001", snapshotId: "", snapshotRevision: "" };
    assert.deepEqual(checkMigrationInputs(same), []);
  });

  test("an empty snapshotId is refused", () => {
    assert.deepEqual(checkMigrationInputs({ ...migration, snapshotId: "" }), [NO_SNAPSHOT]);
  });

  test("a missing snapshotId is refused", () => {
    assert.deepEqual(checkMigrationInputs(without(migration, "snapshotId")), [NO_SNAPSHOT]);
  });

  test("a migration going down needs a snapshot too", () => {
    const down = { ...migration, fromRevision: "0002", revision: "0001", snapshotId: "" };
    assert.deepEqual(checkMigrationInputs(down), [
      `The Migration takes database "hunter" from "0002" to "0001" but names no snapshotId; ` +
        `take a BackupSnapshot of "hunter" at "0002" first and pass its snapshotId.`,
    ]);
  });

  test("a snapshot of another database is refused", () => {
    assert.deepEqual(checkMigrationInputs({ ...migration, snapshotDatabase: "billing" }), [
      `The Migration's snapshot is of database "billing", but the Migration changes database ` +
        `"hunter"; the backup must be of the database it migrates.`,
    ]);
  });

  test("a snapshot taken at another revision is refused", () => {
    assert.deepEqual(checkMigrationInputs({ ...migration, snapshotRevision: "0002" }), [
      `The Migration's snapshot was taken at revision "0002", but the Migration starts from ` +
        `"0001"; the backup must be taken at the revision the migration starts from.`,
    ]);
  });

  test("a missing fromRevision is refused: nobody can tell whether the schema changes", () => {
    assert.deepEqual(checkMigrationInputs(without(migration, "fromRevision")), [
      `The Migration declares fromRevision (none) and revision "0002"; both are required to ` +
        `tell whether it changes the schema.`,
    ]);
  });

  test("an unknown snapshotId (preview) is not judged, the known inputs still are", () => {
    assert.deepEqual(checkMigrationInputs({ ...migration, snapshotId: UNKNOWN }), []);
    assert.deepEqual(
      checkMigrationInputs({ ...migration, snapshotId: UNKNOWN, snapshotRevision: "0002" }),
      [
        `The Migration's snapshot was taken at revision "0002", but the Migration starts from ` +
          `"0001"; the backup must be taken at the revision the migration starts from.`,
      ],
    );
  });

  test("unknown revisions, database or snapshot fields are not judged", () => {
    assert.deepEqual(checkMigrationInputs({ ...migration, fromRevision: UNKNOWN }), []);
    assert.deepEqual(checkMigrationInputs({ ...migration, revision: UNKNOWN }), []);
    assert.deepEqual(checkMigrationInputs({ ...migration, snapshotDatabase: UNKNOWN }), []);
    assert.deepEqual(checkMigrationInputs({ ...migration, database: UNKNOWN }), []);
    assert.deepEqual(checkMigrationInputs({ ...migration, snapshotRevision: UNKNOWN }), []);
  });
});

// The resource policy as the engine calls it: props behind the SDK's unknown-checking proxy,
// with the engine's sentinel for a value computed from another resource's output.
describe("migration-requires-backup: the resource policy on the SDK's props", () => {
  function run(props: Record<string, unknown>, type: string = Migration.__pulumiType): string[] {
    const messages: string[] = [];
    const validate = migrationRequiresBackup.validateResource;
    assert.equal(typeof validate, "function");
    void (validate as (args: unknown, report: (m: string) => void) => void)(
      {
        type,
        isType: (cls: { __pulumiType: string }) => cls.__pulumiType === type,
        props: unknownCheckingProxy(props),
      },
      (message) => messages.push(message),
    );
    return messages;
  }

  test("the sentinel of an unknown snapshotId is read as unknown, not as a violation", () => {
    assert.deepEqual(
      readProps(unknownCheckingProxy({ ...migration, snapshotId: unknownValue }), [
        "snapshotId",
        "revision",
      ]),
      { snapshotId: UNKNOWN, revision: "0002" },
    );
    assert.deepEqual(run({ ...migration, snapshotId: unknownValue }), []);
  });

  test("a known empty snapshotId is reported", () => {
    assert.deepEqual(run({ ...migration, snapshotId: "" }), [NO_SNAPSHOT]);
  });

  test("other resource types are not checked", () => {
    assert.deepEqual(run({ ...migration, snapshotId: "" }, Restore.__pulumiType), []);
  });
});

const SNAPSHOT_URN =
  "urn:pulumi:dev::rewind::rewind:index:Release$" + BackupSnapshot.__pulumiType + "::r-backup";
const MIGRATION_URN =
  "urn:pulumi:dev::rewind::rewind:index:Release$" + Migration.__pulumiType + "::r-migration";

function snapshotResource(props: Record<string, unknown> = {}): StackResource {
  return {
    type: BackupSnapshot.__pulumiType,
    name: "r-backup",
    urn: SNAPSHOT_URN,
    props: { snapshotId: "snap-1", database: "hunter", revision: "0001", verified: true, ...props },
    dependencies: [],
    propertyDependencies: {},
  };
}

function migrationResource(
  props: Record<string, unknown> = {},
  deps: Partial<Pick<StackResource, "dependencies" | "propertyDependencies">> = {},
): StackResource {
  return {
    type: Migration.__pulumiType,
    name: "r-migration",
    urn: MIGRATION_URN,
    props: { ...migration, ...props },
    dependencies: [SNAPSHOT_URN],
    propertyDependencies: { snapshotId: [SNAPSHOT_URN] },
    ...deps,
  };
}

describe("migration-requires-backup: the stack's graph", () => {
  test("a migration depending on the verified snapshot it names passes", () => {
    assert.deepEqual(checkMigrationGraph([snapshotResource(), migrationResource()]), []);
  });

  test("an explicit dependsOn on the snapshot counts as depending on it", () => {
    const m = migrationResource({}, { propertyDependencies: {} });
    assert.deepEqual(checkMigrationGraph([snapshotResource(), m]), []);
  });

  test("a migration that does not depend on the snapshot it names is refused", () => {
    const m = migrationResource({}, { dependencies: [], propertyDependencies: {} });
    assert.deepEqual(checkMigrationGraph([snapshotResource(), m]), [
      {
        urn: MIGRATION_URN,
        message:
          `Migration "r-migration" names snapshot "snap-1" but does not depend on BackupSnapshot ` +
          `"r-backup" that took it; pass the snapshot's snapshotId output so the backup is taken ` +
          `first.`,
      },
    ]);
  });

  test("an unverified snapshot is refused", () => {
    assert.deepEqual(
      checkMigrationGraph([snapshotResource({ verified: false }), migrationResource()]),
      [
        {
          urn: MIGRATION_URN,
          message:
            `BackupSnapshot "r-backup" (snapshot "snap-1") that Migration "r-migration" depends on ` +
            `is not verified (verified is false).`,
        },
      ],
    );
  });

  test("a snapshot that never reported verified is refused", () => {
    const s = { ...snapshotResource(), props: without(snapshotResource().props, "verified") };
    assert.deepEqual(checkMigrationGraph([s, migrationResource()]), [
      {
        urn: MIGRATION_URN,
        message:
          `BackupSnapshot "r-backup" (snapshot "snap-1") that Migration "r-migration" depends on ` +
          `is not verified (verified is (none)).`,
      },
    ]);
  });

  test("a snapshot of another database is refused", () => {
    assert.deepEqual(
      checkMigrationGraph([snapshotResource({ database: "billing" }), migrationResource()]),
      [
        {
          urn: MIGRATION_URN,
          message:
            `BackupSnapshot "r-backup" is of database "billing", but Migration "r-migration" ` +
            `changes database "hunter".`,
        },
      ],
    );
  });

  test("a snapshot taken at another revision is refused", () => {
    assert.deepEqual(
      checkMigrationGraph([snapshotResource({ revision: "0002" }), migrationResource()]),
      [
        {
          urn: MIGRATION_URN,
          message:
            `BackupSnapshot "r-backup" was taken at revision "0002", but Migration "r-migration" ` +
            `starts from "0001".`,
        },
      ],
    );
  });

  test("a snapshot id no BackupSnapshot of the stack took is refused", () => {
    assert.deepEqual(
      checkMigrationGraph([snapshotResource({ snapshotId: "snap-0" }), migrationResource()]),
      [
        {
          urn: MIGRATION_URN,
          message:
            `Migration "r-migration" names snapshot "snap-1", but no BackupSnapshot in this stack ` +
            `took it; the backup must be part of the same update.`,
        },
      ],
    );
  });

  test("while a snapshot has no id yet (preview of its creation), nothing is judged", () => {
    const planned = {
      ...snapshotResource(),
      props: without(snapshotResource().props, "snapshotId"),
    };
    assert.deepEqual(checkMigrationGraph([planned, migrationResource()]), []);
    const unknownId = snapshotResource({ snapshotId: UNKNOWN });
    assert.deepEqual(checkMigrationGraph([unknownId, migrationResource()]), []);
  });

  test("unknown values are not judged", () => {
    const s = snapshotResource({ verified: UNKNOWN, database: UNKNOWN, revision: UNKNOWN });
    assert.deepEqual(checkMigrationGraph([s, migrationResource()]), []);
    const m = migrationResource(
      { snapshotId: UNKNOWN },
      { dependencies: [], propertyDependencies: {} },
    );
    assert.deepEqual(checkMigrationGraph([snapshotResource({ verified: false }), m]), []);
  });

  test("a migration that keeps its revision, or names no snapshot, is left alone", () => {
    const same = migrationResource(
      { revision: "0001" },
      { dependencies: [], propertyDependencies: {} },
    );
    assert.deepEqual(checkMigrationGraph([same]), []);
    // Naming no snapshot is the input check's message; the graph check does not repeat it.
    assert.deepEqual(checkMigrationGraph([migrationResource({ snapshotId: "" })]), []);
  });
});
