// Rollbacks that choose the right layer (issue 11, part 2), on the real engine with the tests'
// own service (test/fixtures/layers-app: 1.x reads items.name, 2.x items.title; Alembic 0002
// renames the column, 0003's downgrade raises), through `rewind` as a user runs it:
// - the rename, declared in rewind:database.migrations.maintenance, goes up and down in the
//   maintenance order (the app-first order would leave 1.0.0 never ready on the renamed column);
// - the plan rehearses the way down from 0003 on a copy, finds the step that cannot be undone,
//   and says "restore", naming the snapshot and the rows written since;
// - rollback refuses that restore without --allow-restore; a migration down that fails offers
//   the restore, and with --yes --allow-restore performs it;
// - report and history say what ran before and after, and what was only tried.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { columnsOfItems, sql, withDatabase } from "./postgres";
import { expectCode, rewind } from "./rewindCli";
import { alembicVersion, buildLayersApp, scratchCopies } from "./layersApp";
import { repoRoot, requireToolchainEnv, timed, uniqueStackName } from "./workspace";

test("layers: maintenance order for a rename, a rehearsed irreversible step, the fall back to a restore", async () => {
  requireToolchainEnv();
  const repository = await buildLayersApp("layers-app", ["1.0.0", "2.0.0", "2.1.0"]);
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-layers-store-"));
  const port = await freePort();
  const served = async () =>
    ((await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string })
      .version;
  const stackName = uniqueStackName("it-layers");
  try {
    await withDatabase(async (dbUrl, dbName) => {
      const stack = await LocalWorkspace.createStack({ stackName, workDir: repoRoot });
      const cli = (label: string, ...args: string[]) =>
        timed(label, () => rewind(repoRoot, stackName, ...args));
      try {
        await stack.setAllConfig(
          {
            "rewind:app.name": { value: "layers" },
            "rewind:app.image": { value: repository },
            "rewind:app.port": { value: String(port) },
            "rewind:app.health.timeoutSeconds": { value: "20" },
            "rewind:database.url": { value: dbUrl, secret: true },
            "rewind:database.migrations.tool": { value: "alembic" },
            "rewind:database.migrations.revisions[0]": { value: "0001" },
            "rewind:database.migrations.revisions[1]": { value: "0002" },
            "rewind:database.migrations.revisions[2]": { value: "0003" },
            "rewind:database.migrations.maintenance[0]": { value: "0002" },
            "rewind:backup.store.kind": { value: "fs" },
            "rewind:backup.store.path": { value: store },
            "rewind:gate.sql[0].query": { value: "select 1 from items" },
            "rewind:gate.sql[0].minRows": { value: "3" },
          },
          true,
        );
        const release = (version: string, revision: string) =>
          cli(
            `release ${version} at ${revision}`,
            "release",
            "--set",
            `rewind:app.version=${version}`,
            "--set",
            `rewind:database.revision=${revision}`,
          );

        expectCode(await release("1.0.0", "0001"), 0, "release 1.0.0 at 0001");
        assert.equal(await served(), "1.0.0");

        // Up across the rename: the app stops, 0002 runs, 2.0.0 starts.
        const up = await release("2.0.0", "0002");
        expectCode(up, 0, "release 2.0.0 at 0002");
        assert.match(up.stderr, /maintenance order for 0002/);
        assert.equal(await served(), "2.0.0");
        assert.deepEqual(await columnsOfItems(dbUrl), ["id", "title"]);

        // The plan: rehearsed on a copy (0002 goes down there), the maintenance order, downtime.
        const plan = await cli(
          "plan to 1.0.0",
          "plan",
          "--to-version",
          "1.0.0",
          "--skip-preview",
          "--json",
        );
        expectCode(plan, 0, "plan --to-version 1.0.0");
        const p = JSON.parse(plan.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        assert.equal(p.decision, "migration-down");
        assert.equal(p.schema.rehearsal.ok, true);
        assert.deepEqual(p.schema.stepsDown, [{ revision: "0002", name: null, reversible: true }]);
        assert.equal(p.order.kind, "maintenance");
        assert.deepEqual(p.order.maintenance, ["0002"]);
        assert.ok(p.order.downtimeSeconds >= 20, `downtime ${p.order.downtimeSeconds}`);
        assert.deepEqual(p.steps, ["backup", "migrate", "app", "gate"]);
        // The rehearsal's copy is gone; the real database was only read.
        assert.deepEqual(await scratchCopies(dbUrl, dbName), []);
        assert.equal(await alembicVersion(dbUrl), "0002");

        const down = await cli("rollback to 1.0.0", "rollback", "--to-version", "1.0.0", "--yes");
        expectCode(down, 0, "rollback --to-version 1.0.0 (maintenance order)");
        assert.match(
          down.stdout,
          /order {5}maintenance \(0002\): stop the app, migrate, start 1\.0\.0/,
        );
        assert.match(down.stdout, /expected downtime: up to about \d+s/);
        assert.equal(await served(), "1.0.0");
        assert.deepEqual(await columnsOfItems(dbUrl), ["id", "name"]);
        assert.equal(await alembicVersion(dbUrl), "0001");

        // Forward again, then to 0003, whose downgrade raises; rows are written after it.
        expectCode(await release("2.0.0", "0002"), 0, "release 2.0.0 at 0002 again");
        expectCode(await release("2.1.0", "0003"), 0, "release 2.1.0 at 0003");
        assert.equal(await served(), "2.1.0");
        await sql(dbUrl, "INSERT INTO items (title) VALUES ('d'), ('e'), ('f'), ('g'), ('h')");
        await sql(dbUrl, "INSERT INTO notes (body) VALUES ('written after the snapshot')");

        const restorePlan = await cli(
          "plan to 2.0.0",
          "plan",
          "--to-version",
          "2.0.0",
          "--skip-preview",
        );
        expectCode(restorePlan, 0, "plan --to-version 2.0.0");
        const text = restorePlan.stdout;
        assert.match(text, /0003: its downgrade failed in the rehearsal \(irreversible\)/);
        assert.match(
          text,
          /rehearsed on a copy of the schema: alembic downgrade 0002 failed at 0003/,
        );
        // The tool's own error, whole, among its last lines.
        assert.match(
          text,
          /NotImplementedError: 0003_notes_irreversible: dropping notes would lose what people wrote; restore a snapshot/,
        );
        const snapshot =
          /snapshot {2}(\S+) \(taken [^)]* at 0002, app 2\.0\.0, checksum verified\)/.exec(
            text,
          )?.[1];
        assert.ok(snapshot, `the plan names the snapshot:\n${text}`);
        assert.match(text, /decision {2}restore: Database Restore \(runbook method 3\)/);
        assert.match(text, new RegExp(`the pinned config restores ${snapshot}`));
        const loss =
          /DATA LOSS: a restore discards everything written after [^:]+:\d\d:\d\dZ: about (\d+) rows/.exec(
            text,
          );
        assert.ok(loss, `the plan estimates the rows written since:\n${text}`);
        assert.ok(Number(loss[1]) >= 6, `rows written since: ${loss[1]}`);

        // Without --allow-restore, --yes does not restore.
        const refused = await cli(
          "rollback without --allow-restore",
          "rollback",
          "--to-version",
          "2.0.0",
          "--yes",
        );
        expectCode(refused, 3, "rollback --yes without --allow-restore");
        assert.match(
          refused.stderr,
          /Not rolled back: the plan restores snapshot \S+ .*--allow-restore/,
        );
        assert.equal(await served(), "2.1.0");
        assert.equal(await alembicVersion(dbUrl), "0003");

        // Not rehearsed, the migration down runs and fails: the restore is offered...
        const offered = await cli(
          "rollback, migration down fails",
          "rollback",
          "--to-version",
          "2.0.0",
          "--yes",
          "--skip-rehearsal",
        );
        expectCode(offered, 3, "rollback --skip-rehearsal (migration down fails)");
        assert.match(offered.stderr, /The migration's error, whole:\n/);
        assert.match(offered.stderr, /Alembic's output \(its last 20 lines\):\n/);
        assert.match(
          offered.stderr,
          /NotImplementedError: 0003_notes_irreversible: dropping notes would lose what people wrote; restore a snapshot/,
        );
        assert.match(
          offered.stderr,
          new RegExp(
            `A verified snapshot exists at revision 0002: ${snapshot} .*--yes --allow-restore`,
          ),
        );
        assert.equal(await alembicVersion(dbUrl), "0003");

        // ... and performed with --yes --allow-restore.
        const restored = await cli(
          "rollback --allow-restore",
          "rollback",
          "--to-version",
          "2.0.0",
          "--yes",
          "--skip-rehearsal",
          "--allow-restore",
        );
        expectCode(restored, 0, "rollback --yes --allow-restore");
        assert.match(restored.stdout, new RegExp(`snapshot ${snapshot} was restored instead`));
        assert.equal(await served(), "2.0.0");
        assert.equal(await alembicVersion(dbUrl), "0002");
        assert.deepEqual(await columnsOfItems(dbUrl), ["id", "title"]);
        assert.equal(
          (await sql<{ n: number }>(dbUrl, "SELECT count(*)::int AS n FROM items"))[0].n,
          3,
        );
        assert.deepEqual(await sql(dbUrl, "SELECT to_regclass('notes') AS notes"), [
          { notes: null },
        ]);

        // The report: before is what ran when the rollback started, after what runs at its end.
        const report = await cli("report", "report");
        expectCode(report, 0, "report");
        assert.match(
          report.stdout,
          /\*\*Rollback Method\*\*: Database Restore \(runbook method 3\) — restore/,
        );
        assert.match(
          report.stdout,
          new RegExp(
            `\\*\\*Data loss\\*\\*: a restore discards what was written after its snapshot: \`${snapshot}\``,
          ),
        );
        // Tried: the failed migration down (2.0.0 at 0002); before: 2.1.0 at 0003; after: the restore.
        assert.match(report.stdout, /\| app version \| `2\.0\.0` \| `2\.1\.0` \| `2\.0\.0` \|/);
        assert.match(report.stdout, /\| schema revision \| `0002` \| `0003` \| `0002` \|/);
        const history = await cli("history", "history");
        expectCode(history, 0, "history");
        assert.match(history.stdout, /failed +2\.0\.0 \(tried; 2\.1\.0 kept serving\)/);
      } finally {
        await stack.destroy({ onOutput: () => undefined });
        await stack.workspace.removeStack(stack.name);
      }
    });
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
});
