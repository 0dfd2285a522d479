// What the runbooks still did by hand (issue 11, part 3), on the real engine with the tests' own
// service (test/fixtures/layers-app), through `rewind`:
// - files the app uses: a volume declared in rewind:app.mounts is mounted into the app, held by
//   the snapshot, and put back by a restore (the app stopped meanwhile);
// - workers without HTTP and without a port, one ready once its process stays up, one once a
//   command exits 0: each runs only its replica, no proxy, across 1.0.0 → 2.0.0 → 1.0.0;
// - the gate's dependency checks (a TCP port standing in for Redis, a command run in the app's
//   image) and a smoke time limit: a dependency that does not answer fails the gate, and the
//   release rolls back.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { readManifest } from "../../adapters/backupStore";
import { engine, listContainers } from "../../adapters/docker";
import { LABELS, serviceSelector } from "../../domain/dockerLabels";
import { withDatabase } from "./postgres";
import { expectCode, rewind } from "./rewindCli";
import { buildLayersApp } from "./layersApp";
import { repoRoot, requireToolchainEnv, timed, uniqueStackName } from "./workspace";

test("layers: mounted files backed up and restored, workers without HTTP, dependency checks", async () => {
  requireToolchainEnv();
  const repository = await buildLayersApp("layers-app-runbook", ["1.0.0", "2.0.0"]);
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-layers-store-"));
  const volumes = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-layers-volumes-"));
  const files = path.join(volumes, "files");
  fs.mkdirSync(files, { mode: 0o755 });
  fs.chmodSync(volumes, 0o755);
  fs.writeFileSync(path.join(files, "a.txt"), "before\n");
  // A stand-in for Redis: a port that accepts connections, closed later.
  const redis = net.createServer((socket) => socket.end());
  await new Promise<void>((resolve) => redis.listen(0, "127.0.0.1", resolve));
  const redisPort = (redis.address() as net.AddressInfo).port;
  const port = await freePort();
  const get = async (route: string) =>
    (await fetch(`http://127.0.0.1:${port}${route}`)).json() as Promise<unknown>;
  const stackName = uniqueStackName("it-layers-rb");
  // Every container of each worker: its one replica at `version`, and no proxy (no port).
  const workersAt = async (version: string) => {
    for (const service of ["worker", "beat"]) {
      const found = await listContainers(engine(), serviceSelector(`rewind/${stackName}`, service));
      assert.deepEqual(
        found.map((c) => [c.labels[LABELS.role], c.state, c.labels[LABELS.version]]),
        [["app", "running", version]],
        `${service}: only its replica at ${version}, no proxy`,
      );
    }
  };
  try {
    await withDatabase(async (dbUrl) => {
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
            "rewind:app.env.FILES_DIR": { value: "/srv/files" },
            "rewind:app.mounts[0].volume": { value: "files" },
            "rewind:app.mounts[0].target": { value: "/srv/files" },
            // The workers' old replicas get this long between SIGTERM and SIGKILL: the worker
            // exits on SIGTERM (a warm shutdown), beat (sleep, PID 1) ignores it.
            "rewind:app.drainSeconds": { value: "5" },
            "rewind:app.services[0].name": { value: "worker" },
            "rewind:app.services[0].command[0]": { value: "python3" },
            "rewind:app.services[0].command[1]": { value: "-c" },
            "rewind:app.services[0].command[2]": {
              value:
                "import signal, sys, time; " +
                "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); time.sleep(86400)",
            },
            "rewind:app.services[0].readiness.upSeconds": { value: "2" },
            "rewind:app.services[1].name": { value: "beat" },
            "rewind:app.services[1].command[0]": { value: "sleep" },
            "rewind:app.services[1].command[1]": { value: "infinity" },
            "rewind:app.services[1].readiness.command[0]": { value: "python3" },
            "rewind:app.services[1].readiness.command[1]": { value: "-c" },
            "rewind:app.services[1].readiness.command[2]": { value: "import sys; sys.exit(0)" },
            "rewind:database.url": { value: dbUrl, secret: true },
            "rewind:database.migrations.tool": { value: "alembic" },
            "rewind:database.migrations.revisions[0]": { value: "0001" },
            "rewind:database.migrations.revisions[1]": { value: "0002" },
            "rewind:database.migrations.maintenance[0]": { value: "0002" },
            "rewind:backup.store.kind": { value: "fs" },
            "rewind:backup.store.path": { value: store },
            "rewind:backup.volumesRoot": { value: volumes },
            "rewind:gate.smoke[0].path": { value: "/items" },
            "rewind:gate.smoke[0].maxMs": { value: "5000" },
            "rewind:gate.tcp[0].name": { value: "redis" },
            "rewind:gate.tcp[0].host": { value: "127.0.0.1" },
            "rewind:gate.tcp[0].port": { value: String(redisPort) },
            "rewind:gate.command[0].name": { value: "python" },
            "rewind:gate.command[0].command[0]": { value: "python3" },
            "rewind:gate.command[0].command[1]": { value: "-c" },
            "rewind:gate.command[0].command[2]": { value: "import sys; sys.exit(0)" },
          },
          true,
        );
        const first = await cli(
          "release 1.0.0 at 0001",
          "release",
          "--set",
          "rewind:app.version=1.0.0",
          "--set",
          "rewind:database.revision=0001",
        );
        expectCode(first, 0, "release 1.0.0 with a mount, two workers and two dependencies");
        assert.deepEqual(await get("/files"), ["a.txt"]);
        await workersAt("1.0.0");

        const up = await cli(
          "release 2.0.0 at 0002",
          "release",
          "--set",
          "rewind:app.version=2.0.0",
          "--set",
          "rewind:database.revision=0002",
        );
        expectCode(up, 0, "release 2.0.0 at 0002");
        await workersAt("2.0.0");
        const snapshot = /snapshot (\S+);/.exec(up.stdout)?.[1];
        assert.ok(snapshot, up.stdout);
        const manifest = readManifest(store, snapshot);
        assert.deepEqual(
          manifest.items.map((i) => i.item),
          ["database", "volume:files"],
        );
        // The app writes on: a file the restore must take away.
        fs.writeFileSync(path.join(files, "b.txt"), "after the snapshot\n");
        assert.deepEqual(await get("/files"), ["a.txt", "b.txt"]);

        const back = await cli(
          "rollback --restore to 1.0.0",
          "rollback",
          "--to-version",
          "1.0.0",
          "--restore",
          "--yes",
        );
        expectCode(back, 0, "rollback --restore");
        assert.match(back.stdout, /DATA LOSS: a restore discards everything written after/);
        assert.deepEqual(await get("/version"), { version: "1.0.0" });
        assert.deepEqual(await get("/files"), ["a.txt"]);
        assert.equal(fs.readFileSync(path.join(files, "a.txt"), "utf8"), "before\n");
        await workersAt("1.0.0");

        // A dependency that does not answer: the gate fails on it and the release rolls back.
        // A privileged port nothing here listens on (a freed one may be taken by a parallel test).
        const closed = 1;
        const down = await cli(
          "release with redis unreachable",
          "release",
          "--set",
          `rewind:gate.tcp[0].port=${closed}`,
        );
        expectCode(down, 1, "release with the dependency unreachable");
        assert.match(
          down.stderr,
          new RegExp(
            `dependency redis: TCP 127\\.0\\.0\\.1:${closed}: failed: connect ECONNREFUSED`,
          ),
        );
        assert.deepEqual(await get("/version"), { version: "1.0.0" });

        // A dependency command that exits non-zero fails the gate the same way.
        const failing = await cli(
          "release with the python check failing",
          "release",
          "--set",
          "rewind:gate.command[0].command[2]=import sys; sys.exit(3)",
        );
        expectCode(failing, 1, "release with the dependency command failing");
        assert.match(
          failing.stderr,
          /dependency python: \["python3","-c","import sys; sys\.exit\(3\)"\] exits 0: exited 3/,
        );
        assert.deepEqual(await get("/version"), { version: "1.0.0" });
      } finally {
        await stack.destroy({ onOutput: () => undefined });
        await stack.workspace.removeStack(stack.name);
      }
    });
  } finally {
    redis.close();
    fs.rmSync(store, { recursive: true, force: true });
    fs.rmSync(volumes, { recursive: true, force: true });
  }
});
