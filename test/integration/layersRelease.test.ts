// `rewind release --allow-restore` (issue 11, "Failing back to a restore"), on the real engine
// with the tests' own service (test/fixtures/layers-app: 2.1.0-broken answers 500 on /items;
// Alembic 0003's downgrade raises): a release that migrated to 0003 fails its gate's smoke
// request, the automatic rollback's migration down fails too, and
// - with --allow-restore the release restores the verified snapshot taken at 0002 and says so;
//   the next release only drops the done Restore, the one after changes nothing, and history
//   names the restored snapshot on the restore's row;
// - without it the release exits 3 and offers the restore, naming the snapshot and the command,
//   which then does what it says.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { readManifest, verifySnapshot } from "../../adapters/backupStore";
import { itemsChecksum, sql } from "./postgres";
import { CliResult, expectCode } from "./rewindCli";
import { LayersStack, alembicVersion, buildLayersApp, release, withLayersStack } from "./layersApp";

const DOWNGRADE_RAISES =
  /NotImplementedError: 0003_notes_irreversible: dropping notes would lose what people wrote; restore a snapshot/;

/** Whether 0003's table exists. */
async function hasNotes(url: string): Promise<boolean> {
  const [row] = await sql<{ notes: string | null }>(url, "SELECT to_regclass('notes') AS notes");
  return row.notes !== null;
}

/** The resource changes of a `release --json` that succeeded, other than `same`. */
function changed(result: CliResult): Record<string, number> {
  const outcome = JSON.parse(result.stdout) as {
    released: boolean;
    changes: Record<string, number>;
  };
  assert.equal(outcome.released, true, result.stdout);
  return Object.fromEntries(Object.entries(outcome.changes).filter(([op]) => op !== "same"));
}

/** What an operator checks after a restore to the state before the broken release. */
async function servesTheSnapshot(
  stack: LayersStack,
  before: { count: number; md5: string },
): Promise<void> {
  assert.equal(await stack.served(), "2.0.0");
  assert.equal(await alembicVersion(stack.dbUrl), "0002");
  assert.deepEqual(await itemsChecksum(stack.dbUrl), before);
  assert.equal(await hasNotes(stack.dbUrl), false, "0003's notes table is gone");
}

test("layers: a release whose gate and rollback both fail restores the snapshot with --allow-restore, and offers it without", async () => {
  const repository = await buildLayersApp("layers-app-release", ["2.0.0", "2.1.0-broken"]);
  const smoke = { "rewind:gate.smoke[0].path": { value: "/items" } };
  await withLayersStack("it-layers-rel", repository, smoke, async (stack) => {
    expectCode(await release(stack, "2.0.0", "0002"), 0, "release 2.0.0 at 0002");
    assert.equal(await stack.served(), "2.0.0");
    assert.equal(await alembicVersion(stack.dbUrl), "0002");
    // Rows written at 0002: the snapshot the next release takes must hold them.
    await sql(stack.dbUrl, "INSERT INTO items (title) VALUES ('delta'), ('epsilon')");
    const before = await itemsChecksum(stack.dbUrl);
    assert.equal(before.count, 5);

    const broken = await release(stack, "2.1.0-broken", "0003", "--allow-restore");
    expectCode(broken, 1, "release 2.1.0-broken at 0003 --allow-restore (restored)");
    assert.match(broken.stderr, /Release FAILED \(update 2, health checks failed\)/);
    assert.match(broken.stderr, /smoke GET \/items \(expects 200\): answered 500/);
    // The way down ran 0003's downgrade, so the release had migrated to 0003; it raised.
    assert.match(broken.stderr, /The rollback's migration down FAILED/);
    assert.match(broken.stderr, DOWNGRADE_RAISES);
    const snapshot =
      /Restoring snapshot (\S+) \(taken \S+ at 0002\) instead \(--allow-restore\)/.exec(
        broken.stderr,
      )?.[1];
    assert.ok(snapshot, `the release names the snapshot it restores:\n${broken.stderr}`);
    assert.match(
      broken.stdout,
      /^Release failed and was rolled back to update 1 \(restore\) .*: app 2\.0\.0 \(sha256:[0-9a-f]{12}\), schema 0002\.$/m,
    );
    // The backup the broken release took before 0003 ran, intact.
    const manifest = readManifest(stack.store, snapshot);
    assert.equal(manifest.revision, "0002");
    assert.equal(manifest.reason, "migrate 0002->0003");
    assert.equal((await verifySnapshot(stack.store, snapshot)).ok, true);
    await servesTheSnapshot(stack, before);

    // The restore stays pinned but is done: the next release only drops its resource.
    const next = await release(stack, "2.0.0", "0002", "--json");
    expectCode(next, 0, "release 2.0.0 at 0002 after the restore");
    assert.deepEqual(changed(next), { delete: 1 });
    assert.match(next.stderr, /deleted +Restore /);
    const after = await release(stack, "2.0.0", "0002", "--json");
    expectCode(after, 0, "release 2.0.0 at 0002 once more");
    assert.deepEqual(changed(after), {});
    await servesTheSnapshot(stack, before);

    // Update 2 is the broken release, 3 the failed migration down, 4 the restore.
    const history = await stack.cli("history", "history");
    expectCode(history, 0, "history");
    assert.match(history.stdout, /^2 .* failed +2\.1\.0-broken \(tried; 2\.0\.0 kept serving\) /m);
    assert.match(history.stdout, /^3 .* failed +2\.0\.0 /m);
    assert.match(
      history.stdout,
      new RegExp(`^4 .* succeeded +2\\.0\\.0 .* 0002 +${snapshot} \\(restored\\) `, "m"),
    );

    // The same failure without --allow-restore stops and offers the restore.
    const stopped = await release(stack, "2.1.0-broken", "0003");
    expectCode(stopped, 3, "release 2.1.0-broken at 0003 without --allow-restore");
    assert.match(stopped.stderr, DOWNGRADE_RAISES);
    assert.doesNotMatch(stopped.stderr, /Restoring snapshot/);
    const offer =
      /A verified snapshot exists at revision 0002: (\S+) \(taken [^)]+\); a restore discards what was written after it\. Restore it with: (rewind rollback --to-update (\d+) --yes --allow-restore)/.exec(
        stopped.stderr,
      );
    assert.ok(offer, `the release offers the restore:\n${stopped.stderr}`);
    // The newest verified snapshot at 0002: the backup this release took before 0003.
    assert.notEqual(offer[1], snapshot);
    assert.equal(readManifest(stack.store, offer[1]).reason, "migrate 0002->0003");
    assert.equal(offer[3], "6", "the offer rolls back to the last known-good update");
    assert.equal(await alembicVersion(stack.dbUrl), "0003");
    assert.equal(await hasNotes(stack.dbUrl), true, "nothing was restored");

    // The offered command does what it says.
    const restored = await stack.cli(
      "the offered rollback",
      "rollback",
      "--to-update",
      offer[3],
      "--yes",
      "--allow-restore",
    );
    expectCode(restored, 0, offer[2]);
    await servesTheSnapshot(stack, before);
  });
});
