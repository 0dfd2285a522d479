// Two stacks that share one database release the same migration at once: it runs once, and the
// second is stopped by Rewind's migration lock with a message that names the first stack. The
// migration 0002 is made to last (pg_sleep) so the two always overlap.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sql } from "../integration/postgres";
import { repoRoot } from "../integration/workspace";
import { FaultStack, deployFaultStack, observe, quiet, spawnUp } from "./harness";

const SLEEP_SECONDS = 45;

describe("two stacks on one database", () => {
  let migrations: string;
  let a: FaultStack;
  let b: FaultStack;

  before(async () => {
    migrations = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-fault-migrations-"));
    fs.cpSync(path.join(repoRoot, "examples/hunter/migrations"), migrations, { recursive: true });
    fs.appendFileSync(
      path.join(migrations, "0002_add_slug.up.sql"),
      `\nSELECT pg_sleep(${SLEEP_SECONDS});\n`,
    );
    const config = {
      "rewind:database.migrations.dir": migrations,
      "rewind:database.lockTimeoutSeconds": "3",
    };
    a = await deployFaultStack("fault-shared-a", 0, config);
    b = await deployFaultStack("fault-shared-b", 0, config, a);
  });

  after(async () => {
    try {
      await b?.dispose();
    } finally {
      await a?.dispose();
      fs.rmSync(migrations, { recursive: true, force: true });
    }
  });

  test("the migration runs once; the second stack is refused naming the first", async () => {
    const pins = { "rewind:app.version": "1.1.0", "rewind:database.revision": "0002" };
    await a.pin(pins);
    await b.pin(pins);
    const dataBefore = (await observe(a)).data;
    const upA = spawnUp(a.stack.name);
    await upA.stepStarted("Migration");
    let refusal = "";
    try {
      await b.stack.up({ onOutput: (o) => (refusal += o) });
      assert.fail("the second stack's release went through while the first migrated");
    } catch (error) {
      refusal += (error as Error).message;
    }
    assert.equal(await upA.exited, 0, upA.output());
    assert.match(refusal, /another migration is running on database/);
    assert.match(
      refusal,
      new RegExp(`Rewind's migration lock is held by stack "rewind/${a.stack.name}"`),
    );
    assert.match(refusal, /\(rewind-migration rewind\/fault-shared-a-/);

    const steps = await sql<{ revision: string; direction: string }>(
      a.dbUrl,
      "SELECT revision, direction FROM rewind_schema_version WHERE direction = 'up' AND revision = '0002'",
    );
    assert.equal(steps.length, 1, "0002 applied once");
    assert.deepEqual((await observe(a)).data, dataBefore);
    assert.equal((await observe(a)).served, "1.1.0");

    // The second stack converges without migrating again: the database is at its pin.
    const again = await b.stack.up(quiet);
    assert.equal(again.outputs.decision.value, "app-only");
    const after = await observe(b);
    assert.equal(after.served, "1.1.0");
    assert.equal(after.revision, "0002");
    assert.deepEqual(after.data, dataBefore);
    assert.equal(
      (
        await sql(
          a.dbUrl,
          "SELECT 1 FROM rewind_schema_version WHERE direction = 'up' AND revision = '0002'",
        )
      ).length,
      1,
    );
  });
});
