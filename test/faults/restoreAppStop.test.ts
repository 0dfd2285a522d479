// Issue 10, defect 4: a restore must not start the old app on the restored schema. Restoring a
// snapshot taken at 0001 while 1.1.0 runs at 0002, with 1.0.0 pinned: the restore leaves the
// 1.1.0 containers stopped (and records them), and the app step starts 1.0.0. Sampled every
// 100 ms: 1.1.0 is never served once the database is back at 0001.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { listSnapshots } from "../../adapters/backupStore";
import { readDatabaseRevision } from "../../adapters/postgres";
import { engine, listContainers } from "../../adapters/docker";
import { sql } from "../integration/postgres";
import { FaultStack, deployFaultStack, observe, quiet, served } from "./harness";

describe("a restore leaves the app stopped until the pinned version starts", () => {
  let s: FaultStack;

  before(async () => {
    s = await deployFaultStack("fault-restore", 0);
    await s.pin({ "rewind:app.version": "1.1.0", "rewind:database.revision": "0002" });
    await s.stack.up(quiet);
  });

  after(async () => {
    await s?.dispose();
  });

  test("restore to 0001 with 1.0.0 pinned: 1.1.0 never serves on schema 0001", async () => {
    const snapshot = listSnapshots(s.store)
      .snapshots.filter((x) => x.revision === "0001")
      .at(-1)!;
    const old = (await listContainers(engine(), { "rewind.stack": `rewind/${s.stack.name}` }))
      .filter((c) => c.labels["rewind.role"] === "app" && c.state === "running")
      .map((c) => c.id)
      .sort();
    assert.equal(old.length, 2);
    await s.pin({
      "rewind:app.version": "1.0.0",
      "rewind:database.revision": "0001",
      "rewind:restore.snapshot": snapshot.id,
    });
    const violations: string[] = [];
    const seen = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const revision = await readDatabaseRevision(s.dbUrl).catch(() => "?");
        const version = await served(s.appUrl);
        seen.add(`${version ?? "nothing"}@${revision}`);
        if (revision === "0001" && version === "1.1.0") {
          violations.push(`${new Date().toISOString()}: 1.1.0 served on 0001`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const result = await s.stack.up(quiet);
      assert.equal(result.outputs.direction.value, "restore");
    } finally {
      sampling = false;
      await sampler;
    }
    console.log(`# seen (version@revision): ${[...seen].join(", ")}`);
    assert.deepEqual(violations, []);
    const now = await observe(s);
    assert.equal(now.served, "1.0.0");
    assert.equal(now.revision, "0001");
    const [row] = await sql<{ left_stopped: string[] }>(
      s.dbUrl,
      "SELECT left_stopped FROM rewind_restores WHERE snapshot_id = $1",
      [snapshot.id],
    );
    assert.deepEqual(
      [...row.left_stopped].sort(),
      old,
      "the restore recorded what it left stopped",
    );
    const remaining = await listContainers(engine(), { "rewind.stack": `rewind/${s.stack.name}` });
    assert.ok(
      remaining.every((c) => !old.includes(c.id)),
      "the app step removed the 1.1.0 containers",
    );
    await s.stack.removeConfig("rewind:restore.snapshot", true);
  });
});
