// The release and rollback journey of the runbooks (docs/runbooks.md), through the real program
// (index.ts), the real CLI, Docker Engine, registry and PostgreSQL. One stack and database for
// the whole story; each step asserts what an operator checks: the version served, the schema
// revision, the rows and their checksum, the files in the backup store, and that a refused
// change left all of it as it was.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { readDatabaseRevision } from "../../adapters/postgres";
import { readManifest } from "../../adapters/backupStore";
import { TestDatabase, columnsOfItems, createDatabase, itemsChecksum, sql } from "./postgres";
import { hunterStackConfig, repoRoot, requireToolchainEnv, uniqueStackName } from "./workspace";

const quiet = { onOutput: () => undefined };
const ITEM_COLUMNS = ["id", "name"] as const;

/** Polls `url` every 20 ms until stopped; counts failures and records the versions seen. */
function poll(url: string) {
  let failures = 0;
  let requests = 0;
  const seen: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      requests++;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        const body = (await res.json()) as { version: string };
        if (!res.ok) failures++;
        else if (seen.at(-1) !== body.version) seen.push(body.version);
      } catch {
        failures++;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    running = false;
    await loop;
    return { failures, requests, seen };
  };
}

describe("a release's life on the real engine", () => {
  let stack: Stack;
  let dbUrl: string;
  let appUrl: string;
  let store: string;
  let db: TestDatabase;
  let checksum0001: { count: number; md5: string };
  let snapshotAt0001: string;
  let snapshotAt0002: string;

  const pin = (values: Record<string, string>) =>
    stack.setAllConfig(
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])),
      true,
    );
  const served = async () =>
    ((await (await fetch(`${appUrl}/version`)).json()) as { version: string }).version;
  const upFails = async (): Promise<string> => {
    let output = "";
    try {
      await stack.up({ onOutput: (s) => (output += s) });
    } catch (err) {
      return `${(err as Error).message}\n${output}`;
    }
    return assert.fail(`pulumi up succeeded but should have failed:\n${output}`);
  };

  before(async () => {
    requireToolchainEnv();
    store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-release-store-"));
    // The database lives as long as the describe block; after() drops it.
    db = await createDatabase();
    dbUrl = db.url;
    const port = await freePort();
    appUrl = `http://127.0.0.1:${port}`;
    stack = await LocalWorkspace.createStack({
      stackName: uniqueStackName("it-release"),
      workDir: repoRoot,
    });
    await stack.setAllConfig(
      hunterStackConfig({ registry: process.env.REWIND_REGISTRY!, port, dbUrl, store }),
      true,
    );
  });

  after(async () => {
    try {
      await stack?.destroy(quiet);
      await stack?.workspace.removeStack(stack.name);
    } finally {
      await db?.drop();
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("1. deploy 1.0.0 at 0001", async () => {
    await pin({ "rewind:app.version": "1.0.0", "rewind:database.revision": "0001" });
    const result = await stack.up(quiet);
    assert.equal(result.outputs.appVersion.value, "1.0.0");
    assert.match(result.outputs.digest.value, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await served(), "1.0.0");
    assert.equal(await readDatabaseRevision(dbUrl), "0001");
    checksum0001 = await itemsChecksum(dbUrl, ITEM_COLUMNS);
    assert.equal(checksum0001.count, 100);
  });

  test("2. upgrade to 1.1.0 at 0002: a verified snapshot first, then the backfill", async () => {
    await pin({ "rewind:app.version": "1.1.0", "rewind:database.revision": "0002" });
    const result = await stack.up(quiet);
    assert.equal(result.outputs.direction.value, "upgrade");
    snapshotAt0001 = result.outputs.snapshotId.value;
    const manifest = readManifest(store, snapshotAt0001);
    assert.equal(manifest.revision, "0001");
    assert.equal(manifest.appVersion, "1.0.0");
    const dir = path.join(store, snapshotAt0001);
    for (const file of fs.readdirSync(dir)) {
      assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, 0o600, file);
    }
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(await served(), "1.1.0");
    assert.equal(await readDatabaseRevision(dbUrl), "0002");
    const [{ backfilled }] = await sql<{ backfilled: string }>(
      dbUrl,
      "select count(*) as backfilled from items where slug = lower(replace(name, ' ', '-'))",
    );
    assert.equal(Number(backfilled), 100);
    assert.deepEqual(await itemsChecksum(dbUrl, ITEM_COLUMNS), checksum0001);
  });

  test("3. roll back by pinning the prior config, with zero failed requests", async () => {
    await pin({ "rewind:app.version": "1.0.0", "rewind:database.revision": "0001" });
    const stop = poll(`${appUrl}/version`);
    const result = await stack.up(quiet);
    const traffic = await stop();
    assert.equal(result.outputs.direction.value, "downgrade");
    snapshotAt0002 = result.outputs.snapshotId.value;
    assert.equal(readManifest(store, snapshotAt0002).revision, "0002");
    assert.equal(traffic.failures, 0, `${traffic.failures} of ${traffic.requests} failed`);
    // HAProxy enables the new slots before it drains the old ones: for that moment both answer.
    assert.equal(traffic.seen[0], "1.1.0");
    assert.equal(traffic.seen.at(-1), "1.0.0");
    assert.deepEqual([...new Set(traffic.seen)].sort(), ["1.0.0", "1.1.0"]);
    assert.equal(await readDatabaseRevision(dbUrl), "0001");
    assert.ok(!(await columnsOfItems(dbUrl)).includes("slug"));
    assert.deepEqual(await itemsChecksum(dbUrl, ITEM_COLUMNS), checksum0001);
  });

  test("4. 1.2.0-bad never gets ready: the update fails and 1.0.0 still serves", async () => {
    await pin({ "rewind:app.version": "1.2.0-bad" });
    const output = await upFails();
    assert.match(output, /1\.2\.0-bad did not become ready within 15s/);
    assert.equal(await served(), "1.0.0");
    assert.equal(await readDatabaseRevision(dbUrl), "0001");
    await pin({ "rewind:app.version": "1.0.0" });
  });

  test("5. a migration run by hand shows as drift on refresh, and up converges back", async () => {
    const up0002 = fs.readFileSync(
      path.join(repoRoot, "examples/hunter/migrations/0002_add_slug.up.sql"),
      "utf8",
    );
    await sql(dbUrl, up0002);
    await sql(
      dbUrl,
      `insert into public.rewind_schema_version (revision, from_revision, direction, step)
       values ('0002', '0001', 'up', 'by hand')`,
    );
    const refreshed = await stack.refresh(quiet);
    assert.ok((refreshed.summary.resourceChanges?.update ?? 0) >= 1, "refresh saw a change");
    const state = await stack.exportStack();
    const migration = state.deployment.resources.find(
      (r: { type: string }) => r.type === "rewind:index:Migration",
    );
    assert.equal(migration.outputs.revision, "0002", "the state now records the real revision");
    await stack.up(quiet);
    assert.equal(await readDatabaseRevision(dbUrl), "0001");
    assert.equal(await served(), "1.0.0");
  });

  test("6. restore by pinning a snapshot: the database equals the snapshot", async () => {
    // The pin must agree with the snapshot's revision, or nothing happens.
    await pin({ "rewind:restore.snapshot": snapshotAt0002 });
    assert.match(await upFails(), /taken at revision 0002, but rewind:database\.revision is 0001/);

    await sql(dbUrl, "delete from items where id > 90");
    assert.equal((await itemsChecksum(dbUrl, ITEM_COLUMNS)).count, 90);
    await pin({ "rewind:restore.snapshot": snapshotAt0001 });
    const result = await stack.up(quiet);
    assert.equal(result.outputs.direction.value, "restore");
    assert.deepEqual(await itemsChecksum(dbUrl, ITEM_COLUMNS), checksum0001);
    assert.equal(await readDatabaseRevision(dbUrl), "0001");
    assert.equal(await served(), "1.0.0");

    // The database records the restore: with the pin still in place, the next release plans
    // from what runs and restores nothing again.
    assert.deepEqual(await sql(dbUrl, "select snapshot_id from rewind_restores order by id"), [
      { snapshot_id: snapshotAt0001 },
    ]);
    await sql(dbUrl, "insert into items (id, name) values (1001, 'written after the restore')");
    const again = await stack.up(quiet);
    assert.equal(again.outputs.direction.value, "none");
    assert.equal((await itemsChecksum(dbUrl, ITEM_COLUMNS)).count, checksum0001.count + 1);
    await sql(dbUrl, "delete from items where id = 1001");
    await stack.removeConfig("rewind:restore.snapshot", true);
  });

  describe("7. bad input gets a clear error and changes nothing", () => {
    const unchanged = async () => {
      assert.equal(await served(), "1.0.0");
      assert.equal(await readDatabaseRevision(dbUrl), "0001");
      assert.deepEqual(await itemsChecksum(dbUrl, ITEM_COLUMNS), checksum0001);
    };

    test("an unknown revision", async () => {
      await pin({ "rewind:database.revision": "0042" });
      try {
        assert.match(await upFails(), /revision "0042" is unknown; known revisions: base, 0001/);
        await unchanged();
      } finally {
        await pin({ "rewind:database.revision": "0001" });
      }
    });

    test("a version missing from the registry", async () => {
      await pin({ "rewind:app.version": "9.9.9" });
      try {
        assert.match(await upFails(), /9\.9\.9/);
        await unchanged();
      } finally {
        await pin({ "rewind:app.version": "1.0.0" });
      }
    });

    test("a snapshot whose checksum does not match", async () => {
      // One never restored: a pin of an already restored snapshot is (rightly) a no-op.
      const file = path.join(store, snapshotAt0002, "database.dump");
      const bytes = fs.readFileSync(file);
      bytes[bytes.length >> 1] ^= 0xff;
      fs.writeFileSync(file, bytes);
      await pin({ "rewind:restore.snapshot": snapshotAt0002, "rewind:database.revision": "0002" });
      try {
        assert.match(await upFails(), /sha256|checksum/i);
        await unchanged();
      } finally {
        await stack.removeConfig("rewind:restore.snapshot", true);
        await pin({ "rewind:database.revision": "0001" });
      }
    });

    test("an unreachable database", async () => {
      const wrong = new URL(dbUrl);
      wrong.port = String(await freePort());
      await stack.setConfig("rewind:database.url", { value: wrong.toString(), secret: true }, true);
      try {
        assert.match(await upFails(), /cannot connect to .*connection refused/);
      } finally {
        await stack.setConfig("rewind:database.url", { value: dbUrl, secret: true }, true);
      }
      await unchanged();
    });

    test("a downgrade through a step without a down script", async () => {
      await pin({ "rewind:database.revision": "0003" });
      await stack.up(quiet);
      assert.equal(await readDatabaseRevision(dbUrl), "0003");
      await pin({ "rewind:database.revision": "0002" });
      assert.match(await upFails(), /0003.*no down script.*rewind:restore\.snapshot/s);
      assert.equal(await readDatabaseRevision(dbUrl), "0003");
      assert.equal(await served(), "1.0.0");
    });
  });
});
