// A stack deployed while Rewind's resources were Node.js dynamic resources upgrades in place to
// the plugin's typed resources: the same containers keep running, no migration or backup runs
// again, and the state holds no dynamic type afterwards. The old code is a git worktree of the
// last commit with dynamic providers, built beside this checkout and sharing its node_modules.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { engine, listContainers } from "../../adapters/docker";
import { freePort } from "../../adapters/ports";
import { LABELS } from "../../domain/dockerLabels";
import { TestDatabase, createDatabase, sql } from "./postgres";
import { hunterStackConfig, repoRoot, requireToolchainEnv, uniqueStackName } from "./workspace";

/** The last commit whose resources were dynamic (`pulumi-nodejs:dynamic/rewind:*`). */
const DYNAMIC_COMMIT = "f197dbca2df5546d7661cff8f8edd722284c99c9";

const quiet = { onOutput: () => undefined };

describe("a stack of dynamic resources upgrades in place to the plugin's types", () => {
  let oldTree: string;
  let store: string;
  let stackName: string;
  let db: TestDatabase;
  let dbUrl: string;
  let oldStack: Stack;
  let newStack: Stack;

  // The app's replicas; the front door itself moves from the old router to HAProxy (issue 13).
  const containers = async () =>
    (await listContainers(engine(), { [LABELS.stack]: `rewind/${stackName}` }))
      .filter((c) => c.labels[LABELS.role] === "app")
      .map((c) => `${c.id} ${c.state}`)
      .sort();
  const migrationRows = async () =>
    (await sql<{ n: string }>(dbUrl, "select count(*) as n from public.rewind_schema_version"))[0]
      .n;
  const snapshots = () => fs.readdirSync(store).sort();

  before(async () => {
    requireToolchainEnv();
    oldTree = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-dynamic-"));
    execFileSync("git", ["-C", repoRoot, "worktree", "add", "--detach", oldTree, DYNAMIC_COMMIT], {
      stdio: "ignore",
    });
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(oldTree, "node_modules"));
    execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", oldTree]);
    store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-upgrade-store-"));
    db = await createDatabase();
    dbUrl = db.url;
    stackName = uniqueStackName("it-upgrade");
    const config = {
      ...hunterStackConfig({
        registry: process.env.REWIND_REGISTRY!,
        port: await freePort(),
        dbUrl,
        store,
      }),
      // Absolute: the two checkouts resolve relative paths against different roots.
      "rewind:database.migrations.dir": {
        value: path.join(repoRoot, "examples/hunter/migrations"),
      },
      "rewind:app.version": { value: "1.1.0" },
      "rewind:database.revision": { value: "0002" },
    };
    oldStack = await LocalWorkspace.createStack({ stackName, workDir: oldTree });
    await oldStack.setAllConfig(config, true);
    newStack = await LocalWorkspace.selectStack({ stackName, workDir: repoRoot });
    await newStack.setAllConfig(config, true);
  });

  after(async () => {
    try {
      await newStack?.destroy(quiet);
      await newStack?.workspace.removeStack(stackName);
    } finally {
      await db?.drop();
      execFileSync("git", ["-C", repoRoot, "worktree", "remove", "--force", oldTree]);
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("only the front door's image changes; the same app containers; no migration or backup again", async () => {
    // Deployed by the old code, then once more so its state is at rest (the first run's
    // backup is not part of a no-change run).
    await oldStack.up(quiet);
    await oldStack.up(quiet);
    const old = await oldStack.exportStack();
    const dynamic = old.deployment.resources.filter((r: { type: string }) =>
      r.type.startsWith("pulumi-nodejs:dynamic/rewind:"),
    );
    assert.ok(dynamic.length >= 4, `the old state has dynamic resources: ${dynamic.length}`);
    const before = {
      containers: await containers(),
      rows: await migrationRows(),
      snapshots: snapshots(),
    };

    const result = await newStack.up(quiet);
    const changes: Record<string, number> = { ...result.summary.resourceChanges };
    // One ImageRef created and one deleted: the front door's image, rewind-router then
    // rewind-haproxy (issue 13); nothing else is created, replaced or deleted.
    const expected: Record<string, number> = { create: 1, delete: 1 };
    for (const kind of ["create", "replace", "delete", "create-replacement", "delete-replaced"]) {
      assert.equal(changes[kind] ?? 0, expected[kind] ?? 0, `${kind}: ${JSON.stringify(changes)}`);
    }
    assert.deepEqual(await containers(), before.containers, "no container restarted");
    assert.equal(await migrationRows(), before.rows, "no migration ran again");
    assert.deepEqual(snapshots(), before.snapshots, "no backup ran again");

    const state = await newStack.exportStack();
    const types: string[] = state.deployment.resources.map((r: { type: string }) => r.type);
    assert.deepEqual(
      types.filter((t) => t.startsWith("pulumi-nodejs:dynamic") || t.includes("pulumi-nodejs")),
      [],
      "no dynamic type or provider is left",
    );
    for (const type of ["ImageRef", "DockerDeployment", "Migration", "HealthGate"]) {
      assert.ok(types.includes(`rewind:index:${type}`), `rewind:index:${type} in ${types}`);
    }
    // And the next no-change up is quiet.
    const again = await newStack.up(quiet);
    assert.deepEqual(
      Object.keys(again.summary.resourceChanges ?? {}).filter((k) => k !== "same"),
      [],
    );
  });
});
