// The `alembic` migration tool on the real engine: Debian's Alembic in the hunter-alembic image
// (examples/hunter-alembic, built by scripts/images), run as a one-off container against the
// real PostgreSQL, each test on a database of its own. Asserts what an operator would check:
// the columns, the rows, Alembic's own alembic_version, and Rewind's revision record; and, last,
// a whole release through the program (index.ts) with the tool set to alembic.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { readDatabaseRevision } from "../../adapters/postgres";
import { resolveDigest } from "../../adapters/registry";
import { runCommandStep } from "../../adapters/commandContainer";
import { MigrationInputs, migrate, migrationHandler } from "../../provider/migration";
import { readManifest } from "../../adapters/backupStore";
import { sql, withDatabase } from "./postgres";
import { repoRoot, requireToolchainEnv, timed, uniqueStackName } from "./workspace";

const REPOSITORY = `${process.env.REWIND_REGISTRY ?? "127.0.0.1:5000"}/hunter-alembic`;
// ALEMBIC_VERSION in scripts/images.
const VERSION = "1.0.0";
// Where the image keeps the project (examples/hunter-alembic/Dockerfile).
const PROJECT = "/srv/hunter-alembic";

// The image as a release pins it: by digest, resolved once.
let pinned: Promise<string> | undefined;
function image(): Promise<string> {
  pinned ??= resolveDigest(REPOSITORY, VERSION).then((digest) => `${REPOSITORY}@${digest}`);
  return pinned;
}

async function inputs(url: string, database: string): Promise<MigrationInputs> {
  return {
    databaseUrl: url,
    database,
    tool: "alembic",
    migrationsDir: "",
    fromRevision: "base",
    revision: "base",
    // The snapshot guard is BackupSnapshot's business (database.test.ts); trusted as given here.
    snapshotId: "taken-by-the-test",
    snapshotDatabase: "",
    snapshotRevision: "",
    storePath: "",
    lockTimeoutSeconds: 5,
    image: await image(),
    commandUp: [],
    commandDown: [],
    revisions: ["0001", "0002", "0003"],
    env: {},
    dockerHost: "",
    alembicDir: "",
    alembicConfig: "",
  };
}

async function columnsOfItems(url: string): Promise<string[]> {
  const rows = await sql<{ column_name: string }>(
    url,
    `SELECT column_name FROM information_schema.columns
      WHERE table_name = 'items' ORDER BY ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}

/** What alembic_version holds: one row per head, none after a downgrade to base. */
async function alembicVersion(url: string): Promise<string[]> {
  const rows = await sql<{ version_num: string }>(
    url,
    "SELECT version_num FROM alembic_version ORDER BY version_num",
  );
  return rows.map((r) => r.version_num);
}

async function rewindHistory(
  url: string,
): Promise<{ revision: string; from_revision: string; direction: string; step: string }[]> {
  return sql(
    url,
    "SELECT revision, from_revision, direction, step FROM rewind_schema_version ORDER BY id",
  );
}

test("alembic migrates base -> 0002 in the app image, then down to 0001", async () => {
  await withDatabase(async (url, database) => {
    const base = { ...(await inputs(url, database)), revision: "0002" };
    // The image's working directory holds alembic.ini: no dir, no config.
    const up = await timed("alembic upgrade 0002", () => migrate(base));
    assert.equal(up.revision, "0002");
    assert.deepEqual(up.appliedSteps, [JSON.stringify(["alembic", "upgrade", "0002"])]);
    assert.deepEqual(await columnsOfItems(url), ["id", "name", "slug"]);
    assert.deepEqual(await sql(url, "SELECT name, slug FROM items ORDER BY id"), [
      { name: "alpha", slug: "alpha" },
      { name: "beta", slug: "beta" },
      { name: "gamma", slug: "gamma" },
    ]);
    assert.deepEqual(await alembicVersion(url), ["0002"]);
    assert.equal(await readDatabaseRevision(url), "0002");

    // From another directory, with -c: both keys reach the container.
    const down = await timed("alembic downgrade 0001", () =>
      migrate({
        ...base,
        fromRevision: "0002",
        revision: "0001",
        alembicDir: "/tmp",
        alembicConfig: `${PROJECT}/alembic.ini`,
      }),
    );
    assert.equal(down.revision, "0001");
    assert.deepEqual(down.appliedSteps, [
      JSON.stringify(["alembic", "-c", `${PROJECT}/alembic.ini`, "downgrade", "0001"]),
    ]);
    assert.deepEqual(await columnsOfItems(url), ["id", "name"]);
    assert.equal((await sql(url, "SELECT count(*)::int AS n FROM items"))[0].n, 3);
    assert.deepEqual(await alembicVersion(url), ["0001"]);
    assert.equal(await readDatabaseRevision(url), "0001");
    assert.deepEqual(await rewindHistory(url), [
      { revision: "0002", from_revision: "base", direction: "up", step: "alembic upgrade 0002" },
      {
        revision: "0001",
        from_revision: "0002",
        direction: "down",
        step: `alembic -c ${PROJECT}/alembic.ini downgrade 0001`,
      },
    ]);

    // Pinned again at what it is: nothing runs.
    const again = await migrate({ ...base, fromRevision: "0001", revision: "0001" });
    assert.deepEqual(again, { revision: "0001", appliedSteps: [] });
  });
});

test("a failing alembic revision leaves the database at the last good one, naming the command", async () => {
  await withDatabase(async (url, database) => {
    const base = await inputs(url, database);
    await migrate({ ...base, revision: "0001" });

    // 0002 commits, 0003 adds a column and raises: its transaction rolls back alone.
    await timed("alembic upgrade 0003 (fails)", () =>
      assert.rejects(
        migrate({ ...base, fromRevision: "0001", revision: "0003" }),
        (error: Error) => {
          assert.match(
            error.message,
            /^alembic migration 0001 -> 0003 failed: \["alembic","upgrade","0003"\] exited with 1\. The revisions up to 0002 were committed before the failure: the database is at revision 0002, which Rewind recorded \(alembic_version\)\. Alembic's output \(its last 20 lines\):\n/,
          );
          assert.match(
            error.message,
            /RuntimeError: 0003_always_fails: this revision fails on purpose/,
          );
          return true;
        },
      ),
    );
    assert.deepEqual(await columnsOfItems(url), ["id", "name", "slug"]);
    assert.deepEqual(await alembicVersion(url), ["0002"]);
    assert.equal(await readDatabaseRevision(url), "0002");
    assert.deepEqual(
      (await rewindHistory(url)).map((r) => [r.from_revision, r.revision, r.direction, r.step]),
      [
        ["base", "0001", "up", "alembic upgrade 0001"],
        ["0001", "0002", "up", "alembic upgrade 0003"],
      ],
    );

    // Straight from 0002, nothing commits: the database stays where it was, unrecorded.
    await assert.rejects(
      migrate({ ...base, fromRevision: "0002", revision: "0003" }),
      /^UserError: alembic migration 0002 -> 0003 failed: \["alembic","upgrade","0003"\] exited with 1\. The database stays at revision 0002 \(alembic_version\)\./,
    );
    assert.deepEqual(await columnsOfItems(url), ["id", "name", "slug"]);
    assert.deepEqual(await alembicVersion(url), ["0002"]);
    assert.equal((await rewindHistory(url)).length, 2);
  });
});

test("alembic runs in the configured dir: one without alembic.ini fails and changes nothing", async () => {
  await withDatabase(async (url, database) => {
    const base = await inputs(url, database);
    await assert.rejects(
      migrate({ ...base, revision: "0001", alembicDir: "/tmp" }),
      /^UserError: alembic migration base -> 0001 failed: \["alembic","upgrade","0001"\] exited with \d+\. The database stays at revision base \(alembic_version\)\. Alembic's output \(its last 20 lines\):\n.*No config file 'alembic\.ini' found/s,
    );
    assert.deepEqual(
      await sql(
        url,
        "SELECT to_regclass('items') IS NULL AS absent, to_regclass('alembic_version') IS NULL AS none",
      ),
      [{ absent: true, none: true }],
    );
    assert.equal(await readDatabaseRevision(url), "base");
  });
});

test("refresh reads alembic_version: an alembic downgrade run by hand shows as drift", async () => {
  await withDatabase(async (url, database) => {
    const base = { ...(await inputs(url, database)), revision: "0002" };
    const created = await migrationHandler.create!(base);
    const outs = created.outs!;
    assert.equal(outs.revision, "0002");
    // Someone runs the team's own command outside Rewind.
    await runCommandStep({
      image: base.image,
      argv: ["alembic", "downgrade", "0001"],
      env: { DATABASE_URL: url },
      what: "a downgrade by hand",
    });
    const read = await migrationHandler.read!(created.id, outs);
    assert.equal(read.props?.revision, "0001");
    // Rewind's own record still says 0002: refresh reports what Alembic says.
    assert.equal(await readDatabaseRevision(url), "0002");
    const diff = await migrationHandler.diff!(created.id, read.props!, base);
    assert.equal(diff.changes, true);
    // Pinned again at 0002, the next update migrates back up from what Alembic reports.
    const fixed = await migrate({ ...base, fromRevision: "0001" });
    assert.equal(fixed.revision, "0002");
    assert.deepEqual(await columnsOfItems(url), ["id", "name", "slug"]);
  });
});

test("a release through the program with the alembic tool: up, down, and a failed revision", async () => {
  requireToolchainEnv();
  const quiet = { onOutput: () => undefined };
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-alembic-store-"));
  const port = await freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const get = async (route: string) => (await fetch(`${appUrl}${route}`)).json();
  try {
    await withDatabase(async (url) => {
      const stack = await LocalWorkspace.createStack({
        stackName: uniqueStackName("it-alembic"),
        workDir: repoRoot,
      });
      const pin = (revision: string) =>
        stack.setConfig("rewind:database.revision", { value: revision }, true);
      try {
        await stack.setAllConfig(
          {
            "rewind:app.name": { value: "hunter-alembic" },
            "rewind:app.image": { value: REPOSITORY },
            "rewind:app.version": { value: VERSION },
            "rewind:app.port": { value: String(port) },
            "rewind:app.health.timeoutSeconds": { value: "15" },
            "rewind:database.url": { value: url, secret: true },
            "rewind:database.migrations.tool": { value: "alembic" },
            "rewind:database.migrations.revisions[0]": { value: "0001" },
            "rewind:database.migrations.revisions[1]": { value: "0002" },
            "rewind:database.migrations.revisions[2]": { value: "0003" },
            "rewind:backup.store.kind": { value: "fs" },
            "rewind:backup.store.path": { value: store },
          },
          true,
        );

        await pin("0001");
        const first = await timed("release at 0001", () => stack.up(quiet));
        assert.equal(first.outputs.revision.value, "0001");
        assert.deepEqual(await get("/version"), { version: VERSION });
        assert.deepEqual(await alembicVersion(url), ["0001"]);
        assert.equal(await readDatabaseRevision(url), "0001");
        assert.equal(((await get("/items")) as unknown[]).length, 3);

        await pin("0002");
        const up = await timed("release 0001 -> 0002", () => stack.up(quiet));
        assert.equal(up.outputs.direction.value, "upgrade");
        assert.equal(up.outputs.revision.value, "0002");
        assert.equal(readManifest(store, up.outputs.snapshotId.value).revision, "0001");
        assert.deepEqual(await alembicVersion(url), ["0002"]);
        assert.deepEqual(await columnsOfItems(url), ["id", "name", "slug"]);
        assert.deepEqual((await get("/items")) as unknown[], [
          { id: 1, name: "alpha", slug: "alpha" },
          { id: 2, name: "beta", slug: "beta" },
          { id: 3, name: "gamma", slug: "gamma" },
        ]);

        await pin("0001");
        const down = await timed("release 0002 -> 0001", () => stack.up(quiet));
        assert.equal(down.outputs.direction.value, "downgrade");
        assert.equal(down.outputs.revision.value, "0001");
        assert.deepEqual(await alembicVersion(url), ["0001"]);
        assert.equal(await readDatabaseRevision(url), "0001");
        assert.deepEqual(await columnsOfItems(url), ["id", "name"]);

        // 0002 commits, 0003 raises: the update fails naming the command, at the last good one.
        await pin("0003");
        let output = "";
        await assert.rejects(
          timed("release 0001 -> 0003 (fails)", () =>
            stack.up({ onOutput: (text) => (output += text) }),
          ),
        );
        assert.match(
          output,
          /alembic migration 0001 -> 0003 failed: \["alembic","upgrade","0003"\] exited with 1\. The revisions up to 0002 were committed before the failure/,
        );
        assert.match(output, /RuntimeError: 0003_always_fails/);
        assert.deepEqual(await alembicVersion(url), ["0002"]);
        assert.equal(await readDatabaseRevision(url), "0002");
        assert.deepEqual(await get("/version"), { version: VERSION });
      } finally {
        await stack.destroy(quiet);
        await stack.workspace.removeStack(stack.name);
      }
    });
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
});
