// Rewind in a team's own repository (issue 11): a project in a temporary folder outside this
// repository, with a service of the test's own (its own image, built here, and its own SQL
// migrations), Rewind installed into it as from a registry (packedInstall.ts: the tarball of
// `npm pack`, then `npm ci --offline`). From that folder only: rewind init,
// release, a second release with a migration, backup, history, rollback by time, status,
// report and the gate with the database URL from the environment; then a release killed in its
// update, which `rewind recover` clears, and the state file a pulumi killed while writing it
// leaves empty, which `rewind recover` repairs. Every piece of state the stack leaves is under
// the project's .rewind/.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../../adapters/ports";
import { TestDatabase, createDatabase, sql } from "./postgres";
import { CliResult, expectCode } from "./rewindCli";
import { installPacked } from "./packedInstall";
import { repoRoot, requireToolchainEnv, timed } from "./workspace";

const FIXTURE = path.join(repoRoot, "test", "fixtures", "team");
const STACK = "dev";

/** The team's image, one tag per version, on scripts/images' node base. */
function buildTeamImage(repository: string, versions: readonly string[]): void {
  const base = `rewind/node-base:${process.version.slice(1)}`;
  const env = { ...process.env, DOCKER_BUILDKIT: "0" };
  const found = spawnSync("docker", ["image", "inspect", base], { stdio: "ignore", env });
  assert.equal(found.status, 0, `${base} is not in the local engine: run scripts/images`);
  for (const version of versions) {
    const ref = `${repository}:${version}`;
    const args = ["build", "-q", "--build-arg", `BASE_IMAGE=${base}`];
    run("docker", [...args, "--build-arg", `APP_VERSION=${version}`, "-t", ref, FIXTURE], env);
    run("docker", ["push", ref], env);
  }
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): string {
  const result = spawnSync(command, [...args], { env, encoding: "utf8" });
  assert.equal(result.status, 0, `${command} ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** The empty `.attrs` files under `dir`, sorted. */
function emptyAttrsFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((name) => path.join(dir, name))
    .filter((file) => file.endsWith(".attrs") && fs.statSync(file).size === 0)
    .sort();
}

/** GET `url`, polled until it answers 200 or `timeoutMs` passes. */
async function waitForBody(url: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return (await res.text()).trim();
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) assert.fail(`${url} did not answer 200 in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("Rewind in a team's own repository", () => {
  let dir: string;
  let db: TestDatabase;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let image: string;

  /** `npx rewind <args>` in the team's folder, as a person types it there. */
  function rewind(args: readonly string[], extra: Record<string, string> = {}): Promise<CliResult> {
    return runIn(dir, [path.join(dir, "node_modules", ".bin", "rewind"), ...args], extra);
  }

  /** Runs `argv` in `cwd` with the team's environment. */
  function runIn(
    cwd: string,
    argv: readonly string[],
    extra: Record<string, string> = {},
  ): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), {
        cwd,
        env: { ...env, ...extra },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  const revisionOf = async () =>
    (
      await sql<{ revision: string }>(
        db.url,
        "SELECT revision FROM public.rewind_schema_version ORDER BY id DESC LIMIT 1",
      )
    )[0]?.revision;

  before(async () => {
    requireToolchainEnv();
    const registry = process.env.REWIND_REGISTRY;
    assert.ok(registry && process.env.DOCKER_HOST, "REWIND_REGISTRY or DOCKER_HOST is not set");
    image = `${registry}/rewind-team-shop`;
    await timed("team image (2 versions)", async () => buildTeamImage(image, ["1.0.0", "2.0.0"]));
    // Outside this repository: nothing may be found through Rewind's own checkout.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-team-"));
    assert.ok(path.relative(repoRoot, dir).startsWith(".."), `${dir} is inside ${repoRoot}`);
    fs.cpSync(path.join(FIXTURE, "migrations"), path.join(dir, "migrations"), { recursive: true });
    await timed("npm pack + npm ci --offline", async () => installPacked(dir, "shop"));
    // A copy in the team's tree, as from a registry: not a link back into this checkout.
    assert.equal(fs.lstatSync(path.join(dir, "node_modules", "rewind")).isSymbolicLink(), false);
    assert.ok(fs.existsSync(path.join(dir, "node_modules", "rewind", "dist", "index.js")));
    db = await createDatabase();
    port = await freePort();
    // The team's shell: no project, stack or state backend of Rewind's checkout.
    env = { ...process.env };
    for (const name of [
      "PULUMI_BACKEND_URL",
      "REWIND_PROJECT_DIR",
      "REWIND_STACK",
      "REWIND_PROXY_DIR",
    ]) {
      delete env[name];
    }
  });

  after(async () => {
    if (dir !== undefined && fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
      const pulumi = (args: string[]) =>
        spawnSync("pulumi", [...args, "--non-interactive"], { cwd: dir, env, encoding: "utf8" });
      pulumi(["destroy", "--yes", "--skip-preview", "--stack", STACK]);
      pulumi(["stack", "rm", "--yes", "--stack", STACK]);
    }
    await db?.drop();
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("init, release, backup, rollback by time and the gate, all from the team's folder", async () => {
    const init = await rewind([
      "init",
      "--name",
      "shop",
      "--image",
      image,
      "--port",
      String(port),
      "--stack",
      STACK,
      "--database-url-env",
      "SHOP_DATABASE_URL",
    ]);
    expectCode(init, 0, "rewind init");
    const project = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
    assert.match(project, /^main: node_modules\/rewind\/dist\/index\.js$/m);
    assert.match(project, /^ {2}url: file:\/\/\.\/\.rewind\/state$/m);
    const stackFile = fs.readFileSync(path.join(dir, "stacks", `Pulumi.${STACK}.yaml`), "utf8");
    assert.match(stackFile, /^encryptionsalt: /m);
    // Every key of the config is explained in the file, set or commented out.
    for (const key of ["version:", "replicas:", "revision:", "retain:", "schedule:", "smoke:"]) {
      assert.ok(stackFile.includes(key), `the stack file explains ${key}`);
    }
    const workflow = fs.readFileSync(path.join(dir, ".github/workflows/rewind-gate.yml"), "utf8");
    assert.ok(
      workflow.includes(
        "npx rewind gate --stack ${{ matrix.stack }} --database-url-env SHOP_DATABASE_URL",
      ),
      workflow,
    );
    assert.ok(workflow.includes("SHOP_DATABASE_URL: ${{ secrets.SHOP_DATABASE_URL }}"), workflow);
    assert.match(fs.readFileSync(path.join(dir, ".gitignore"), "utf8"), /^\/\.rewind\/$/m);

    const first = await timed("release 1.0.0 at 0001", () =>
      rewind([
        "release",
        "--set-secret",
        `rewind:database.url=${db.url}`,
        "--set",
        "rewind:app.version=1.0.0",
        "--set",
        "rewind:database.revision=0001",
        "--set",
        "rewind:app.health.timeoutSeconds=30",
      ]),
    );
    expectCode(first, 0, "first release");
    assert.equal(await waitForBody(`http://127.0.0.1:${port}/version`), "1.0.0");
    assert.equal(await revisionOf(), "0001");

    const second = await timed("release 2.0.0 at 0002", () =>
      rewind([
        "release",
        "--set",
        "rewind:app.version=2.0.0",
        "--set",
        "rewind:database.revision=0002",
      ]),
    );
    expectCode(second, 0, "second release");
    assert.equal(await waitForBody(`http://127.0.0.1:${port}/version`), "2.0.0");
    assert.equal(await revisionOf(), "0002");

    // The backup store by default: the project's .rewind/backups, a verified snapshot before
    // each migration (base → 0001, 0001 → 0002).
    const store = path.join(dir, ".rewind", "backups");
    const taken = () =>
      fs
        .readdirSync(store)
        .filter((f) => !f.startsWith("."))
        .sort();
    const beforeMigrations = taken();
    assert.deepEqual(
      beforeMigrations.map((id) => id.split("-").at(-2)),
      ["base", "0001"],
      beforeMigrations.join(", "),
    );

    const backup = await timed("rewind backup", () => rewind(["backup", "--json"]));
    expectCode(backup, 0, "rewind backup");
    const onDemand = JSON.parse(backup.stdout) as { snapshotId: string; revision: string };
    assert.equal(onDemand.revision, "0002");
    assert.ok(fs.existsSync(path.join(store, onDemand.snapshotId, "manifest.json")));
    assert.deepEqual(taken(), [...beforeMigrations, onDemand.snapshotId].sort());

    const timer = await rewind(["backup", "--print-timer"]);
    expectCode(timer, 0, "rewind backup --print-timer");
    assert.ok(timer.stdout.includes("OnCalendar=*-*-* 03:00:00 UTC"), timer.stdout);
    assert.ok(timer.stdout.includes(`WorkingDirectory=${dir}`), timer.stdout);
    assert.match(timer.stdout, /^0 3 \* \* \* cd .* backup --stack dev --quiet$/m);

    // Roll back to what ran two seconds after the first release had finished.
    const history = await rewind(["history", "--json"]);
    expectCode(history, 0, "rewind history");
    const { updates } = JSON.parse(history.stdout) as {
      updates: { appVersion: string | null; result: string; endTime: string | null }[];
    };
    const released = updates.filter((u) => u.appVersion === "1.0.0" && u.result === "succeeded");
    const end = released.at(-1)?.endTime;
    assert.ok(end, history.stdout);
    const at = new Date(Date.parse(end) + 2000).toISOString().slice(0, 19);
    const rollback = await timed(`rollback --to-time ${at}`, () =>
      rewind(["rollback", "--to-time", at, "--yes"]),
    );
    expectCode(rollback, 0, "rollback --to-time");
    assert.equal(await waitForBody(`http://127.0.0.1:${port}/version`), "1.0.0");
    assert.equal(await revisionOf(), "0001");

    for (const command of [["status"], ["report"]]) {
      expectCode(await rewind(command), 0, `rewind ${command.join(" ")}`);
    }

    // The gate, as the workflow runs it: the URL comes from the environment, as a secret.
    const stackPath = path.join(dir, "stacks", `Pulumi.${STACK}.yaml`);
    const stackText = fs.readFileSync(stackPath, "utf8");
    const missing = await rewind([
      "gate",
      "--stack",
      STACK,
      "--database-url-env",
      "SHOP_DATABASE_URL",
    ]);
    expectCode(missing, 2, "gate without the variable");
    assert.match(missing.stderr, /\$SHOP_DATABASE_URL is not set/);
    const gate = await timed("rewind gate", () =>
      rewind(["gate", "--stack", STACK, "--database-url-env", "SHOP_DATABASE_URL"], {
        SHOP_DATABASE_URL: db.url,
      }),
    );
    expectCode(gate, 0, "rewind gate");
    assert.ok(gate.stdout.includes(`gate passed for stack ${STACK}`), gate.stdout);
    assert.ok(!gate.stdout.includes(db.url) && !gate.stderr.includes(db.url), "the URL is secret");
    // The committed stack file was not written: the URL went into a private copy.
    assert.equal(fs.readFileSync(stackPath, "utf8"), stackText);

    // From Rewind's own checkout, as `npm run gate -- --project <dir>` runs it (after its build).
    const fromCheckout = await timed("rewind gate --project (from Rewind's checkout)", () =>
      runIn(repoRoot, [
        path.join(repoRoot, "bin", "rewind"),
        "gate",
        "--project",
        dir,
        "--stack",
        STACK,
      ]),
    );
    expectCode(fromCheckout, 0, "rewind gate --project");
    assert.ok(fromCheckout.stdout.includes(`gate passed for stack ${STACK}`), fromCheckout.stdout);

    // All state under the project: Pulumi's, the snapshots, the front door's config and socket.
    assert.ok(fs.existsSync(path.join(dir, ".rewind", "state", ".pulumi", "stacks", "shop")));
    assert.equal(fs.readdirSync(path.join(dir, ".rewind", "proxy")).length, 1);
    assert.ok(!fs.existsSync(path.join(repoRoot, ".pulumi", "stacks", "shop")));
  });

  test("a release killed in its update: the next one says so, recover clears it, it converges", async () => {
    const pins = ["--set", "rewind:app.version=2.0.0", "--set", "rewind:database.revision=0002"];
    // Its own process group, so the kill takes rewind, pulumi and the plugins at once.
    const child = spawn(path.join(dir, "node_modules", ".bin", "rewind"), ["release", ...pins], {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let out = "";
    const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
    const inUpdate = new Promise<void>((resolve) => {
      const read = (d: Buffer) => {
        out += d.toString();
        if (/Migration shop-migration/.test(out)) resolve();
      };
      child.stdout.on("data", read);
      child.stderr.on("data", read);
    });
    await Promise.race([inUpdate, exited]);
    process.kill(-child.pid!, "SIGKILL");
    await exited;
    assert.match(out, /Migration shop-migration/, "killed while the update ran");
    assert.equal(await waitForBody(`http://127.0.0.1:${port}/version`), "1.0.0");

    // The kill often lands while the engine saves its checkpoint, and may leave an .attrs file
    // empty (the checkpoint's backup's, say): then that is what the release names first.
    const emptied = emptyAttrsFiles(path.join(dir, ".rewind", "state", ".pulumi"));
    console.log(`# after the kill: ${emptied.length} emptied .attrs file(s) ${emptied.join(" ")}`);
    const next = await rewind(["release", ...pins]);
    expectCode(next, 2, "release after the kill");
    if (emptied.length > 0) {
      for (const file of emptied) assert.ok(next.stderr.includes(file), next.stderr);
      assert.match(next.stderr, /Nothing was changed; run rewind recover/);
    } else {
      assert.match(next.stderr, /pulumi pid \d+ .*is gone, but its lock of the stack remains/);
      assert.match(next.stderr, new RegExp(`run rewind recover --stack ${STACK}`));
    }
    const recovered = await rewind(["recover", "--json"]);
    expectCode(recovered, 0, "rewind recover");
    const { repairedStateFiles } = JSON.parse(recovered.stdout) as { repairedStateFiles: string[] };
    assert.deepEqual(repairedStateFiles, emptied);
    const again = await timed("release after recover", () => rewind(["release", ...pins]));
    expectCode(again, 0, "release after recover");
    assert.equal(await waitForBody(`http://127.0.0.1:${port}/version`), "2.0.0");
    assert.equal(await revisionOf(), "0002");
  });

  test("an emptied .attrs file of the checkpoint: pulumi says EOF, rewind refuses, recover repairs", async () => {
    // What a pulumi killed while fileblob rewrote the checkpoint's attributes leaves: the file
    // truncated (os.Create), its JSON never written.
    const stacks = path.join(dir, ".rewind", "state", ".pulumi", "stacks", "shop");
    const attrs = [`${STACK}.json.attrs`, `${STACK}.json.gz.attrs`]
      .map((name) => path.join(stacks, name))
      .find((file) => fs.existsSync(file));
    assert.ok(
      attrs,
      `no attributes file of the checkpoint in ${fs.readdirSync(stacks).join(", ")}`,
    );
    fs.truncateSync(attrs, 0);

    const ls = await runIn(dir, ["pulumi", "stack", "ls", "--non-interactive"]);
    assert.notEqual(ls.code, 0, "pulumi stack ls");
    assert.match(ls.stderr, /error: EOF/, "pulumi stack ls");
    const preview = await runIn(dir, ["pulumi", "preview", "--non-interactive", "--stack", STACK]);
    assert.notEqual(preview.code, 0, "pulumi preview");
    assert.match(preview.stderr, /error: failed to load checkpoint: EOF/, "pulumi preview");

    const refused = await timed("rewind status (refused)", () => rewind(["status"]));
    expectCode(refused, 2, "rewind status with the emptied file");
    assert.ok(refused.stderr.includes(attrs), refused.stderr);
    assert.match(refused.stderr, /"error: EOF"/);
    assert.match(refused.stderr, /Nothing was changed; run rewind recover/);
    assert.equal(fs.statSync(attrs).size, 0, "the refusal changed nothing");

    const recover = await timed("rewind recover (repairs)", () => rewind(["recover", "--json"]));
    expectCode(recover, 0, "rewind recover");
    const done = JSON.parse(recover.stdout) as {
      verdict: { kind: string };
      repairedStateFiles: string[];
    };
    assert.deepEqual(done.repairedStateFiles, [attrs]);
    assert.equal(done.verdict.kind, "clean");
    assert.ok(recover.stderr.includes(attrs), recover.stderr);

    const status = await rewind(["status"]);
    expectCode(status, 0, "rewind status after recover");
    assert.match(status.stdout, /^ {2}app {7}2\.0\.0$/m, status.stdout);
    expectCode(await runIn(dir, ["pulumi", "stack", "ls", "--non-interactive"]), 0, "stack ls");
  });
});
