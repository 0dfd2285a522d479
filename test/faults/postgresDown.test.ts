// @serial: stops PostgreSQL, which every other test file uses
// PostgreSQL goes away: stopped (pg_ctl stop -m fast, as scripts/services does) while pg_dump
// runs, and stopped before a release. Nothing is lost, and once it is back the next up converges.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import {
  COLUMNS_AT,
  FaultStack,
  Observed,
  deployFaultStack,
  frontDoorAnswers,
  observe,
  quiet,
  spawnUp,
  startPostgres,
  stopPostgres,
} from "./harness";

describe("PostgreSQL stopped", () => {
  let s: FaultStack;
  let baseline: Observed["data"];

  before(async () => {
    s = await deployFaultStack("fault-pgdown", 150_000);
    baseline = (await observe(s)).data;
  });

  after(async () => {
    await startPostgres();
    await s?.dispose();
  });

  test("during pg_dump: the backup fails, nothing is migrated, the next up converges", async () => {
    await s.pin({ "rewind:app.version": "1.1.0", "rewind:database.revision": "0002" });
    const config = fs.readFileSync(s.configFile, "utf8");
    const up = spawnUp(s.stack.name);
    await up.stepStarted("BackupSnapshot");
    await new Promise((r) => setTimeout(r, 500));
    await stopPostgres();
    const code = await up.exited;
    await startPostgres();
    assert.notEqual(code, 0, up.output());
    assert.match(up.output(), /BackupSnapshot hunter-backup/);
    await frontDoorAnswers(s.appUrl);
    const now = await observe(s);
    assert.equal(now.revision, "0001");
    assert.deepEqual(now.columns, COLUMNS_AT["0001"]);
    assert.deepEqual(now.data, baseline);
    assert.equal(now.served, "1.0.0");
    assert.deepEqual(
      fs.readdirSync(s.store).filter((f) => f.startsWith(".partial-")),
      [],
      "the partial snapshot was removed",
    );
    assert.equal(fs.readFileSync(s.configFile, "utf8"), config);

    await s.stack.up(quiet);
    const converged = await observe(s);
    assert.equal(converged.served, "1.1.0");
    assert.equal(converged.revision, "0002");
    assert.deepEqual(converged.data, baseline);
  });

  test("before a release: refused naming the database, nothing changed, then converges", async () => {
    await s.pin({ "rewind:app.version": "1.0.0", "rewind:database.revision": "0001" });
    await stopPostgres();
    let output = "";
    try {
      await s.stack.up({ onOutput: (o) => (output += o) });
      assert.fail("pulumi up succeeded with PostgreSQL stopped");
    } catch (error) {
      output += (error as Error).message;
    } finally {
      await startPostgres();
    }
    assert.match(output, /cannot connect to database "rewind_db_[0-9a-f]+" at 127\.0\.0\.1:\d+/);
    // The old replicas were out of HAProxy while their database was away; they come back by
    // themselves, without an update.
    await frontDoorAnswers(s.appUrl);
    const now = await observe(s);
    assert.equal(now.served, "1.1.0");
    assert.equal(now.revision, "0002");
    assert.deepEqual(now.data, baseline);

    await s.stack.up(quiet);
    const converged = await observe(s);
    assert.equal(converged.served, "1.0.0");
    assert.equal(converged.revision, "0001");
    assert.deepEqual(converged.columns, COLUMNS_AT["0001"]);
    assert.deepEqual(converged.data, baseline);
  });
});
