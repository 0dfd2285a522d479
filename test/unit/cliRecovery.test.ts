// What a killed update left behind, in words, and Rewind's own config lock.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { acquireConfigLock, lockFileOf, processAlive } from "../../cli/configLock";
import { formatVerdict, judgeStack } from "../../cli/recoveryPlan";
import {
  EngineLock,
  brokenStateFiles,
  engineLocks,
  fileBackendDir,
  removeBrokenStateFiles,
} from "../../cli/stackRecovery";
import { UserError } from "../../domain/errors";

const lock = (state: EngineLock["state"], host = "vm"): EngineLock => ({
  file: "/p/.pulumi/.pulumi/locks/organization/rewind/prod/1b2c.json",
  pid: 4711,
  host,
  user: "ops",
  since: "2026-11-30T10:00:00.123456789Z",
  state,
});

describe("judgeStack", () => {
  test("nothing left behind", () => {
    assert.deepEqual(judgeStack("prod", { locks: [], pending: [], partialSnapshots: [] }), {
      kind: "clean",
    });
  });

  test("an update that runs is waited for, and nothing else is said", () => {
    const verdict = judgeStack("prod", {
      locks: [lock("alive")],
      pending: [],
      partialSnapshots: [],
    });
    assert.equal(
      formatVerdict(verdict, "rewind recover"),
      "Another update of stack prod is in progress: pulumi pid 4711 on host vm (user ops) since " +
        "2026-11-30 10:00:00Z; wait for it to finish.\n",
    );
  });

  test("another host's lock cannot be judged from here", () => {
    const verdict = judgeStack("prod", {
      locks: [lock("unknown", "ci-7")],
      pending: [],
      partialSnapshots: [],
    });
    assert.equal(verdict.kind, "busy");
    assert.match(
      formatVerdict(verdict, "rewind recover"),
      /^Stack prod is locked by pulumi pid 4711 on host ci-7 since 2026-11-30 10:00:00Z; whether it still runs cannot be told from this host\./,
    );
  });

  test("a killed update: what happened and what recover will do", () => {
    const verdict = judgeStack("prod", {
      locks: [lock("gone")],
      pending: [{ type: "creating", resource: "BackupSnapshot hunter-backup" }],
      partialSnapshots: ["/var/backups/hunter/.partial-20261130T100001Z-hunter-0001-aa11bb"],
    });
    assert.equal(
      formatVerdict(verdict, "rewind recover"),
      [
        "The stack was left behind by an interrupted update:",
        "  - an update was interrupted: pulumi pid 4711 (since 2026-11-30 10:00:00Z) is gone, but its lock of the stack remains",
        "  - 1 operation it began never finished: creating BackupSnapshot hunter-backup",
        "  - 1 partial snapshot (never verified) in the backup store: /var/backups/hunter/.partial-20261130T100001Z-hunter-0001-aa11bb",
        "rewind recover will:",
        "  1. remove the lock of the process that is gone (pulumi cancel)",
        "  2. refresh the stack against the real world, dropping the unfinished creates (pulumi refresh --clear-pending-creates)",
        "  3. remove the partial snapshots",
        "",
      ].join("\n"),
    );
  });
});

describe("acquireConfigLock", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-lock-"));
  const config = path.join(dir, "Pulumi.prod.yaml");

  test("a second holder waits, then is refused with the first one named", async () => {
    const first = await acquireConfigLock(config, "prod", "rewind release --set a=1", 0);
    const started = Date.now();
    await assert.rejects(
      acquireConfigLock(config, "prod", "rewind release --set b=2", 400),
      (e: Error) =>
        e instanceof UserError &&
        new RegExp(
          `^stack prod's config is held by rewind release --set a=1 \\(pid ${process.pid} on host ` +
            `${os.hostname()} since [^)]+\\); nothing was changed\\. Wait for it to finish and run again`,
        ).test(e.message),
    );
    assert.ok(Date.now() - started >= 400, "it waited");
    first.release();
    assert.equal(fs.existsSync(lockFileOf(config)), false);
  });

  test("the lock of a process that is gone is replaced", async () => {
    const dead = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid;
    fs.writeFileSync(
      lockFileOf(config),
      JSON.stringify({
        pid: dead,
        host: os.hostname(),
        startedAt: "2026-11-30T10:00:00Z",
        command: "rewind release",
      }),
    );
    const taken = await acquireConfigLock(config, "prod", "rewind recover", 0);
    assert.equal(taken.replaced?.pid, dead);
    taken.release();
  });
});

describe("the engine's locks of a team's project (rewind init's Pulumi.yaml)", () => {
  test("the project's backend.url wins over PULUMI_BACKEND_URL, relative to the project", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-backend-"));
    try {
      const env = { PULUMI_BACKEND_URL: "file:///elsewhere" };
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
      assert.equal(fileBackendDir(env, dir), "/elsewhere");
      fs.writeFileSync(
        path.join(dir, "Pulumi.yaml"),
        "name: shop\nruntime: nodejs\nbackend:\n  url: file://./.rewind/state\n",
      );
      assert.equal(fileBackendDir(env, dir), path.join(dir, ".rewind", "state"));

      // A lock left by a killed update in the team's own state is found.
      const locks = path.join(dir, ".rewind/state/.pulumi/locks/organization/shop/dev");
      fs.mkdirSync(locks, { recursive: true });
      const dead = spawnSync("true").pid;
      fs.writeFileSync(
        path.join(locks, "a.json"),
        JSON.stringify({ pid: dead, hostname: os.hostname(), username: "ops", timestamp: "t" }),
      );
      const found = engineLocks(env, dir, "dev");
      assert.deepEqual(
        found.map((l) => [l.pid, l.state]),
        [[dead, "gone"]],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the state's broken .attrs files (a pulumi killed while fileblob rewrote one)", () => {
  const WRITTEN = '{"user.content_type":"application/json","md5":"AAAA"}\n';

  /** A team's project with its file backend, and `.attrs` files `ageMs` old. */
  function project(files: Record<string, { text: string; ageMs: number }>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-attrs-"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      "name: shop\nruntime: nodejs\nbackend:\n  url: file://./.rewind/state\n",
    );
    for (const [name, { text, ageMs }] of Object.entries(files)) {
      const file = path.join(dir, ".rewind/state/.pulumi", name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      const at = new Date(Date.now() - ageMs);
      fs.utimesSync(file, at, at);
    }
    return dir;
  }
  const state = (dir: string, name: string) => path.join(dir, ".rewind/state/.pulumi", name);
  const noWait = () => assert.fail("nothing young to wait for");

  test("the walk finds the stack's old empty and cut-short files, sorted", async () => {
    const dir = project({
      "meta.yaml.attrs": { text: WRITTEN, ageMs: 60_000 },
      "stacks/shop/dev.json.attrs": { text: "", ageMs: 10_000 },
      "stacks/shop/dev.json.bak.attrs": { text: WRITTEN, ageMs: 10_000 },
      "stacks/shop/prod.json.attrs": { text: "", ageMs: 10_000 },
      "stacks/other/dev.json.attrs": { text: "", ageMs: 10_000 },
      "history/shop/dev/dev-1.history.json.attrs": { text: '{"user.con', ageMs: 10_000 },
      "stacks/shop/dev.json": { text: "", ageMs: 10_000 }, // a blob, not an .attrs file
    });
    try {
      assert.deepEqual(await brokenStateFiles({}, dir, "dev", noWait), [
        state(dir, "history/shop/dev/dev-1.history.json.attrs"),
        state(dir, "stacks/shop/dev.json.attrs"),
      ]);
      // No stack named yet: every checkpoint of the project (pulumi stack ls reads them all).
      assert.deepEqual(await brokenStateFiles({}, dir, undefined, noWait), [
        state(dir, "stacks/shop/dev.json.attrs"),
        state(dir, "stacks/shop/prod.json.attrs"),
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("another backend, or no project file, has none to find", async () => {
    const dir = project({ "stacks/shop/dev.json.attrs": { text: "", ageMs: 10_000 } });
    try {
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
      assert.deepEqual(await brokenStateFiles({}, dir, "dev", noWait), []);
      assert.deepEqual(
        await brokenStateFiles(
          { PULUMI_BACKEND_URL: "https://api.pulumi.com" },
          dir,
          "dev",
          noWait,
        ),
        [],
      );
      fs.rmSync(path.join(dir, "Pulumi.yaml"));
      assert.deepEqual(await brokenStateFiles({}, dir, "dev", noWait), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a young empty file is looked at again once 2 s old: written by then, it is whole", async () => {
    const dir = project({ "stacks/shop/dev.json.attrs": { text: "", ageMs: 500 } });
    const waits: number[] = [];
    try {
      const found = await brokenStateFiles({}, dir, "dev", (ms) => {
        waits.push(ms);
        fs.writeFileSync(state(dir, "stacks/shop/dev.json.attrs"), WRITTEN); // the writer finished
        return Promise.resolve();
      });
      assert.deepEqual(found, []);
      assert.equal(waits.length, 1);
      assert.ok(waits[0] > 1_000 && waits[0] <= 1_500, `waited ${waits[0]} ms`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a young empty file still empty once 2 s old is broken", async () => {
    const dir = project({ "stacks/shop/dev.json.attrs": { text: "", ageMs: 1_900 } });
    const file = state(dir, "stacks/shop/dev.json.attrs");
    try {
      const found = await brokenStateFiles({}, dir, "dev", () => {
        const at = new Date(Date.now() - 2_000); // time passes, nobody writes
        fs.utimesSync(file, at, at);
        return Promise.resolve();
      });
      assert.deepEqual(found, [file]);
      // Removed only while still broken: one rewritten meanwhile is kept.
      const other = state(dir, "stacks/shop/dev.json.attrs.copy.attrs");
      fs.writeFileSync(other, WRITTEN);
      assert.deepEqual(removeBrokenStateFiles([file, other]), [file]);
      assert.equal(fs.existsSync(file), false);
      assert.equal(fs.readFileSync(other, "utf8"), WRITTEN);
      assert.deepEqual(await brokenStateFiles({}, dir, "dev", noWait), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("processAlive", () => {
  test("a running process is alive; a reaped one and a zombie are gone", async () => {
    assert.equal(processAlive(process.pid), true);
    assert.equal(processAlive(spawnSync("true").pid), false);
    assert.equal(processAlive(0), false);
    assert.equal(processAlive(-1), false);
    // sh starts `sleep 0` and becomes `sleep 30`, which never reaps it: a zombie until then.
    const parent = spawn("sh", ["-c", "sleep 0 & exec sleep 30"], { stdio: "ignore" });
    try {
      const children = `/proc/${parent.pid}/task/${parent.pid}/children`;
      let zombie: number | undefined;
      for (let i = 0; i < 100 && zombie === undefined; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const pid = Number(fs.readFileSync(children, "utf8").trim().split(" ")[0]);
        const stat = pid > 0 ? fs.readFileSync(`/proc/${pid}/stat`, "utf8") : "";
        if (/^\d+ \(sleep\) Z /.test(stat)) zombie = pid;
      }
      assert.ok(zombie !== undefined, "the child of sleep 30 became a zombie");
      assert.equal(processAlive(zombie), false, `zombie ${zombie}`);
      assert.equal(processAlive(parent.pid!), true, "its parent runs");
    } finally {
      parent.kill("SIGKILL");
    }
  });
});
