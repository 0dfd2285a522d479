// The maintenance order, detected (issue 11), on the real engine with the tests' own service
// (test/fixtures/layers-app, built as layers-app-detect): its Alembic 0002 renames items.name
// to items.title and this stack does NOT declare it in rewind:database.migrations.maintenance.
// App first would leave 1.0.0 never ready on the renamed column; Rewind starts 1.0.0 on a
// scratch copy of the schema now, sees it is not ready, and takes the maintenance order:
// - `rewind plan` says so and why, `rewind rollback` pins 0002 as maintenance and succeeds;
// - `rewind release`'s automatic rollback does the same before its migration down.
// Each case checks what a user would: 1.0.0 serves at 0001 on the renamed-back column, the
// stack's config pins the order, and no scratch database or trial container is left.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { columnsOfItems, sql, withDatabase } from "./postgres";
import { CliResult, expectCode, rewind } from "./rewindCli";
import { buildLayersApp } from "./layersApp";
import { repoRoot, requireToolchainEnv, timed, uniqueStackName } from "./workspace";

const run = promisify(execFile);

/** The fixture's images under this file's own repository name, built once for both cases. */
let images: Promise<string> | undefined;
const detectImages = () => (images ??= buildLayersApp("layers-app-detect", ["1.0.0", "2.0.0"]));

/** What one case works with: its stack, database, public port and `rewind`. */
interface DetectStack {
  readonly stack: Stack;
  readonly dbUrl: string;
  readonly dbName: string;
  readonly appName: string;
  served(): Promise<string>;
  cli(label: string, ...args: string[]): Promise<CliResult>;
}

/**
 * A fresh stack of layers-app on a database of its own, with 0002 undeclared, destroyed and
 * removed afterwards.
 */
async function withDetectStack(appName: string, body: (s: DetectStack) => Promise<void>) {
  requireToolchainEnv();
  const repository = await detectImages();
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-detect-store-"));
  const port = await freePort();
  const stackName = uniqueStackName(`it-${appName}`);
  try {
    await withDatabase(async (dbUrl, dbName) => {
      const stack = await LocalWorkspace.createStack({ stackName, workDir: repoRoot });
      try {
        await stack.setAllConfig(
          {
            "rewind:app.name": { value: appName },
            "rewind:app.image": { value: repository },
            "rewind:app.port": { value: String(port) },
            "rewind:app.health.timeoutSeconds": { value: "15" },
            "rewind:database.url": { value: dbUrl, secret: true },
            "rewind:database.migrations.tool": { value: "alembic" },
            "rewind:database.migrations.revisions[0]": { value: "0001" },
            "rewind:database.migrations.revisions[1]": { value: "0002" },
            "rewind:backup.store.kind": { value: "fs" },
            "rewind:backup.store.path": { value: store },
            "rewind:gate.sql[0].query": { value: "select 1 from items" },
            "rewind:gate.sql[0].minRows": { value: "3" },
          },
          true,
        );
        await body({
          stack,
          dbUrl,
          dbName,
          appName,
          served: async () =>
            (
              (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as {
                version: string;
              }
            ).version,
          cli: (label, ...args) => timed(label, () => rewind(repoRoot, stackName, ...args)),
        });
      } finally {
        await stack.destroy({ onOutput: () => undefined });
        await stack.workspace.removeStack(stack.name);
      }
    });
  } finally {
    fs.rmSync(store, { recursive: true, force: true });
  }
}

function releaseArgs(version: string, revision: string, ...more: string[]): string[] {
  return [
    "release",
    "--set",
    `rewind:app.version=${version}`,
    "--set",
    `rewind:database.revision=${revision}`,
    ...more,
  ];
}

async function alembicRevision(url: string): Promise<string> {
  const rows = await sql<{ version_num: string }>(url, "SELECT version_num FROM alembic_version");
  return rows.map((r) => r.version_num).join(",");
}

/** `rewind:database.migrations.maintenance` as the stack's config holds it now. */
async function pinnedMaintenance(stack: Stack): Promise<unknown> {
  const config = await stack.getAllConfig();
  const database = JSON.parse(config["rewind:database"].value) as {
    migrations?: { maintenance?: unknown };
  };
  return database.migrations?.maintenance;
}

/** The scratch copies of this database still on the server. */
async function scratchCopies(url: string, database: string): Promise<unknown[]> {
  return sql(url, "SELECT datname FROM pg_database WHERE datname LIKE $1", [
    `rewind_rehearsal_%_${database}`,
  ]);
}

/** The trial containers of this app still in the engine, running or not. */
async function trialContainers(appName: string): Promise<string[]> {
  const { stdout } = await run("docker", [
    "ps",
    "--all",
    "--quiet",
    "--filter",
    "label=rewind.role=trial",
    "--filter",
    `label=rewind.service=${appName}`,
  ]);
  return stdout.split("\n").filter((id) => id !== "");
}

/** What every case ends with: 1.0.0 serves at 0001, the order pinned, nothing left over. */
async function assertBackAtOneWithMaintenance(s: DetectStack): Promise<void> {
  assert.equal(await s.served(), "1.0.0");
  assert.equal(await alembicRevision(s.dbUrl), "0001");
  assert.deepEqual(await columnsOfItems(s.dbUrl), ["id", "name"]);
  assert.deepEqual(await pinnedMaintenance(s.stack), ["0002"]);
  assert.deepEqual(await scratchCopies(s.dbUrl, s.dbName), []);
  assert.deepEqual(await trialContainers(s.appName), []);
}

const NOT_READY =
  /detected: 1\.0\.0 did not become ready on a copy of the schema at 0002 \(last answer to GET \/healthz\/ready: HTTP 503 [^\n]*\) within 15s \(health\.timeoutSeconds\); the rollback pins 0002 in rewind:database\.migrations\.maintenance/;

test("layersDetect: plan detects that 1.0.0 cannot run on 0002, rollback pins the maintenance order", async () => {
  await withDetectStack("layers-detect", async (s) => {
    expectCode(await s.cli("release 1.0.0 at 0001", ...releaseArgs("1.0.0", "0001")), 0, "1.0.0");
    const up = await s.cli("release 2.0.0 at 0002", ...releaseArgs("2.0.0", "0002"));
    expectCode(up, 0, "release 2.0.0 at 0002");
    // Nothing declares the rename: the way up took the usual order.
    assert.doesNotMatch(up.stderr, /maintenance order/);
    assert.equal(await s.served(), "2.0.0");
    assert.equal(await pinnedMaintenance(s.stack), undefined);

    const plan = await s.cli(
      "plan to 1.0.0",
      "plan",
      "--to-version",
      "1.0.0",
      "--skip-preview",
      "--json",
    );
    expectCode(plan, 0, "plan --to-version 1.0.0");
    assert.match(plan.stderr, /Starting 1\.0\.0 on a copy of the schema at 0002/);
    const p = JSON.parse(plan.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.equal(p.decision, "migration-down");
    assert.equal(p.schema.rehearsal.ok, true);
    assert.equal(p.order.kind, "maintenance");
    assert.deepEqual(p.order.maintenance, ["0002"]);
    assert.equal(p.order.appStart.ready, false);
    assert.equal(p.order.appStart.version, "1.0.0");
    assert.ok(p.order.appStart.seconds >= 15, `gave up after ${p.order.appStart.seconds}s`);
    assert.match(p.order.detection, NOT_READY);
    // The app's own answer, as its JSON body carries it.
    assert.match(p.order.detection, /column \\"name\\" does not exist/);
    assert.deepEqual(p.steps, ["backup", "migrate", "app", "gate"]);
    // The plan changed nothing: 2.0.0 serves at 0002, the config declares nothing yet, and the
    // copies and the trial's container are gone.
    assert.equal(await s.served(), "2.0.0");
    assert.equal(await alembicRevision(s.dbUrl), "0002");
    assert.equal(await pinnedMaintenance(s.stack), undefined);
    assert.deepEqual(await scratchCopies(s.dbUrl, s.dbName), []);
    assert.deepEqual(await trialContainers(s.appName), []);

    const down = await s.cli("rollback to 1.0.0", "rollback", "--to-version", "1.0.0", "--yes");
    expectCode(down, 0, "rollback --to-version 1.0.0 (detected maintenance order)");
    assert.match(
      down.stdout,
      /order {5}maintenance \(0002\): stop the app, migrate, start 1\.0\.0/,
    );
    assert.match(down.stdout, NOT_READY);
    await assertBackAtOneWithMaintenance(s);
  });
});

test("layersDetect: release's automatic rollback detects it before its migration down", async () => {
  await withDetectStack("layers-detect-auto", async (s) => {
    expectCode(await s.cli("release 1.0.0 at 0001", ...releaseArgs("1.0.0", "0001")), 0, "1.0.0");
    // The gate wants 100 rows of items, which has 3: the release fails after 0002 ran and
    // 2.0.0 took over, and rolls back by itself to 1.0.0 at 0001.
    const failed = await s.cli(
      "release 2.0.0 at 0002, gate fails",
      ...releaseArgs("2.0.0", "0002", "--set", "rewind:gate.sql[0].minRows=100"),
    );
    expectCode(failed, 1, "release 2.0.0 at 0002 with a failing gate (rolled back)");
    assert.match(failed.stderr, /Release FAILED \(update \d+, health checks failed\)/);
    assert.match(failed.stderr, /Starting 1\.0\.0 on a copy of the schema at 0002/);
    assert.match(failed.stderr, new RegExp(`Order: ${NOT_READY.source}`));
    assert.match(failed.stderr, /maintenance order for 0002/);
    assert.match(failed.stdout, /rolled back to update \d+ \(migration-down\)/);
    await assertBackAtOneWithMaintenance(s);
  });
});
