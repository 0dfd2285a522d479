// BackupSnapshot, Migration and Restore on the real engine against the real PostgreSQL (and the
// real Docker Engine for the restore's maintenance stop), each test on a database of its own.
// Asserts what an operator would check: the revision, the rows and their checksum, the files in
// the backup store, and that refused operations left everything as it was.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { Client } from "pg";
import Docker from "dockerode";
import { Stack, UpResult } from "@pulumi/pulumi/automation";
import { MIGRATION_LOCK_KEY, readDatabaseRevision } from "../../adapters/postgres";
import { restoreDatabase } from "../../adapters/pgTools";
import { listSnapshots } from "../../adapters/backupStore";
import { SnapshotManifest } from "../../domain/snapshotManifest";
import { MigrationInputs, migrate } from "../../provider/migration";
import { adminUrl, columnsOfItems, itemsChecksum, sql, withDatabase } from "./postgres";
import { repoRoot, timed, withStack } from "./workspace";

const project = path.join(repoRoot, "test", "fixtures", "database");
const migrationsDir = path.join(repoRoot, "examples", "hunter", "migrations");
const NODE_IMAGE = "rewind/node-base:20.20.2";

type Settings = Record<string, string | undefined>;

async function configure(stack: Stack, settings: Settings): Promise<void> {
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) {
      await stack.removeConfig(`rewind-database-test:${key}`);
    } else {
      await stack.setConfig(`rewind-database-test:${key}`, {
        value,
        secret: key === "url",
      });
    }
  }
}

const quiet = { onOutput: () => undefined };

async function up(stack: Stack): Promise<UpResult> {
  const result = await stack.up(quiet);
  assert.equal(result.summary.result, "succeeded");
  return result;
}

/** Runs `pulumi up`, expects it to fail, and returns everything it printed. */
async function upFails(stack: Stack): Promise<string> {
  let output = "";
  try {
    await stack.up({ onOutput: (s) => (output += s) });
  } catch (error) {
    return `${(error as Error).message}\n${output}`;
  }
  assert.fail(`pulumi up succeeded but should have failed:\n${output}`);
}

/** The stack's state file as the file backend stores it (secrets encrypted). */
function rawState(stack: Stack): string {
  const backend = new URL(process.env.PULUMI_BACKEND_URL ?? "");
  assert.equal(backend.protocol, "file:", "these tests run on the file backend");
  const file = path.join(
    backend.pathname,
    ".pulumi",
    "stacks",
    "rewind-database-test",
    `${stack.name}.json`,
  );
  return fs.readFileSync(file, "utf8");
}

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function manifestsOf(store: string): readonly SnapshotManifest[] {
  return listSnapshots(store).snapshots;
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

test("migrations: up with a verified snapshot first, down keeping rows, drift, refusals", async () => {
  const store = tempDir("rewind-store-");
  try {
    await withDatabase((url, database) =>
      withStack(project, "database", async (stack) => {
        await configure(stack, {
          url,
          database,
          storePath: store,
          migrationsDir,
          revision: "0001",
          lockTimeoutSeconds: "2",
          // Retention prunes by count here (days 0): the store keeps the newest four.
          retain: JSON.stringify({ days: 0, keepAtLeast: 4 }),
        });

        // base -> 0001, with a snapshot of the empty database first.
        const first = await timed("up base->0001", () => up(stack));
        assert.equal(first.outputs.revision.value, "0001");
        assert.deepEqual(first.outputs.appliedSteps.value, ["0001_create_items.up.sql"]);
        assert.match(
          first.outputs.snapshotId.value,
          new RegExp(`^\\d{8}T\\d{6}Z-${database}-base-`),
        );
        assert.equal((await itemsChecksum(url)).count, 100);

        // 0001 -> 0002: the snapshot at 0001 is in the store, private, checksummed.
        const atOne = await itemsChecksum(url);
        await configure(stack, { revision: "0002" });
        const second = await timed("up 0001->0002", () => up(stack));
        assert.equal(second.outputs.revision.value, "0002");
        assert.deepEqual(second.outputs.appliedSteps.value, ["0002_add_slug.up.sql"]);
        assert.equal(second.outputs.snapshotVerified.value, true);
        const id = second.outputs.snapshotId.value as string;
        const dir = path.join(store, id);
        assert.deepEqual(fs.readdirSync(dir).sort(), ["database.dump", "manifest.json"]);
        assert.equal(fs.statSync(store).mode & 0o777, 0o700);
        assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
        for (const file of ["database.dump", "manifest.json"]) {
          assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
        }
        const manifest = JSON.parse(
          fs.readFileSync(path.join(dir, "manifest.json"), "utf8"),
        ) as SnapshotManifest;
        const dumpSha = sha256(path.join(dir, "database.dump"));
        const dumpSize = fs.statSync(path.join(dir, "database.dump")).size;
        assert.deepEqual(
          { ...manifest, takenAt: undefined },
          {
            format: "rewind-snapshot/1",
            id,
            database,
            revision: "0001",
            appVersion: "1.0.0",
            takenAt: undefined,
            reason: "migrate 0001->0002",
            items: [
              {
                item: "database",
                file: "database.dump",
                format: "pg_dump-custom",
                sha256: dumpSha,
                size: dumpSize,
              },
            ],
            sha256: createHash("sha256").update(`${dumpSha}  database.dump\n`).digest("hex"),
            size: dumpSize,
            // The write counters a restore's data-loss estimate compares with (issue 11).
            writes: manifest.writes,
          },
        );
        assert.equal(manifest.writes?.tables["public.items"], 100);
        assert.equal(second.outputs.snapshotSha256.value, manifest.sha256);
        assert.ok(Math.abs(Date.parse(manifest.takenAt) - Date.now()) < 120_000);
        assert.equal(
          fs.readFileSync(path.join(dir, "database.dump")).subarray(0, 5).toString(),
          "PGDMP",
        );
        assert.deepEqual(await columnsOfItems(url), ["id", "name", "legacy_code", "slug"]);
        assert.equal((await itemsChecksum(url)).count, atOne.count);

        // The state on disk holds the URL only encrypted.
        const password = decodeURIComponent(new URL(url).password);
        assert.ok(!rawState(stack).includes(password), "the password is not in the state file");

        // 0002 -> 0001 down: the column goes, every row stays as it was at 0001.
        await configure(stack, { revision: "0001" });
        const down = await timed("up 0002->0001 (down)", () => up(stack));
        assert.equal(down.outputs.revision.value, "0001");
        assert.deepEqual(down.outputs.appliedSteps.value, ["0002_add_slug.down.sql"]);
        assert.deepEqual(await columnsOfItems(url), ["id", "name", "legacy_code"]);
        assert.deepEqual(await itemsChecksum(url), atOne);
        const history = await sql<{ revision: string; from_revision: string; direction: string }>(
          url,
          "SELECT revision, from_revision, direction FROM rewind_schema_version ORDER BY id",
        );
        assert.deepEqual(
          history.map((h) => `${h.from_revision}->${h.revision} ${h.direction}`),
          ["base->0001 up", "0001->0002 up", "0002->0001 down"],
        );

        // Someone migrates by hand (script + version row, as a migration tool would): refresh
        // shows the drift, preview shows the way back, up converges to the pin again.
        const client = new Client({ connectionString: url });
        await client.connect();
        try {
          await client.query("BEGIN");
          await client.query(
            fs.readFileSync(path.join(migrationsDir, "0002_add_slug.up.sql"), "utf8"),
          );
          await client.query(
            `INSERT INTO rewind_schema_version (revision, from_revision, direction, step)
             VALUES ('0002', '0001', 'up', 'by hand')`,
          );
          await client.query("COMMIT");
        } finally {
          await client.end();
        }
        const refresh = await timed("refresh (drift)", () => stack.refresh(quiet));
        assert.equal(refresh.summary.resourceChanges?.update, 1);
        const state = (await stack.exportStack()).deployment as {
          resources: { type: string; outputs?: { revision?: string } }[];
        };
        const migration = state.resources.find((r) => r.type === "rewind:index:Migration");
        assert.equal(migration?.outputs?.revision, "0002", "the state shows the hand-run 0002");
        const preview = await stack.preview(quiet);
        assert.equal(preview.changeSummary.update, 1, "the Migration goes back to the pin");
        assert.equal(preview.changeSummary.replace, 1, "after a fresh snapshot at 0002");
        const converged = await timed("up (converge after drift)", () => up(stack));
        assert.equal(converged.outputs.revision.value, "0001");
        assert.deepEqual(converged.outputs.appliedSteps.value, ["0002_add_slug.down.sql"]);

        // An unknown revision is refused, naming the known ones; nothing changes.
        const beforeUnknown = await itemsChecksum(url);
        await configure(stack, { revision: "0009" });
        const unknown = await timed("up to unknown revision", () => upFails(stack));
        assert.match(
          unknown,
          /revision "0009" is not in the migrations directory \S+; known revisions: base, 0001, 0002, 0003/,
        );
        assert.equal(await readDatabaseRevision(url), "0001");
        assert.deepEqual(await itemsChecksum(url), beforeUnknown);

        // Another migration holds the lock: refused after the timeout, naming it.
        const holder = new Client({ connectionString: url, application_name: "hand-migration" });
        await holder.connect();
        try {
          await holder.query("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
          await configure(stack, { revision: "0002" });
          const locked = await timed("up while locked", () => upFails(stack));
          assert.match(locked, /another migration is running on database "rewind_db_\w+"/);
          assert.match(locked, /held by PostgreSQL backend pid \d+ \(hand-migration\)/);
          assert.match(locked, /not released within 2s/);
          assert.equal(await readDatabaseRevision(url), "0001");
        } finally {
          await holder.end();
        }

        // Up to 0003 (irreversible), then back to 0002 is refused before anything is touched,
        // naming the newest verified snapshot taken at 0002.
        await configure(stack, { revision: "0003" });
        const third = await timed("up 0001->0003", () => up(stack));
        assert.deepEqual(third.outputs.appliedSteps.value, [
          "0002_add_slug.up.sql",
          "0003_drop_legacy.up.sql",
        ]);
        const atThree = await itemsChecksum(url);
        const atTwo = manifestsOf(store).filter((m) => m.revision === "0002");
        assert.ok(atTwo.length > 0, "the drift convergence took a snapshot at 0002");
        await configure(stack, { revision: "0002" });
        const refused = await timed("up 0003->0002 (refused)", () => upFails(stack));
        assert.match(
          refused,
          /cannot migrate database "\w+" at [\d.]+:\d+ down from 0003 to 0002: step 0003 \(0003_drop_legacy\.up\.sql\) has no down script/,
        );
        assert.match(
          refused,
          new RegExp(
            `Restore snapshot ${atTwo[atTwo.length - 1].id} instead .*set rewind:restore\\.snapshot`,
          ),
        );
        assert.equal(await readDatabaseRevision(url), "0003");
        assert.deepEqual(await itemsChecksum(url), atThree);
        assert.deepEqual(await columnsOfItems(url), ["id", "name", "slug"]);

        // Retention ran after every snapshot: only the newest four are left, every one intact.
        const kept = manifestsOf(store);
        assert.equal(kept.length, 4);
        assert.ok(kept.some((m) => m.id === atTwo[atTwo.length - 1].id));
      }),
    );
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
});

/** A running container labelled as the service's app, so the Restore's stop/start is seen. */
async function withAppContainer<T>(
  service: string,
  body: (container: Docker.Container) => Promise<T>,
): Promise<T> {
  const docker = new Docker();
  const container = await docker.createContainer({
    Image: NODE_IMAGE,
    Cmd: ["node", "-e", "setInterval(() => {}, 1000)"],
    Labels: { "rewind.service": service, "rewind.role": "app" },
    // An init process passes SIGTERM on, so the stop takes milliseconds, not the 30s timeout.
    HostConfig: { NetworkMode: "none", Init: true },
  });
  try {
    await container.start();
    return await body(container);
  } finally {
    await container.remove({ force: true });
  }
}

async function startedAt(container: Docker.Container): Promise<{ running: boolean; at: string }> {
  const info = await container.inspect();
  return { running: info.State.Running, at: info.State.StartedAt };
}

// A migration set whose 0002 creates objects of every kind the snapshot at 0001 does not hold;
// a restore must remove them, or migrating up again fails on "already exists".
const TAGS_UP = `CREATE SCHEMA reporting;
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE tags (
  id serial PRIMARY KEY,
  item_id int NOT NULL REFERENCES items (id),
  tag text NOT NULL,
  feeling mood
);
CREATE VIEW reporting.tag_counts AS SELECT item_id, count(*) AS n FROM tags GROUP BY item_id;
CREATE FUNCTION tag_count(i int) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM tags WHERE item_id = i $$;
INSERT INTO tags (item_id, tag, feeling) SELECT id, 'seed', 'happy' FROM items WHERE id <= 10;
`;
const TAGS_DOWN = `DROP SCHEMA reporting CASCADE;
DROP FUNCTION tag_count(int);
DROP TABLE tags;
DROP TYPE mood;
`;

function tagsMigrations(): string {
  const dir = tempDir("rewind-migrations-");
  for (const file of ["0001_create_items.up.sql", "0001_create_items.down.sql"]) {
    fs.copyFileSync(path.join(migrationsDir, file), path.join(dir, file));
  }
  fs.writeFileSync(path.join(dir, "0002_tags.up.sql"), TAGS_UP);
  fs.writeFileSync(path.join(dir, "0002_tags.down.sql"), TAGS_DOWN);
  return dir;
}

/** Objects 0002_tags creates, as far as they exist. */
async function tagsObjects(url: string): Promise<string[]> {
  const rows = await sql<{ o: string | null }>(
    url,
    `SELECT unnest(ARRAY[to_regclass('public.tags')::text, to_regclass('public.tags_id_seq')::text,
            to_regnamespace('reporting')::text, to_regtype('public.mood')::text,
            to_regprocedure('public.tag_count(int)')::text]) AS o`,
  );
  return rows.map((r) => r.o).filter((o): o is string => o !== null);
}

test("restore: a pinned snapshot makes database and files equal to it, once", async () => {
  const store = tempDir("rewind-store-");
  const files = tempDir("rewind-files-");
  const migrations = tagsMigrations();
  const sessions = path.join(files, "sessions");
  fs.mkdirSync(sessions);
  fs.writeFileSync(path.join(sessions, "user_1"), "session one");
  const service = `dbtest-${randomBytes(3).toString("hex")}`;
  try {
    await withAppContainer(service, (container) =>
      withDatabase((url, database) =>
        withStack(project, "restore", async (stack) => {
          await configure(stack, {
            url,
            database,
            storePath: store,
            migrationsDir: migrations,
            revision: "0001",
            include: JSON.stringify(["database", `path:${sessions}`]),
          });
          await timed("up base->0001", () => up(stack));
          const atOne = await itemsChecksum(url);
          await configure(stack, { revision: "0002" });
          const second = await timed("up 0001->0002", () => up(stack));
          const id = second.outputs.snapshotId.value as string;
          const sessionsTar = path.join(
            store,
            id,
            "files",
            `path:${sessions.replace(/\//g, "%2F")}.tar`,
          );
          assert.equal(fs.statSync(sessionsTar).mode & 0o777, 0o600);
          assert.equal((await tagsObjects(url)).length, 5);

          // Life goes on after the snapshot: rows deleted and changed, sessions changed.
          await sql(url, "DELETE FROM tags");
          await sql(url, "DELETE FROM items WHERE id > 50");
          await sql(url, "UPDATE items SET name = 'changed' WHERE id < 10");
          fs.writeFileSync(path.join(sessions, "user_1"), "changed");
          fs.writeFileSync(path.join(sessions, "user_2"), "created after the snapshot");
          const before = await startedAt(container);

          await configure(stack, { restoreSnapshot: id, revision: "0001", service });
          const restored = await timed("up restore", () => up(stack));
          assert.equal(restored.outputs.restoredRevision.value, "0001");
          assert.equal(restored.outputs.restoredSha256.value, second.outputs.snapshotSha256.value);
          assert.equal(restored.outputs.revision.value, "0001");
          assert.equal(await readDatabaseRevision(url), "0001");
          assert.deepEqual(await itemsChecksum(url), atOne);
          assert.deepEqual(await columnsOfItems(url), ["id", "name", "legacy_code"]);
          assert.deepEqual(await tagsObjects(url), [], "what 0002 created is gone");
          assert.deepEqual(fs.readdirSync(sessions), ["user_1"]);
          assert.equal(fs.readFileSync(path.join(sessions, "user_1"), "utf8"), "session one");
          const after = await startedAt(container);
          assert.equal(after.running, true, "the app container runs again");
          assert.notEqual(after.at, before.at, "the app container was stopped and started");

          // The pin stays in the config: the next up must not restore again.
          await sql(url, "INSERT INTO items (name) VALUES ('written after the restore')");
          const again = await timed("up with the same pin", () => up(stack));
          assert.deepEqual(again.summary.resourceChanges, { same: 3 });
          assert.equal((await itemsChecksum(url)).count, atOne.count + 1);

          // Unpinned, the database migrates up again as if 0002 had never run.
          await configure(stack, { restoreSnapshot: undefined, revision: "0002" });
          const reapplied = await timed("up 0001->0002 after the restore", () => up(stack));
          assert.deepEqual(reapplied.outputs.appliedSteps.value, ["0002_tags.up.sql"]);
          assert.equal((await tagsObjects(url)).length, 5);
        }),
      ),
    );
  } finally {
    for (const dir of [store, files, migrations]) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("restore: a corrupted snapshot fails verification and touches nothing", async () => {
  const store = tempDir("rewind-store-");
  const service = `dbtest-${randomBytes(3).toString("hex")}`;
  try {
    await withAppContainer(service, (container) =>
      withDatabase((url, database) =>
        withStack(project, "corrupt", async (stack) => {
          await configure(stack, {
            url,
            database,
            storePath: store,
            migrationsDir,
            revision: "0001",
          });
          await timed("up base->0001", () => up(stack));
          await configure(stack, { revision: "0002" });
          const second = await timed("up 0001->0002", () => up(stack));
          const id = second.outputs.snapshotId.value as string;
          const dump = path.join(store, id, "database.dump");
          const bytes = fs.readFileSync(dump);
          bytes[Math.floor(bytes.length / 2)] ^= 0x01;
          fs.writeFileSync(dump, bytes);
          const before = await itemsChecksum(url);
          const container0 = await startedAt(container);

          await configure(stack, { restoreSnapshot: id, revision: "0001", service });
          const failed = await timed("up restore (corrupted)", () => upFails(stack));
          assert.match(
            failed,
            new RegExp(
              `snapshot "${id}" in \\S+ failed verification: database\\.dump has sha256 ` +
                `[0-9a-f]{64}, the manifest records [0-9a-f]{64}`,
            ),
          );
          // Refused by the Restore's check (issue 10), before anything is stopped or restored.
          assert.match(failed, /Nothing was restored or stopped|has a problem: snapshot/);
          assert.equal(await readDatabaseRevision(url), "0002");
          assert.deepEqual(await itemsChecksum(url), before);
          assert.deepEqual(await startedAt(container), container0, "the app was never stopped");
        }),
      ),
    );
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
});

test("an unreachable database fails with host:port and database, never the password", async () => {
  const store = tempDir("rewind-store-");
  try {
    const url = new URL(adminUrl());
    // A privileged port nothing here listens on: a freed ephemeral port may be taken meanwhile
    // by a replica of a test running beside this one.
    const port = 1;
    url.port = String(port);
    url.pathname = "/nowhere";
    const password = decodeURIComponent(url.password);
    await withStack(project, "unreachable", async (stack) => {
      await configure(stack, {
        url: url.toString(),
        database: "nowhere",
        storePath: store,
        migrationsDir,
        revision: "0001",
        // The program cannot read the revision either; the providers must say it clearly.
        fromRevision: "base",
      });
      const backup = await timed("up (unreachable, backup)", () => upFails(stack));
      assert.match(
        backup,
        new RegExp(
          `cannot connect to database "nowhere" at 127\\.0\\.0\\.1:${port}: connection refused`,
        ),
      );
      assert.ok(!backup.includes(password), "the password is never printed");

      await configure(stack, { fromRevision: "0001" });
      const migration = await timed("up (unreachable, migration)", () => upFails(stack));
      assert.match(
        migration,
        new RegExp(
          `cannot connect to database "nowhere" at 127\\.0\\.0\\.1:${port}: connection refused`,
        ),
      );
      assert.ok(!migration.includes(password), "the password is never printed");
      assert.deepEqual(fs.readdirSync(store), [], "no partial snapshot is left behind");
    });
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
});

// The adapters directly (no engine): the failure modes a pulumi up cannot stage on purpose.

const migrationDefaults: MigrationInputs = {
  databaseUrl: "",
  database: "",
  tool: "sql",
  migrationsDir: "",
  fromRevision: "base",
  revision: "base",
  snapshotId: "",
  snapshotDatabase: "",
  snapshotRevision: "",
  storePath: "",
  lockTimeoutSeconds: 5,
  image: "",
  commandUp: [],
  commandDown: [],
  revisions: [],
  env: {},
  dockerHost: "",
};

test("restoreDatabase: a dump pg_restore cannot read leaves the database as it was", async () => {
  const dir = tempDir("rewind-bad-dump-");
  try {
    await withDatabase(async (url) => {
      await sql(url, fs.readFileSync(path.join(migrationsDir, "0001_create_items.up.sql"), "utf8"));
      const before = await itemsChecksum(url);
      const bad = path.join(dir, "database.dump");
      fs.writeFileSync(bad, "PGDMP but not really a dump");
      await assert.rejects(
        restoreDatabase(url, bad),
        /restore into database "rewind_db_\w+" at [\d.]+:\d+ failed and was rolled back: pg_restore failed/,
      );
      assert.deepEqual(await itemsChecksum(url), before, "the reset was rolled back");
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a migration killed mid-step leaves the database at the last committed revision", async () => {
  const dir = tempDir("rewind-slow-migrations-");
  try {
    for (const file of ["0001_create_items.up.sql", "0001_create_items.down.sql"]) {
      fs.copyFileSync(path.join(migrationsDir, file), path.join(dir, file));
    }
    fs.writeFileSync(
      path.join(dir, "0002_slow.up.sql"),
      "ALTER TABLE items ADD COLUMN slow text;\nSELECT pg_sleep(30);\n",
    );
    await withDatabase(async (url, database) => {
      const inputs = {
        ...migrationDefaults,
        databaseUrl: url,
        database,
        migrationsDir: dir,
        fromRevision: "base",
        revision: "0002",
        snapshotId: "taken-by-the-test",
      };
      // The expectation is attached at once: the rejection may come before the kill returns.
      const failed = assert.rejects(
        migrate(inputs),
        /0002_slow\.up\.sql failed on .*the database stays at revision 0001/,
      );
      // Wait until step 0002 is sleeping, then kill its session as a crash would.
      let pid: number | undefined;
      for (let i = 0; i < 100 && pid === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const rows = await sql<{ pid: number }>(
          url,
          `SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%'
              AND pid <> pg_backend_pid()`,
        );
        pid = rows[0]?.pid;
      }
      assert.ok(pid !== undefined, "step 0002 started");
      await sql(url, "SELECT pg_terminate_backend($1)", [pid]);
      await failed;
      assert.equal(await readDatabaseRevision(url), "0001");
      assert.deepEqual(await columnsOfItems(url), ["id", "name", "legacy_code"]);
      // The lock went with the session: the next migration is not blocked.
      const [{ free }] = await sql<{ free: boolean }>(
        url,
        "SELECT pg_try_advisory_lock($1::bigint) AS free",
        [MIGRATION_LOCK_KEY],
      );
      assert.equal(free, true);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the command tool runs its argument arrays in the app image and records the revision", async () => {
  const image = `${process.env.REWIND_REGISTRY ?? "127.0.0.1:5000"}/hunter:1.0.0`;
  // A stand-in for `alembic upgrade <rev>`: node with the image's pg, the revision appended.
  const script = (up: boolean) =>
    "const { Client } = require('pg');" +
    "const c = new Client({ connectionString: process.env.DATABASE_URL });" +
    `const sql = process.argv[1] === '${up ? "r1" : "base"}' ? ` +
    `'${up ? "CREATE TABLE cmd_marker (rev text)" : "DROP TABLE cmd_marker"}' : 'SELECT 1';` +
    "c.connect().then(() => c.query(sql)).then(() => c.end())" +
    ".catch((e) => { console.error(e.message); process.exit(1); });";
  await withDatabase(async (url, database) => {
    const inputs: MigrationInputs = {
      ...migrationDefaults,
      databaseUrl: url,
      database,
      tool: "command",
      image,
      commandUp: ["node", "-e", script(true)],
      commandDown: ["node", "-e", script(false)],
      revisions: ["r1"],
      fromRevision: "base",
      revision: "r1",
      snapshotId: "taken-by-the-test",
    };
    const upResult = await timed("command up", () => migrate(inputs));
    assert.equal(upResult.revision, "r1");
    assert.deepEqual(await sql(url, "SELECT to_regclass('cmd_marker') IS NOT NULL AS t"), [
      { t: true },
    ]);

    const down = await timed("command down", () =>
      migrate({ ...inputs, fromRevision: "r1", revision: "base" }),
    );
    assert.equal(down.revision, "base");
    assert.deepEqual(await sql(url, "SELECT to_regclass('cmd_marker') IS NOT NULL AS t"), [
      { t: false },
    ]);
    const history = await sql<{ direction: string; step: string }>(
      url,
      "SELECT direction, step FROM rewind_schema_version ORDER BY id",
    );
    assert.deepEqual(
      history.map((h) => h.direction),
      ["up", "down"],
    );
    assert.match(history[0].step, /^node -e .* r1$/s);

    await assert.rejects(
      migrate({ ...inputs, commandUp: ["node", "-e", "process.exit(3)"] }),
      /command migration base -> r1 failed: \["node","-e","process.exit\(3\)","r1"\] exited with 3/,
    );
    assert.equal(await readDatabaseRevision(url), "base");
  });
});
