// Corrupt snapshots pinned for a restore: each is refused before the database is touched. The
// cases are copies of one good snapshot (at 0001), each under an id of its own, damaged one way.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { listSnapshots } from "../../adapters/backupStore";
import { sql } from "../integration/postgres";
import { FaultStack, deployFaultStack, observe, quiet } from "./harness";

const MARKER_ID = 900_001;

describe("corrupt snapshots are refused before the database is touched", () => {
  let s: FaultStack;
  let good: string;
  let later: string;

  before(async () => {
    s = await deployFaultStack("fault-corrupt", 0);
    // Up and back down: a snapshot at 0001 (the good one) and one at 0002 (another's dump).
    await s.pin({ "rewind:app.version": "1.1.0", "rewind:database.revision": "0002" });
    await s.stack.up(quiet);
    await s.pin({ "rewind:app.version": "1.0.0", "rewind:database.revision": "0001" });
    await s.stack.up(quiet);
    const snaps = listSnapshots(s.store).snapshots;
    good = snaps.filter((x) => x.revision === "0001").at(-1)!.id;
    later = snaps.filter((x) => x.revision === "0002").at(-1)!.id;
    // A row written after the snapshot: any restore, even of a good copy, would remove it.
    await sql(s.dbUrl, "INSERT INTO items (id, name) VALUES ($1, 'written after')", [MARKER_ID]);
  });

  after(async () => {
    await s?.dispose();
  });

  /** A copy of the good snapshot under a new id, then `damage` applied to its directory. */
  const copyOfGood = (id: string, damage: (dir: string) => void): string => {
    const dir = path.join(s.store, id);
    fs.cpSync(path.join(s.store, good), dir, { recursive: true });
    const manifestFile = path.join(dir, "manifest.json");
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"));
    fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, id }, null, 2));
    damage(dir);
    return id;
  };
  const dump = (dir: string) => path.join(dir, "database.dump");

  const cases: { name: string; make: () => string; refusal: RegExp }[] = [
    {
      name: "a truncated dump",
      make: () =>
        copyOfGood("corrupt-truncated", (dir) =>
          fs.truncateSync(dump(dir), fs.statSync(dump(dir)).size >> 1),
        ),
      refusal: /failed verification: database\.dump has \d+ bytes, the manifest records \d+/,
    },
    {
      name: "one flipped byte",
      make: () =>
        copyOfGood("corrupt-flipped", (dir) => {
          const bytes = fs.readFileSync(dump(dir));
          bytes[bytes.length >> 1] ^= 0x01;
          fs.writeFileSync(dump(dir), bytes);
        }),
      refusal: /failed verification: database\.dump has sha256 [0-9a-f]{64}, the manifest records/,
    },
    {
      name: "the manifest missing",
      make: () =>
        copyOfGood("corrupt-no-manifest", (dir) => fs.rmSync(path.join(dir, "manifest.json"))),
      refusal: /snapshot "corrupt-no-manifest" does not exist in the backup store/,
    },
    {
      name: "another snapshot's dump under this manifest",
      make: () =>
        copyOfGood("corrupt-other-dump", (dir) =>
          fs.copyFileSync(path.join(s.store, later, "database.dump"), dump(dir)),
        ),
      refusal: /failed verification: database\.dump has (\d+ bytes|sha256)/,
    },
    {
      name: "another database's snapshot",
      // Its files and checksums are whole: only the manifest's database differs.
      make: () =>
        copyOfGood("corrupt-other-database", (dir) => {
          const file = path.join(dir, "manifest.json");
          const manifest = JSON.parse(fs.readFileSync(file, "utf8"));
          fs.writeFileSync(file, JSON.stringify({ ...manifest, database: "someone_elses" }));
        }),
      refusal: /is of database "someone_elses"; it cannot be restored into database/,
    },
  ];

  for (const c of cases) {
    test(`${c.name}: refused, nothing restored or stopped`, async () => {
      const before = await observe(s);
      const versionRows = await sql(s.dbUrl, "SELECT * FROM rewind_schema_version ORDER BY id");
      const history = (await s.stack.history()).length;
      const id = c.make();
      await s.pin({ "rewind:restore.snapshot": id });
      let output = "";
      try {
        await s.stack.up({ onOutput: (o) => (output += o) });
        assert.fail(`pulumi up restored ${c.name}`);
      } catch (error) {
        output += (error as Error).message;
      } finally {
        await s.stack.removeConfig("rewind:restore.snapshot", true);
      }
      assert.match(output, c.refusal);
      assert.deepEqual(await observe(s), before, "served version, schema and rows unchanged");
      assert.deepEqual(
        await sql(s.dbUrl, "SELECT * FROM rewind_schema_version ORDER BY id"),
        versionRows,
      );
      assert.equal(
        (await sql(s.dbUrl, "SELECT 1 FROM items WHERE id = $1", [MARKER_ID])).length,
        1,
        "the row written after the snapshot is still there",
      );
      const restores = await sql(s.dbUrl, "SELECT 1 FROM rewind_restores").catch(() => []);
      assert.equal(restores.length, 0, "no restore recorded");
      assert.ok((await s.stack.history()).length <= history + 1);
    });
  }
});
