// @serial: stops PostgreSQL, which every other test file uses
// What `rewind` must never do, on the real program (hunter's images, Docker, PostgreSQL), on one
// stack in this order:
// 1. a release the policy pack refuses (no backup before a migration) exits 2 in its preview and
//    changes nothing: the config file, the schema, the containers, no update in the history;
// 2. two releases at once: the second waits for the first's config lock, then exits 2 naming
//    it; its pins never reach the config file;
// 3. PostgreSQL stopped before a release: its preview cannot run, so it exits 3 and changes
//    nothing; stopped once the preview passed: the update and its automatic rollback both fail,
//    and the config is left at what the user asked for, and it says so;
// 4. a `pulumi up` killed (SIGKILL of its process tree) during the backup: `rewind status`
//    names the stale lock, the unfinished operation and the partial snapshot; `rewind release`
//    refuses until `rewind recover` clears them; then the release converges.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { readDatabaseRevision } from "../../adapters/postgres";
import { adminUrl, sql } from "./postgres";
import { CliResult, expectCode, pulumi, rewind, rewindWith, startRewind } from "./rewindCli";
import { hunterStackConfig, repoRoot, requireToolchainEnv, uniqueStackName } from "./workspace";

const run = promisify(execFile);
const realProgram = fs.existsSync(path.join(repoRoot, "dist", "index.js"));

/** The ids of the stack's running containers, sorted. */
async function containers(stack: string): Promise<string[]> {
  const { stdout } = await run(
    "docker",
    ["ps", "--no-trunc", "--format", '{{.ID}} {{.Label "rewind.stack"}}'],
    { env: process.env },
  );
  return stdout
    .split("\n")
    .filter((l) => l.includes(stack))
    .map((l) => l.split(" ")[0])
    .sort();
}

/** The stack's updates, newest first, with their resource changes. */
async function updates(
  stack: string,
): Promise<{ result: string; resourceChanges?: Record<string, number> }[]> {
  return JSON.parse(await pulumi(repoRoot, "stack", "history", "--json", "--stack", stack)) as {
    result: string;
    resourceChanges?: Record<string, number>;
  }[];
}

/** `pid` and all its descendants, read from /proc. */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

async function pgCtl(action: "stop" | "start"): Promise<void> {
  if (action === "start") {
    await run(path.join(repoRoot, "scripts", "services"), ["start"], { env: process.env });
    return;
  }
  const bins = fs.readdirSync("/usr/lib/postgresql").sort();
  const pgctl = path.join("/usr/lib/postgresql", bins[bins.length - 1], "bin", "pg_ctl");
  const data = path.join(repoRoot, ".rewind", "pg", "data");
  await run("runuser", ["-u", "postgres", "--", pgctl, "stop", "-D", data, "-m", "fast", "-w"]);
}

test(
  "rewind changes nothing it must not: policy refusal, two releases, a failed rollback, a killed update",
  { skip: realProgram ? false : "dist/index.js does not exist yet (the program is not built)" },
  async () => {
    requireToolchainEnv();
    const registry = process.env.REWIND_REGISTRY;
    if (!registry || !process.env.DOCKER_HOST) {
      throw new Error("DOCKER_HOST or REWIND_REGISTRY is not set: run scripts/test");
    }
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-safety-store-"));
    const stackName = uniqueStackName("it-safety");
    const port = await freePort();
    const served = async () =>
      ((await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { version: string })
        .version;
    const stackFile = path.join(repoRoot, "stacks", `Pulumi.${stackName}.yaml`);
    const cli = (...args: string[]) => rewind(repoRoot, stackName, ...args);
    const configSet = (key: string, value: string) =>
      pulumi(repoRoot, "config", "set", "--path", "--stack", stackName, key, value);

    // Not withDatabase: its admin connection would not survive PostgreSQL's restart in step 3.
    const dbName = `rewind_db_${Date.now().toString(36)}`;
    await sql(adminUrl(), `CREATE DATABASE ${dbName}`);
    const url = new URL(adminUrl());
    url.pathname = `/${dbName}`;
    const dbUrl = url.toString();
    try {
      const stack = await LocalWorkspace.createStack({ stackName, workDir: repoRoot });
      try {
        await stack.setAllConfig(hunterStackConfig({ registry, port, dbUrl, store }), true);
        const v1 = await cli(
          "release",
          "--set",
          "rewind:app.version=1.0.0",
          "--set",
          "rewind:database.revision=0001",
        );
        expectCode(v1, 0, "release 1.0.0 at 0001");

        // 1. The policy pack refuses a migration without a backup: exit 2, nothing changed.
        await configSet("rewind:backup.beforeMigration", "false");
        const bytes = fs.readFileSync(stackFile);
        const running = await containers(stackName);
        const before = (await updates(stackName)).length;
        const refused = await cli("release", "--set", "rewind:database.revision=0002");
        expectCode(refused, 2, "release without a backup before the migration");
        assert.match(
          refused.stderr,
          /Release refused by its preview, before anything changed:\n {2}Migration hunter-migration\n {4}.* \(policy migration-requires-backup on Migration hunter-migration\)/,
        );
        assert.match(refused.stderr, /Nothing was changed and not rolled back/);
        assert.doesNotMatch(refused.stderr, /Rolling back/);
        assert.ok(fs.readFileSync(stackFile).equals(bytes), "the config file, byte for byte");
        assert.equal(await readDatabaseRevision(dbUrl), "0001");
        assert.deepEqual(await containers(stackName), running, "the same containers");
        assert.equal((await updates(stackName)).length, before, "no update in the history");
        assert.equal(await served(), "1.0.0");
        await configSet("rewind:backup.beforeMigration", "true");

        // 2. Two releases at once: the second waits for the first's lock, then exits 2.
        const first = cli(
          "release",
          "--set",
          "rewind:app.version=1.1.0",
          "--set",
          "rewind:database.revision=0002",
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
        const second = await rewindWith(
          { REWIND_LOCK_WAIT_SECONDS: "1" },
          repoRoot,
          stackName,
          "release",
          "--set",
          "rewind:app.version=1.1.0",
          "--set",
          "rewind:database.revision=0002",
          "--set",
          "rewind:app.replicas=3",
        );
        expectCode(second, 2, "the second release at once");
        assert.match(
          second.stderr,
          new RegExp(
            `stack ${stackName}'s config is held by rewind release --set rewind:app\\.version=1\\.1\\.0 ` +
              `--set rewind:database\\.revision=0002 \\(pid \\d+ on host ${os.hostname()} since `,
          ),
        );
        expectCode(await first, 0, "the first release");
        const config = JSON.parse(
          await pulumi(repoRoot, "config", "--json", "--show-secrets", "--stack", stackName),
        ) as Record<string, { objectValue?: Record<string, unknown> }>;
        assert.equal(config["rewind:app"].objectValue?.replicas, 2, "no pin of the second");
        assert.equal(config["rewind:app"].objectValue?.version, "1.1.0");
        assert.equal(await served(), "1.1.0");
        assert.equal(await readDatabaseRevision(dbUrl), "0002");

        // 3. PostgreSQL stopped before the release: the preview cannot read the database, so
        // nothing is judged and nothing runs (exit 3).
        const unchanged = fs.readFileSync(stackFile);
        const updatesBefore = (await updates(stackName)).length;
        await pgCtl("stop");
        let unjudged: CliResult;
        try {
          unjudged = await cli("release", "--set", "rewind:app.replicas=3");
        } finally {
          await pgCtl("start");
        }
        expectCode(unjudged, 3, "release with PostgreSQL down");
        assert.match(
          unjudged.stderr,
          /Release did not start: the preview could not check the pins: cannot connect to database "rewind_db_\w+" at 127\.0\.0\.1:\d+/,
        );
        assert.match(unjudged.stderr, /Nothing was changed and not rolled back/);
        assert.doesNotMatch(unjudged.stderr, /Rolling back|Release FAILED/);
        assert.ok(fs.readFileSync(stackFile).equals(unchanged), "the config file, byte for byte");
        assert.equal((await updates(stackName)).length, updatesBefore, "no update in the history");

        // Stopped once the preview passed: the release and its rollback fail; the config keeps
        // the pins the user asked for, not the rollback's.
        const running3 = startRewind(
          {},
          repoRoot,
          stackName,
          "release",
          "--set",
          "rewind:app.replicas=3",
        );
        let down: CliResult;
        try {
          await running3.stderrMatches(/Releasing stack /);
          await pgCtl("stop");
          down = await running3.result;
        } finally {
          await pgCtl("start");
        }
        expectCode(down, 3, "release and rollback with PostgreSQL down");
        assert.match(down.stderr, /Rollback FAILED too: /);
        assert.match(
          down.stderr,
          /The stack's config file is restored to what this release asked for \(--set rewind:app\.replicas=3\)/,
        );
        const asked = JSON.parse(
          await pulumi(repoRoot, "config", "--json", "--show-secrets", "--stack", stackName),
        ) as Record<string, { objectValue?: Record<string, unknown> }>;
        assert.equal(asked["rewind:app"].objectValue?.replicas, 3);
        assert.equal(asked["rewind:database"].objectValue?.revision, "0002");
        await configSet("rewind:app.replicas", "2");

        // 4. A `pulumi up` killed while it takes the backup of a downgrade to 1.0.0/0001.
        await sql(
          dbUrl,
          `CREATE TABLE padding AS SELECT g, md5(random()::text) || md5(random()::text) ||
             md5(random()::text) || md5(random()::text) AS junk
             FROM generate_series(1, 600000) g`,
        );
        await configSet("rewind:app.version", "1.0.0");
        await configSet("rewind:database.revision", "0001");
        const pinned = fs.readFileSync(stackFile);
        const up = spawn(
          "pulumi",
          ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", stackName],
          { cwd: repoRoot, env: process.env, detached: true, stdio: "ignore" },
        );
        const partial = await new Promise<string>((resolve, reject) => {
          const deadline = Date.now() + 120_000;
          const poll = setInterval(() => {
            const found = fs.readdirSync(store).find((n) => n.startsWith(".partial-"));
            if (found !== undefined || Date.now() > deadline) {
              clearInterval(poll);
              if (found === undefined) reject(new Error("no backup started within 2 minutes"));
              else resolve(found);
            }
          }, 25);
        });
        // The whole tree, as a crash would: pulumi starts its plugins in process groups of their
        // own, so killing its group alone leaves the provider running the backup to its end.
        const tree = processTree(up.pid as number);
        process.kill(-(up.pid as number), "SIGKILL");
        for (const pid of tree) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
        }
        await new Promise((resolve) => up.once("close", resolve));

        const status = await cli("status");
        expectCode(status, 0, "status after the kill");
        assert.match(
          status.stdout,
          new RegExp(`an update was interrupted: pulumi pid ${up.pid} \\(since [^)]+\\) is gone`),
        );
        assert.match(
          status.stdout,
          /operation it began never finished: creating BackupSnapshot hunter-backup/,
        );
        assert.match(
          status.stdout,
          new RegExp(
            `partial snapshot \\(never verified\\) in the backup store: ${store}/${partial}`,
          ),
        );
        assert.doesNotMatch(status.stdout, /in progress/);

        const blocked = await cli("release");
        expectCode(blocked, 2, "release after the kill, without --recover");
        assert.match(
          blocked.stderr,
          /rewind recover \(or rewind release --recover\) will:\n {2}1\. remove the lock/,
        );
        assert.match(blocked.stderr, /Nothing was changed; run rewind recover --stack /);
        assert.ok(fs.readFileSync(stackFile).equals(pinned), "the config file as it was");

        assert.ok(fs.existsSync(path.join(store, partial)), "the killed backup stays partial");
        const recovered = await cli("recover");
        expectCode(recovered, 0, "recover");
        assert.match(recovered.stderr, /3\. remove the partial snapshots/);
        assert.deepEqual(
          fs.readdirSync(store).filter((n) => n.startsWith(".partial-")),
          [],
          "no partial snapshot left",
        );
        const exported = await stack.exportStack();
        assert.equal(
          (exported.deployment as { pending_operations?: unknown[] }).pending_operations?.length ??
            0,
          0,
        );
        const clean = await cli("status");
        assert.doesNotMatch(clean.stdout, /interrupted|never finished|partial/);

        const again = await cli("release");
        expectCode(again, 0, "release after recover");
        assert.equal(await served(), "1.0.0");
        assert.equal(await readDatabaseRevision(dbUrl), "0001");
      } finally {
        await stack.destroy({ onOutput: () => undefined }).catch(() => undefined);
        await stack.workspace.removeStack(stack.name, { force: true });
      }
    } finally {
      await sql(adminUrl(), `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      fs.rmSync(store, { recursive: true, force: true });
    }
  },
);
