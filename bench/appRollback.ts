// Benchmark 1: app rollback 1.1.0 -> 1.0.0 (both at schema 0002, which 1.0.0 runs on too),
// wall time and failed requests of a client polling every 20 ms, three ways:
//   rewind  `pulumi up` with 1.0.0 pinned; the client polls the router's port
//   compose the runbook's `docker-compose stop app && docker-compose up -d --no-deps app`
//   raw     `docker run` 1.0.0 on another port, wait ready, repoint the client, `docker rm -f`
// compose and raw have no router: the client polls the container's own port.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Cleanup, Env, Poller, dbUrl, freshDatabase, psql, run, waitFor } from "./lib";
import { freePort } from "../adapters/ports";
import { UpPhases } from "./profile";
import { BenchStack } from "./stack";

/** One rep: wall time and what the client saw. */
export interface RollbackSample {
  readonly ms: number;
  readonly ok: number;
  readonly failed: number;
}

const MIGRATIONS = "examples/hunter/migrations";

/** Times `op` while a client polls; stops when op is done and the client sees 1.0.0. */
async function observe(poller: Poller, op: () => Promise<void>): Promise<RollbackSample> {
  poller.ok = 0;
  poller.failed = 0;
  const started = performance.now();
  poller.start();
  try {
    await op();
    await waitFor(poller.url.replace(/\/healthz\/ready$/, "/version"), "1.0.0", 30_000);
  } finally {
    await poller.stop();
  }
  return { ms: performance.now() - started, ok: poller.ok, failed: poller.failed };
}

async function migrateTo0002(env: Env, db: string): Promise<void> {
  for (const file of ["0001_create_items.up.sql", "0002_add_slug.up.sql"]) {
    await psql(env, db, ["-f", path.join(env.root, MIGRATIONS, file)]);
  }
}

export async function benchRewindAppRollback(
  env: Env,
  cleanup: Cleanup,
  reps: number,
  tag: string,
): Promise<{
  samples: RollbackSample[];
  profiles: UpPhases[];
  cpu: string | undefined;
  stack: BenchStack;
  db: string;
}> {
  const db = `bench_app_${tag}`;
  await freshDatabase(env, cleanup, db);
  const port = await freePort();
  const stack = new BenchStack(env, `bench-app-${tag}`);
  await stack.init(cleanup, db, port);
  await stack.set({ "app.version": "1.1.0", "database.revision": "0002" });
  await stack.up("bench: release 1.1.0");
  const samples: RollbackSample[] = [];
  const profiles: UpPhases[] = [];
  for (let i = 0; i < reps; i++) {
    const poller = new Poller(`http://127.0.0.1:${port}/healthz/ready`);
    await stack.set({ "app.version": "1.0.0" });
    samples.push(
      await observe(poller, async () => {
        profiles.push((await stack.upProfiled("bench: rollback to 1.0.0")).phases);
      }),
    );
    await stack.set({ "app.version": "1.1.0" });
    await stack.up("bench: release 1.1.0 again");
  }
  // One more rollback, not timed, with a CPU profile of the program (profiling slows it down).
  await stack.set({ "app.version": "1.0.0" });
  const cpu = (await stack.upProfiled("bench: rollback to 1.0.0, profiled", true)).cpu;
  await stack.set({ "app.version": "1.1.0" });
  await stack.up("bench: release 1.1.0 again");
  return { samples, profiles, cpu, stack, db };
}

function composeFile(env: Env, version: string, port: number, url: string): string {
  // JSON is YAML: no quoting rules to get wrong for the URL.
  return JSON.stringify({
    version: "2.4",
    services: {
      app: {
        image: `${env.registry}/hunter:${version}`,
        network_mode: "host",
        environment: { PORT: String(port), DATABASE_URL: url },
      },
    },
  });
}

export async function benchComposeAppRollback(
  env: Env,
  cleanup: Cleanup,
  reps: number,
  tag: string,
): Promise<RollbackSample[]> {
  const db = `bench_compose_${tag}`;
  await freshDatabase(env, cleanup, db);
  await migrateTo0002(env, db);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-bench-compose-"));
  const project = `rewindbench${tag}`;
  const file = path.join(dir, "docker-compose.yml");
  const compose = (args: readonly string[]) =>
    run("docker-compose", ["-p", project, "-f", file, ...args], { cwd: dir });
  cleanup.add(`docker-compose down ${project}`, async () => {
    await compose(["down", "--remove-orphans"]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const port = await freePort();
  const url = dbUrl(env, db);
  const samples: RollbackSample[] = [];
  for (let i = 0; i < reps; i++) {
    fs.writeFileSync(file, composeFile(env, "1.1.0", port, url));
    await compose(["up", "-d", "--no-deps", "app"]);
    await waitFor(`http://127.0.0.1:${port}/version`, "1.1.0");
    const poller = new Poller(`http://127.0.0.1:${port}/healthz/ready`);
    samples.push(
      await observe(poller, async () => {
        // The runbook edits the image tag, then stops and recreates the one service.
        fs.writeFileSync(file, composeFile(env, "1.0.0", port, url));
        await compose(["stop", "app"]);
        await compose(["up", "-d", "--no-deps", "app"]);
      }),
    );
  }
  return samples;
}

export async function benchRawAppRollback(
  env: Env,
  cleanup: Cleanup,
  reps: number,
  tag: string,
): Promise<RollbackSample[]> {
  const db = `bench_raw_${tag}`;
  await freshDatabase(env, cleanup, db);
  await migrateTo0002(env, db);
  const url = dbUrl(env, db);
  const live = new Set<string>();
  cleanup.add("remove raw-swap containers", async () => {
    for (const name of live) await run("docker", ["rm", "-f", name]).catch(() => undefined);
  });
  const start = async (name: string, version: string, port: number) => {
    live.add(name);
    await run("docker", [
      "run",
      "-d",
      "--name",
      name,
      "--network",
      "host",
      "-e",
      `PORT=${port}`,
      "-e",
      `DATABASE_URL=${url}`,
      `${env.registry}/hunter:${version}`,
    ]);
  };
  const remove = async (name: string) => {
    await run("docker", ["rm", "-f", name]);
    live.delete(name);
  };
  const samples: RollbackSample[] = [];
  for (let i = 0; i < reps; i++) {
    const oldName = `rewind-bench-raw-${tag}-${i}-old`;
    const newName = `rewind-bench-raw-${tag}-${i}-new`;
    const oldPort = await freePort();
    await start(oldName, "1.1.0", oldPort);
    await waitFor(`http://127.0.0.1:${oldPort}/version`, "1.1.0");
    const poller = new Poller(`http://127.0.0.1:${oldPort}/healthz/ready`);
    samples.push(
      await observe(poller, async () => {
        const newPort = await freePort(new Set([oldPort]));
        await start(newName, "1.0.0", newPort);
        await waitFor(`http://127.0.0.1:${newPort}/healthz/ready`);
        // "switch": the client (an upstream in a real setup) is repointed by hand.
        poller.url = `http://127.0.0.1:${newPort}/healthz/ready`;
        await remove(oldName);
      }),
    );
    await remove(newName);
  }
  return samples;
}
