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
import { promisify } from "node:util";
import { Stack } from "@pulumi/pulumi/automation";
import { columnsOfItems } from "./postgres";
import { expectCode } from "./rewindCli";
import {
  LayersStack,
  alembicVersion,
  buildLayersApp,
  release,
  scratchCopies,
  withLayersStack,
} from "./layersApp";

const run = promisify(execFile);

/** The fixture's images under this file's own repository name, built once for both cases. */
let images: Promise<string> | undefined;
const detectImages = () => (images ??= buildLayersApp("layers-app-detect", ["1.0.0", "2.0.0"]));

/**
 * A fresh layers-app stack of its own, named `appName`, whose 0002 rename nothing declares as
 * maintenance, with a 15 s readiness timeout and a gate that wants 3 rows of items.
 */
async function withDetectStack(appName: string, body: (s: LayersStack) => Promise<void>) {
  await withLayersStack(
    `it-${appName}`,
    await detectImages(),
    {
      "rewind:app.name": { value: appName },
      "rewind:app.health.timeoutSeconds": { value: "15" },
      "rewind:gate.sql[0].query": { value: "select 1 from items" },
      "rewind:gate.sql[0].minRows": { value: "3" },
    },
    body,
  );
}

/** `rewind:database.migrations.maintenance` as the stack's config holds it now. */
async function pinnedMaintenance(stack: Stack): Promise<unknown> {
  const config = await stack.getAllConfig();
  const database = JSON.parse(config["rewind:database"].value) as {
    migrations?: { maintenance?: unknown };
  };
  return database.migrations?.maintenance;
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
async function assertBackAtOneWithMaintenance(s: LayersStack, appName: string): Promise<void> {
  assert.equal(await s.served(), "1.0.0");
  assert.equal(await alembicVersion(s.dbUrl), "0001");
  assert.deepEqual(await columnsOfItems(s.dbUrl), ["id", "name"]);
  assert.deepEqual(await pinnedMaintenance(s.stack), ["0002"]);
  assert.deepEqual(await scratchCopies(s.dbUrl, s.dbName), []);
  assert.deepEqual(await trialContainers(appName), []);
}

const NOT_READY =
  /detected: 1\.0\.0 did not become ready on a copy of the schema at 0002 \(last answer to GET \/healthz\/ready: HTTP 503 [^\n]*\) within 15s \(health\.timeoutSeconds\); the rollback pins 0002 in rewind:database\.migrations\.maintenance/;

test("layersDetect: plan detects that 1.0.0 cannot run on 0002, rollback pins the maintenance order", async () => {
  const app = "layers-detect";
  await withDetectStack(app, async (s) => {
    expectCode(await release(s, "1.0.0", "0001"), 0, "release 1.0.0 at 0001");
    const up = await release(s, "2.0.0", "0002");
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
    assert.equal(await alembicVersion(s.dbUrl), "0002");
    assert.equal(await pinnedMaintenance(s.stack), undefined);
    assert.deepEqual(await scratchCopies(s.dbUrl, s.dbName), []);
    assert.deepEqual(await trialContainers(app), []);

    const down = await s.cli("rollback to 1.0.0", "rollback", "--to-version", "1.0.0", "--yes");
    expectCode(down, 0, "rollback --to-version 1.0.0 (detected maintenance order)");
    assert.match(
      down.stdout,
      /order {5}maintenance \(0002\): stop the app, migrate, start 1\.0\.0/,
    );
    assert.match(down.stdout, NOT_READY);
    await assertBackAtOneWithMaintenance(s, app);
  });
});

test("layersDetect: release's automatic rollback detects it before its migration down", async () => {
  const app = "layers-detect-auto";
  await withDetectStack(app, async (s) => {
    expectCode(await release(s, "1.0.0", "0001"), 0, "release 1.0.0 at 0001");
    // The gate wants 100 rows of items, which has 3: the release fails after 0002 ran and
    // 2.0.0 took over, and rolls back by itself to 1.0.0 at 0001.
    const failed = await release(s, "2.0.0", "0002", "--set", "rewind:gate.sql[0].minRows=100");
    expectCode(failed, 1, "release 2.0.0 at 0002 with a failing gate (rolled back)");
    assert.match(failed.stderr, /Release FAILED \(update \d+, health checks failed\)/);
    assert.match(failed.stderr, /Starting 1\.0\.0 on a copy of the schema at 0002/);
    assert.match(failed.stderr, new RegExp(`Order: ${NOT_READY.source}`));
    assert.match(failed.stderr, /maintenance order for 0002/);
    assert.match(failed.stdout, /rolled back to update \d+ \(migration-down\)/);
    await assertBackAtOneWithMaintenance(s, app);
  });
});
