// Migration under Pulumi's mocks: what it registers (type, name, inputs with their documented
// defaults) and which outputs it declares; and its provider's `check`, which refuses bad inputs
// at preview, before anything runs, with the message the user reads.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { MIGRATION_DEFAULTS } from "./migrationDefaults";
import { recordOptions, recordingMocks, secret, value, typedInputs } from "./mocks";

const TYPE = "rewind:index:Migration";
const URL = "postgres://rewind:pw@127.0.0.1:5432/hunter";

const registrations = recordingMocks({
  // The provider reads the revision back from the database; here it reports one of its own, so
  // the test tells the output from the input.
  [TYPE]: (inputs) => ({
    id: "hunter-mh1x",
    state: { ...inputs, revision: "0002-read-back", appliedSteps: ["0002_add_slug.up.sql"] },
  }),
});

/* eslint-disable @typescript-eslint/no-require-imports */
const { Migration } =
  require("../../components/migration") as typeof import("../../components/migration");
const { migrationHandler } =
  require("../../provider/migration") as typeof import("../../provider/migration");
/* eslint-enable @typescript-eslint/no-require-imports */
type MigrationInputs = import("../../provider/migration").MigrationInputs;

const REQUIRED = {
  databaseUrl: URL,
  database: "hunter",
  tool: "sql" as const,
  migrationsDir: "/srv/hunter/migrations",
  fromRevision: "0001",
  revision: "0002",
};

describe("Migration", () => {
  test("the required inputs as given, every optional one at its documented default", async () => {
    registrations.length = 0;
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const migration = new Migration("hunter-migration", REQUIRED, recordOptions(options));
    await value(migration.revision);
    assert.deepEqual(
      registrations.map((r) => [r.type, r.name]),
      [[TYPE, "hunter-migration"]],
    );
    assert.deepEqual(typedInputs(registrations[0]), {
      ...REQUIRED,
      snapshotId: "",
      snapshotDatabase: "",
      snapshotRevision: "",
      storePath: "",
      ...MIGRATION_DEFAULTS,
    });
    assert.deepEqual(options.get("hunter-migration")!.additionalSecretOutputs, [
      "databaseUrl",
      "env",
    ]);
  });

  test("every input given is passed through as given, secrets still secret", async () => {
    registrations.length = 0;
    const options = new Map<string, pulumi.CustomResourceOptions>();
    const given = {
      database: "hunter",
      tool: "alembic" as const,
      migrationsDir: "",
      fromRevision: "ae1027a6acf",
      snapshotDatabase: "hunter",
      snapshotRevision: "ae1027a6acf",
      storePath: "/srv/backups",
      lockTimeoutSeconds: 5,
      image: `127.0.0.1:5000/hunter-alembic@sha256:${"e".repeat(64)}`,
      commandUp: ["./migrate", "up"],
      commandDown: ["./migrate", "down"],
      revisions: ["ae1027a6acf", "27c6a30d7c24"],
      dockerHost: "unix:///run/docker.sock",
      alembicDir: "/app",
      alembicConfig: "/app/alembic.ini",
      runner: "kubernetes-job" as const,
    };
    const migration = new Migration(
      "alembic",
      {
        ...given,
        databaseUrl: pulumi.secret(URL),
        revision: pulumi.output("27c6a30d7c24"),
        snapshotId: pulumi.output("20261126T010203Z-hunter-ae1027a6acf-3f9a"),
        env: pulumi.secret({ PGAPPNAME: "rewind" }),
      },
      { ...recordOptions(options), additionalSecretOutputs: ["image"] },
    );
    await value(migration.revision);
    assert.deepEqual(typedInputs(registrations[0]), {
      ...given,
      databaseUrl: secret(URL),
      revision: "27c6a30d7c24",
      snapshotId: "20261126T010203Z-hunter-ae1027a6acf-3f9a",
      env: secret({ PGAPPNAME: "rewind" }),
    });
    assert.deepEqual(options.get("alembic")!.additionalSecretOutputs, [
      "image",
      "databaseUrl",
      "env",
    ]);
  });

  test("declares every output the provider returns; revision is the one read back", async () => {
    registrations.length = 0;
    const migration = new Migration("outputs", { ...REQUIRED, snapshotId: "snap-1" });
    assert.deepEqual(
      {
        id: await value(migration.id),
        revision: await value(migration.revision),
        appliedSteps: await value(migration.appliedSteps),
        database: await value(migration.database),
        fromRevision: await value(migration.fromRevision),
        snapshotId: await value(migration.snapshotId),
      },
      {
        id: "hunter-mh1x",
        revision: "0002-read-back",
        appliedSteps: ["0002_add_slug.up.sql"],
        database: "hunter",
        fromRevision: "0001",
        snapshotId: "snap-1",
      },
    );
  });

  test("bad plain arguments of the sql tool fail before anything is registered, each named", () => {
    registrations.length = 0;
    assert.throws(
      () =>
        new Migration("bad", {
          ...REQUIRED,
          database: "",
          migrationsDir: "",
          fromRevision: "0000",
          revision: "2",
          snapshotId: "../elsewhere",
          storePath: "backups",
          lockTimeoutSeconds: 0,
          alembicDir: "app",
        }),
      (err: Error) => {
        assert.equal(err.name, "UserError");
        assert.deepEqual(err.message.split("\n"), [
          `Migration "bad": database is ""; allowed: the database's name, as in the URL`,
          `Migration "bad": migrationsDir is ""; allowed: the directory of the ` +
            `NNNN_name.up.sql / .down.sql files`,
          `Migration "bad": fromRevision is "0000"; allowed: "base" or four digits from ` +
            `"0001" to "9999" (the sql tool's numbering)`,
          `Migration "bad": revision is "2"; allowed: "base" or four digits from "0001" to ` +
            `"9999" (the sql tool's numbering)`,
          `Migration "bad": snapshotId is "../elsewhere"; allowed: "" (no snapshot) or a ` +
            `snapshot id from the backup store (letters, digits, ".", "_" and "-", starting ` +
            `with a letter or digit), e.g. "20261126T005230Z-hunter-0001-b09dc0"`,
          `Migration "bad": storePath is "backups"; allowed: "" (no store) or an absolute ` +
            `path: the backup store's directory`,
          `Migration "bad": lockTimeoutSeconds is 0; allowed: an integer number of seconds, ` +
            `at least 1`,
          `Migration "bad": alembicDir is "app"; allowed: "" (the image's working directory) ` +
            `or an absolute directory inside the image`,
        ]);
        return true;
      },
    );
    assert.deepEqual(registrations, []);
  });

  test("an unknown tool is refused, naming the tools", () => {
    assert.throws(
      () => new Migration("flyway", { ...REQUIRED, tool: "flyway" as unknown as "sql" }),
      {
        name: "UserError",
        message: `Migration "flyway": tool is "flyway"; allowed: "sql", "alembic" or "command"`,
      },
    );
  });

  test("alembic: the pinned revision must be base or in the revisions, which must be given", () => {
    registrations.length = 0;
    const alembic = { ...REQUIRED, tool: "alembic" as const, migrationsDir: "" };
    assert.throws(
      () =>
        new Migration("head", {
          ...alembic,
          fromRevision: "ae1027a6acf",
          revision: "head",
          revisions: ["ae1027a6acf", "27c6a30d7c24"],
        }),
      {
        name: "UserError",
        message:
          `Migration "head": revision is "head"; allowed: "base" or one of revisions ` +
          `(ae1027a6acf, 27c6a30d7c24)`,
      },
    );
    assert.throws(() => new Migration("none", { ...alembic, revision: "ae1027a6acf" }), {
      name: "UserError",
      message:
        `Migration "none": revisions is []; allowed: every revision id, oldest first: the ` +
        `alembic tool's ids carry no order`,
    });
    assert.deepEqual(registrations, []);
  });

  test("values given as Outputs are left to the provider", async () => {
    registrations.length = 0;
    const migration = new Migration("later", {
      ...REQUIRED,
      revision: pulumi.output("2"),
      snapshotId: pulumi.output("../elsewhere"),
      storePath: pulumi.output("backups"),
      lockTimeoutSeconds: pulumi.output(0),
    });
    await value(migration.revision);
    assert.deepEqual(
      registrations.map((r) => r.name),
      ["later"],
    );
  });
});

describe("Migration's check (preview, before anything runs)", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-migration-check-"));
    for (const file of ["0001_items.up.sql", "0001_items.down.sql", "0002_slug.up.sql"]) {
      fs.writeFileSync(path.join(dir, file), "SELECT 1;\n");
    }
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function inputs(overrides: Partial<MigrationInputs>): MigrationInputs {
    return {
      ...REQUIRED,
      migrationsDir: dir,
      snapshotId: "20261126T010203Z-hunter-0001-3f9a",
      snapshotDatabase: "hunter",
      snapshotRevision: "0001",
      storePath: "/srv/backups",
      ...MIGRATION_DEFAULTS,
      ...overrides,
    };
  }

  async function check(news: MigrationInputs) {
    return migrationHandler.check!(undefined as unknown as MigrationInputs, news);
  }

  test("good inputs pass unchanged", async () => {
    const news = inputs({});
    assert.deepEqual(await check(news), { inputs: news, failures: [] });
  });

  test("a revision change without a snapshot is refused, naming the fix", async () => {
    const { failures } = await check(inputs({ snapshotId: "" }));
    assert.deepEqual(failures, [
      {
        property: "snapshotId",
        reason:
          `migrating database "hunter" from 0001 to 0002 needs a verified BackupSnapshot of ` +
          `that database taken at 0001, and snapshotId is empty. Keep ` +
          `rewind:backup.beforeMigration true (the Release then takes one first). ` +
          `Nothing was changed.`,
      },
    ]);
  });

  test("no snapshot is needed when the revision stays", async () => {
    const { failures } = await check(inputs({ fromRevision: "0002", snapshotId: "" }));
    assert.deepEqual(failures, []);
  });

  test("a revision the migrations directory does not have is refused, listing those it has", async () => {
    const { failures } = await check(inputs({ revision: "0007" }));
    assert.deepEqual(failures, [
      {
        property: "revision",
        reason:
          `revision "0007" is not in the migrations directory ${dir}; known revisions: ` +
          `base, 0001, 0002. Pin one of them in rewind:database.revision. Nothing was changed.`,
      },
    ]);
  });

  test("a missing migrations directory is refused, naming it", async () => {
    const missing = path.join(dir, "absent");
    const { failures } = await check(inputs({ migrationsDir: missing }));
    assert.deepEqual(failures, [
      { property: "migrationsDir", reason: `migrations directory "${missing}" does not exist` },
    ]);
  });

  test("values unknown during preview are not judged", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const { failures } = await check(
      inputs({ snapshotId: unknown, revision: unknown, migrationsDir: unknown }),
    );
    assert.deepEqual(failures, []);
  });
});
