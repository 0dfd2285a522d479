import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Migration } from "../../components/migration";
import { Restore } from "../../components/restore";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  checkDowngradeInputs,
  checkDowngradeStack,
} from "../../policy/irreversibleDowngradeRequiresRestore";
import { StackResource, UNKNOWN } from "../../policy/resources";

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "rewind-policy-migrations-"));
  for (const file of [
    "0001_init.up.sql",
    "0001_init.down.sql",
    "0002_add_email.up.sql",
    "0002_add_email.down.sql",
    "0003_drop_legacy.up.sql",
    "0004_add_index.up.sql",
    "0004_add_index.down.sql",
  ]) {
    writeFileSync(join(dir, file), "-- test\n");
  }
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

// A downgrade every step of which has a down script.
const migration = () => ({
  tool: "sql",
  migrationsDir: dir,
  fromRevision: "0002",
  revision: "0001",
});

const RESTORE_INSTEAD =
  "going back past a step without a down script takes a restore: pin a snapshot " +
  "(rewind:restore.snapshot) instead of migrating down.";

const throughDropLegacy = () =>
  `goes down from "0003" to "0002" through a step without a down script ` +
  `(no 0003_drop_legacy.down.sql in ${JSON.stringify(dir)})`;

describe("irreversible-downgrade-requires-restore: the Migration's inputs", () => {
  test("a downgrade whose every step has a down script passes", () => {
    assert.deepEqual(checkDowngradeInputs(migration()), []);
  });

  test("a downgrade through a step without a down script is refused", () => {
    assert.deepEqual(
      checkDowngradeInputs({ ...migration(), fromRevision: "0003", revision: "0002" }),
      [`The Migration ${throughDropLegacy()}; ${RESTORE_INSTEAD}`],
    );
  });

  test("an irreversible step further down the way is found", () => {
    assert.deepEqual(
      checkDowngradeInputs({ ...migration(), fromRevision: "0004", revision: "base" }),
      [
        `The Migration goes down from "0004" to "base" through a step without a down script ` +
          `(no 0003_drop_legacy.down.sql in ${JSON.stringify(dir)}); ${RESTORE_INSTEAD}`,
      ],
    );
  });

  test("an upgrade through a step without a down script passes", () => {
    assert.deepEqual(
      checkDowngradeInputs({ ...migration(), fromRevision: "0002", revision: "0004" }),
      [],
    );
  });

  test("tools that keep no .down.sql files are not judged", () => {
    const alembic = { ...migration(), tool: "alembic", fromRevision: "0003", revision: "0002" };
    assert.deepEqual(checkDowngradeInputs(alembic), []);
  });

  test("a downgrade whose migrations directory does not exist is refused", () => {
    const missing = join(dir, "nowhere");
    assert.deepEqual(checkDowngradeInputs({ ...migration(), migrationsDir: missing }), [
      `The Migration goes down from "0002" to "0001" but its down scripts cannot be checked: ` +
        `migrations directory ${JSON.stringify(missing)} does not exist; ${RESTORE_INSTEAD}`,
    ]);
  });

  test("a downgrade naming no migrations directory is refused", () => {
    assert.deepEqual(checkDowngradeInputs({ ...migration(), migrationsDir: "" }), [
      `The Migration goes down from "0002" to "0001" but names no migrationsDir, so its down ` +
        `scripts cannot be checked; ${RESTORE_INSTEAD}`,
    ]);
  });

  test("a relative migrations directory is read from the project root", () => {
    const relative = { ...migration(), migrationsDir: basename(dir), fromRevision: "0003" };
    assert.deepEqual(checkDowngradeInputs(relative, dirname(dir)), [
      `The Migration goes down from "0003" to "0001" through a step without a down script ` +
        `(no 0003_drop_legacy.down.sql in ${JSON.stringify(dir)}); ${RESTORE_INSTEAD}`,
    ]);
  });

  test("unknown inputs (preview) are not judged", () => {
    const irreversible = { ...migration(), fromRevision: "0003", revision: "0002" };
    assert.deepEqual(checkDowngradeInputs({ ...irreversible, migrationsDir: UNKNOWN }), []);
    assert.deepEqual(checkDowngradeInputs({ ...irreversible, fromRevision: UNKNOWN }), []);
    assert.deepEqual(checkDowngradeInputs({ ...irreversible, tool: UNKNOWN }), []);
  });
});

describe("irreversible-downgrade-requires-restore: a Restore in the stack", () => {
  const URN =
    "urn:pulumi:dev::rewind::rewind:index:Release$" + Migration.__pulumiType + "::r-migration";
  const irreversible = (): StackResource => ({
    type: Migration.__pulumiType,
    name: "r-migration",
    urn: URN,
    props: { ...migration(), fromRevision: "0003", revision: "0002" },
    dependencies: [],
    propertyDependencies: {},
  });
  const restore = (snapshotId: unknown): StackResource => ({
    type: Restore.__pulumiType,
    name: "r-restore",
    urn: "urn:pulumi:dev::rewind::rewind:index:Release$" + Restore.__pulumiType + "::r-restore",
    props: { snapshotId },
    dependencies: [],
    propertyDependencies: {},
  });
  const refused = () => [
    {
      urn: URN,
      message:
        `Migration "r-migration" ${throughDropLegacy()}, and this stack pins no Restore; pin a ` +
        `snapshot to restore instead (rewind:restore.snapshot).`,
    },
  ];

  test("an irreversible downgrade in a stack that pins a Restore passes", () => {
    assert.deepEqual(checkDowngradeStack([restore("snap-1"), irreversible()]), []);
  });

  test("an irreversible downgrade in a stack without a Restore is refused", () => {
    assert.deepEqual(checkDowngradeStack([irreversible()]), refused());
  });

  test("a Restore naming no snapshot pins nothing", () => {
    assert.deepEqual(checkDowngradeStack([restore(""), irreversible()]), refused());
  });

  test("a Restore whose snapshot is unknown (preview) counts as pinned", () => {
    assert.deepEqual(checkDowngradeStack([restore(UNKNOWN), irreversible()]), []);
  });

  test("a reversible downgrade needs no Restore", () => {
    const reversible = { ...irreversible(), props: migration() };
    assert.deepEqual(checkDowngradeStack([reversible]), []);
  });
});
