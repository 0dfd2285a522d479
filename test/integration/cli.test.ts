// The `rewind` command on the real engine, run as a user runs it (node bin/rewind, real exit
// codes, real stderr), against:
// 1. a stand-in program (test/fixtures/cli) with the contract's config and outputs and a gate
//    and migration that fail on demand: release, automatic rollback, plan, rollback by history,
//    report and --notify to a local webhook, secrets kept secret. No Docker or PostgreSQL.
// 2. the real program (dist/index.js), when it exists: the same story with hunter's images,
//    asserting the version the app serves and the schema revision.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { readDatabaseRevision } from "../../adapters/postgres";
import { readManifest } from "../../adapters/backupStore";
import { startWebhookReceiver } from "../support/webhookReceiver";
import { withDatabase } from "./postgres";
import { expectCode, pulumi, rewind } from "./rewindCli";
import { hunterStackConfig, repoRoot, requireToolchainEnv, uniqueStackName } from "./workspace";

// The stand-in's resources only resemble Rewind's (its Migration has no fromRevision), so the
// project gets a pack of its own, as a team's repository may: rewind runs the project's
// policy/ when there is one, else Rewind's.
function writeStandInPolicyPack(dir: string): void {
  const pack = path.join(dir, "policy");
  fs.mkdirSync(pack);
  fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(pack, "node_modules"));
  fs.writeFileSync(path.join(pack, "PulumiPolicy.yaml"), "runtime: nodejs\n");
  fs.writeFileSync(
    path.join(pack, "package.json"),
    JSON.stringify({ name: "stand-in-policy", version: "0.1.0", main: "index.js" }),
  );
  fs.writeFileSync(
    path.join(pack, "index.js"),
    [
      'const { PolicyPack } = require("@pulumi/policy");',
      'new PolicyPack("stand-in", {',
      "  policies: [",
      '    { name: "stand-in", description: "The stand-in program has no rules.",',
      '      enforcementLevel: "advisory", validateResource: () => undefined },',
      "  ],",
      "});",
      "",
    ].join("\n"),
  );
}

function writeMigrations(dir: string, revisions: string[], failing: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const r of revisions) {
    const name = r === failing ? `${r}_fails` : `${r}_step`;
    fs.writeFileSync(path.join(dir, `${name}.up.sql`), `-- ${r} up\n`);
    fs.writeFileSync(path.join(dir, `${name}.down.sql`), `-- ${r} down\n`);
  }
}

test("rewind on a stand-in program: release, automatic rollback, plan, rollback, report", async () => {
  requireToolchainEnv();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-cli-"));
  const stack = uniqueStackName("cli");
  const receiver = await startWebhookReceiver();
  const stackFile = path.join(dir, "stacks", `Pulumi.${stack}.yaml`);
  try {
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      [
        "name: rewind-cli-fixture",
        "runtime: nodejs",
        `main: ${path.join(repoRoot, "dist", "test", "fixtures", "cli", "program.js")}`,
        "stackConfigDir: stacks",
        "",
      ].join("\n"),
    );
    writeMigrations(path.join(dir, "migrations"), ["0001", "0002", "0003", "0004"], "0004");
    writeStandInPolicyPack(dir);
    await LocalWorkspace.createStack({ stackName: stack, workDir: dir });
    await pulumi(
      dir,
      "config",
      "set-all",
      "--stack",
      stack,
      "--path",
      "--plaintext",
      "rewind:app.name=hunter",
      "--plaintext",
      "rewind:app.image=127.0.0.1:5000/hunter",
      "--plaintext",
      "rewind:app.version=0.9.0-bad",
      "--plaintext",
      "rewind:app.port=18000",
      "--plaintext",
      "rewind:app.env.LOG_LEVEL=info",
      "--secret",
      "rewind:app.env.API_KEY=k-secret-4711",
      "--secret",
      "rewind:database.url=postgres://hunter:pw-secret-0815@127.0.0.1:5432/hunter",
      "--plaintext",
      "rewind:database.migrations.tool=sql",
      "--plaintext",
      `rewind:database.migrations.dir=${path.join(dir, "migrations")}`,
      "--plaintext",
      "rewind:database.revision=0001",
      "--plaintext",
      "rewind:backup.store.kind=fs",
      "--plaintext",
      `rewind:backup.store.path=${path.join(dir, "store")}`,
      "--plaintext",
      "rewind:gate.sql[0].query=select 1 from items",
    );

    // A first release that fails has nothing to roll back to: exit 3.
    const first = await rewind(dir, stack, "release");
    expectCode(first, 3, "release of 0.9.0-bad on a new stack");
    assert.match(
      first.stderr,
      /Not rolled back: health checks failed and no earlier update succeeded/,
    );
    assert.match(first.stderr, /\] failed {4}HealthGate hunter-gate/, "live progress on stderr");

    expectCode(
      await rewind(dir, stack, "release", "--set", "rewind:app.version=1.0.0"),
      0,
      "release 1.0.0",
    );
    const upgrade = await rewind(
      dir,
      stack,
      "release",
      "--set",
      "rewind:app.version=1.1.0",
      "--set",
      "rewind:database.revision=0002",
    );
    expectCode(upgrade, 0, "release 1.1.0 at 0002");
    assert.match(
      upgrade.stdout,
      /^Released stack .* app 1\.1\.0 \(sha256:[0-9a-f]{12}\), schema 0002, snapshot \S+/,
    );

    // history: one history call; the snapshot taken during update 3 is found in the store.
    const history = await rewind(dir, stack, "history", "--json");
    expectCode(history, 0, "history --json");
    const rows = (JSON.parse(history.stdout) as { updates: Record<string, unknown>[] }).updates;
    assert.deepEqual(
      rows.map((r) => [r.number, r.result, r.appVersion, r.revision]),
      [
        [3, "succeeded", "1.1.0", "0002"],
        [2, "succeeded", "1.0.0", "0001"],
        [1, "failed", "0.9.0-bad", "0001"],
      ],
    );
    assert.match(String(rows[0].digest), /^sha256:[0-9a-f]{64}$/);
    const snapshot = String(rows[0].snapshotId);
    assert.match(snapshot, /-hunter-0001-/);

    // plan: previews in a copy of the config file; the stack's own file is not touched.
    const before = fs.readFileSync(stackFile, "utf8");
    const plan = await rewind(dir, stack, "plan", "--to-update", "2");
    expectCode(plan, 0, "plan --to 2");
    assert.match(plan.stdout, /app {7}1\.1\.0 → 1\.0\.0/);
    assert.match(plan.stdout, /schema {4}0002 → 0001: down 1 step, every step reversible/);
    assert.match(
      plan.stdout,
      new RegExp(`snapshot  ${snapshot} \\(taken .* at 0001, app \\S+, checksum verified\\)`),
    );
    assert.match(
      plan.stdout,
      /decision  migration-down: Database Migration Rollback \(runbook method 2\), target < 10 minutes/,
    );
    assert.match(plan.stdout, /preview {3}\d+ to update/);
    assert.equal(
      fs.readFileSync(stackFile, "utf8"),
      before,
      "plan left the stack's config file as it was",
    );

    // A release whose gate fails is rolled back to the last known-good config: exit 1.
    const bad = await rewind(dir, stack, "release", "--set", "rewind:app.version=1.2.0-bad");
    expectCode(bad, 1, "release 1.2.0-bad");
    assert.match(bad.stdout, /^Release failed and was rolled back to update 3 \(app-only\)/);
    const outputs = JSON.parse(
      await pulumi(dir, "stack", "output", "--json", "--stack", stack),
    ) as Record<string, unknown>;
    assert.equal(outputs.appVersion, "1.1.0");

    // report + --notify: the Markdown of the runbook template and the chat message.
    const reportFile = path.join(dir, "report.md");
    const report = await rewind(
      dir,
      stack,
      "report",
      "--out",
      reportFile,
      "--notify",
      receiver.url,
    );
    expectCode(report, 0, "report --notify");
    const markdown = fs.readFileSync(reportFile, "utf8");
    assert.match(markdown, /\*\*Severity\*\*: Critical \(decision matrix: health checks fail\)/);
    assert.match(
      markdown,
      /\*\*Rollback Method\*\*: Application Rollback \(runbook method 1\) — app-only/,
    );
    assert.match(markdown, /\| app version \| `1\.2\.0-bad` \| `1\.1\.0` \|/);
    assert.equal(receiver.requests.length, 1);
    const message = JSON.parse(receiver.requests[0].body) as {
      text: string;
      rewind: Record<string, unknown>;
    };
    // Before is what ran when the rollback started: 1.2.0-bad was only tried.
    assert.match(
      message.text,
      /^Rolled back on stack .*: app 1\.1\.0 → 1\.1\.0, schema 0002 → 0002 \(update 4 tried app 1\.2\.0-bad, schema 0002\)/,
    );
    assert.deepEqual(
      [message.rewind.update, message.rewind.failedUpdate, message.rewind.severity],
      [5, 4, "Critical"],
    );

    // A failed migration goes back down to the known-good revision: exit 1.
    const migration = await rewind(dir, stack, "release", "--set", "rewind:database.revision=0004");
    expectCode(migration, 1, "release at 0004 (its migration fails)");
    assert.match(migration.stderr, /Release FAILED \(update 6, migration failed\)/);
    assert.match(migration.stdout, /rolled back to update 5 \(migration-down\)/);

    // rollback by history: update 2's config (1.0.0 at 0001), secrets written back as secrets.
    const rollback = await rewind(dir, stack, "rollback", "--to-update", "2", "--yes");
    expectCode(rollback, 0, "rollback --to 2 --yes");
    assert.match(
      rollback.stdout,
      /Rolled back stack .* to update 2 in \S+: app 1\.0\.0 \(sha256:[0-9a-f]{12}\), schema 0001/,
    );
    const yaml = fs.readFileSync(stackFile, "utf8");
    assert.doesNotMatch(yaml, /pw-secret-0815|k-secret-4711/, "no secret in plaintext");
    assert.match(yaml, /url:\s+secure: /);
    assert.match(yaml, /API_KEY:\s+secure: /);
    const config = JSON.parse(
      await pulumi(dir, "config", "--json", "--show-secrets", "--stack", stack),
    ) as Record<string, { objectValue?: Record<string, unknown> }>;
    assert.equal(config["rewind:app"].objectValue?.version, "1.0.0");
    assert.equal(config["rewind:app"].objectValue?.port, 18000, "numbers stay numbers");
    assert.equal(config["rewind:database"].objectValue?.revision, "0001", "revisions stay text");
    assert.equal(
      config["rewind:database"].objectValue?.url,
      "postgres://hunter:pw-secret-0815@127.0.0.1:5432/hunter",
    );

    const last = await rewind(dir, stack, "history");
    expectCode(last, 0, "history");
    assert.match(last.stdout, /^8 {2}\S+ \S+ {2}succeeded {2}1\.0\.0 /m);
    assert.match(last.stdout, /^4 {2}\S+ \S+ {2}failed {5}1\.2\.0-bad /m);
    const messages = JSON.parse(
      await pulumi(dir, "stack", "history", "--json", "--stack", stack),
    ) as { message: string }[];
    assert.deepEqual(
      messages.slice(0, 4).map((m) => m.message),
      [
        "rewind rollback --to-update 2",
        "rewind release: rollback to update 5 after update 6 failed (migration failed); migration-down",
        "rewind release --set rewind:database.revision=0004",
        "rewind release: rollback to update 3 after update 4 failed (health checks failed); app-only",
      ],
    );

    // Bad input changes nothing: exit 2.
    const unchanged = fs.readFileSync(stackFile, "utf8");
    const failedTarget = await rewind(dir, stack, "rollback", "--to", "4", "--yes");
    expectCode(failedTarget, 2, "rollback --to a failed update");
    assert.match(
      failedTarget.stderr,
      /update 4 is failed; only a succeeded update's config can be pinned again/,
    );
    const badSet = await rewind(dir, stack, "release", "--set", "rewind:app.replicas=zero");
    expectCode(badSet, 2, "release with a bad --set");
    const badValue = await rewind(dir, stack, "release", "--set", "rewind:app.version=latest");
    expectCode(badValue, 2, "release of latest");
    assert.match(
      badValue.stderr,
      /rewind:app\.version is "latest"; allowed: an immutable image tag/,
    );
    assert.equal(
      fs.readFileSync(stackFile, "utf8"),
      unchanged,
      "bad input left the config as it was",
    );
  } finally {
    await receiver.close();
    const ws = await LocalWorkspace.create({ workDir: dir });
    await ws.removeStack(stack, { force: true }).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The same story through the real program: Docker, the registry, PostgreSQL, hunter's images.
const realProgram = fs.existsSync(path.join(repoRoot, "dist", "index.js"));

test(
  "rewind on the real program: release, gate failure rolled back, plan, rollback by history, report",
  { skip: realProgram ? false : "dist/index.js does not exist yet (the program is not built)" },
  async () => {
    requireToolchainEnv();
    const registry = process.env.REWIND_REGISTRY;
    if (!registry || !process.env.DOCKER_HOST) {
      throw new Error("DOCKER_HOST or REWIND_REGISTRY is not set: run scripts/test");
    }
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-cli-store-"));
    const receiver = await startWebhookReceiver();
    const stackName = uniqueStackName("it-cli");
    const port = await freePort();
    const served = async () =>
      ((await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string })
        .version;
    await withDatabase(async (dbUrl) => {
      const stack = await LocalWorkspace.createStack({ stackName, workDir: repoRoot });
      const stackFile = path.join(repoRoot, "stacks", `Pulumi.${stackName}.yaml`);
      try {
        await stack.setAllConfig(hunterStackConfig({ registry, port, dbUrl, store }), true);
        const cli = (...args: string[]) => rewind(repoRoot, stackName, ...args);

        const v1 = await cli(
          "release",
          "--set",
          "rewind:app.version=1.0.0",
          "--set",
          "rewind:database.revision=0001",
        );
        expectCode(v1, 0, "release 1.0.0 at 0001");
        assert.equal(await served(), "1.0.0");
        const v2 = await cli(
          "release",
          "--set",
          "rewind:app.version=1.1.0",
          "--set",
          "rewind:database.revision=0002",
        );
        expectCode(v2, 0, "release 1.1.0 at 0002");
        assert.equal(await served(), "1.1.0");
        assert.equal(await readDatabaseRevision(dbUrl), "0002");

        const history = await cli("history", "--json");
        expectCode(history, 0, "history");
        const rows = (JSON.parse(history.stdout) as { updates: Record<string, unknown>[] }).updates;
        assert.deepEqual(
          rows.map((r) => [r.number, r.result, r.appVersion, r.revision]),
          [
            [2, "succeeded", "1.1.0", "0002"],
            [1, "succeeded", "1.0.0", "0001"],
          ],
        );
        assert.match(String(rows[0].digest), /^sha256:[0-9a-f]{64}$/);
        const snapshot = String(rows[0].snapshotId);
        assert.equal(readManifest(store, snapshot).revision, "0001");

        const before = fs.readFileSync(stackFile, "utf8");
        const plan = await cli("plan", "--to-update", "1");
        expectCode(plan, 0, "plan --to 1");
        assert.match(plan.stdout, /schema {4}0002 → 0001: down 1 step, every step reversible/);
        assert.match(plan.stdout, new RegExp(`snapshot  ${snapshot} `));
        assert.match(plan.stdout, /decision  migration-down/);
        assert.equal(fs.readFileSync(stackFile, "utf8"), before, "plan left the config file alone");
        assert.equal(await served(), "1.1.0");

        const bad = await cli("release", "--set", "rewind:app.version=1.2.0-bad");
        expectCode(bad, 1, "release 1.2.0-bad");
        assert.match(bad.stdout, /rolled back to update 2 \(app-only\)/);
        assert.equal(await served(), "1.1.0");

        const report = await cli("report", "--notify", receiver.url);
        expectCode(report, 0, "report");
        assert.match(report.stdout, /\*\*Severity\*\*: Critical/);
        assert.match(report.stdout, /\| app version \| `1\.2\.0-bad` \| `1\.1\.0` \|/);
        assert.equal(receiver.requests.length, 1);

        const rollback = await cli("rollback", "--to-version", "1.0.0", "--yes");
        expectCode(rollback, 0, "rollback --to 1");
        assert.equal(await served(), "1.0.0");
        assert.equal(await readDatabaseRevision(dbUrl), "0001");
        assert.doesNotMatch(
          fs.readFileSync(stackFile, "utf8"),
          new RegExp(new URL(dbUrl).password),
        );
      } finally {
        await stack.destroy({ onOutput: () => undefined });
        await stack.workspace.removeStack(stack.name);
      }
    }).finally(async () => {
      await receiver.close();
      fs.rmSync(store, { recursive: true, force: true });
    });
  },
);
