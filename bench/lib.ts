// Shared pieces of `npm run bench`: running programs (argument arrays, never a shell string),
// timing, statistics, the 20 ms polling client and the cleanup list every benchmark registers
// what it creates on.
import { ChildProcess, spawn } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";

/** What a finished program printed and how long it ran. */
export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Options of {@link run}. */
export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Text written to the program's stdin. */
  readonly input?: string;
}

const KEEP = 256 * 1024;

/** Runs `file args` (no shell); resolves once it exits 0, rejects naming it otherwise. */
export function run(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (c: Buffer) => (stdout = (stdout + c.toString("utf8")).slice(-KEEP)));
    child.stderr?.on("data", (c: Buffer) => (stderr = (stderr + c.toString("utf8")).slice(-KEEP)));
    if (options.input !== undefined && child.stdin !== null) {
      child.stdin.end(options.input);
    }
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const ms = performance.now() - started;
      if (code === 0) {
        resolve({ stdout, stderr, ms });
        return;
      }
      const status = signal === null ? `exit status ${code}` : `signal ${signal}`;
      const tail = (stderr.trim() || stdout.trim()).slice(-2000);
      reject(new Error(`${file} ${args.slice(0, 3).join(" ")} ... failed with ${status}: ${tail}`));
    });
  });
}

/** Milliseconds `fn` took. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

/** Median, min and max of a non-empty sample. */
export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) {
    throw new Error("no samples");
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

/** Things to undo, newest first; each runs even when an earlier one failed. */
export class Cleanup {
  private readonly steps: { what: string; fn: () => Promise<unknown> }[] = [];

  add(what: string, fn: () => Promise<unknown>): void {
    this.steps.push({ what, fn });
  }

  async runAll(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop();
      if (step === undefined) break;
      try {
        await step.fn();
      } catch (error) {
        console.error(`bench cleanup: ${step.what} failed: ${(error as Error).message}`);
      }
    }
  }
}

/** One GET with a fresh connection (agent: false), so a swapped backend is seen at once. */
export function get(url: string, timeoutMs = 1000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/**
 * A client that asks `url` every 20 ms (one request at a time) and counts what failed: an
 * error, a timeout or a status other than 200. `url` may be repointed, as a person editing an
 * upstream would, for the raw swap.
 */
export class Poller {
  url: string;
  ok = 0;
  failed = 0;
  /** Body of the last 200 answer (the version the client sees). */
  lastBody = "";
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(url: string) {
    this.url = url;
  }

  start(): void {
    this.running = true;
    this.loop = this.spin();
  }

  private async spin(): Promise<void> {
    while (this.running) {
      const tick = performance.now();
      try {
        const res = await get(this.url);
        if (res.status === 200) {
          this.ok++;
          this.lastBody = res.body;
        } else {
          this.failed++;
        }
      } catch {
        this.failed++;
      }
      const wait = 20 - (performance.now() - tick);
      if (wait > 0) await sleep(wait);
    }
  }

  async stop(): Promise<{ ok: number; failed: number }> {
    this.running = false;
    await this.loop;
    return { ok: this.ok, failed: this.failed };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `url` answers 200 (and `body` is in it, when given). */
export async function waitFor(url: string, body = "", timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await get(url, 500);
      if (res.status === 200 && res.body.includes(body)) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 ${body} in time`);
    await sleep(20);
  }
}

/** The local services' connection settings (scripts/env.sh exports them). */
export interface Env {
  readonly root: string;
  readonly registry: string;
  readonly pgHost: string;
  readonly pgPort: string;
  readonly pgUser: string;
  readonly pgPassword: string;
  readonly home: string;
}

export function readEnv(): Env {
  const need = (name: string): string => {
    const value = process.env[name];
    if (value === undefined || value === "") {
      throw new Error(`${name} is not set: run through scripts/bench (it sources scripts/env.sh)`);
    }
    return value;
  };
  return {
    root: need("REWIND_ROOT"),
    registry: need("REWIND_REGISTRY"),
    pgHost: need("REWIND_PG_HOST"),
    pgPort: need("REWIND_PG_PORT"),
    pgUser: need("REWIND_PG_USER"),
    pgPassword: need("REWIND_PG_PASSWORD"),
    home: need("REWIND_HOME"),
  };
}

export function dbUrl(env: Env, db: string): string {
  const user = encodeURIComponent(env.pgUser);
  const pass = encodeURIComponent(env.pgPassword);
  return `postgres://${user}:${pass}@${env.pgHost}:${env.pgPort}/${db}`;
}

/** psql against `db`, stopping at the first error; `-c` per statement or `-f` files in args. */
export function psql(env: Env, db: string, args: readonly string[]): Promise<RunResult> {
  return run(
    "psql",
    [
      "-X",
      "-q",
      "-At",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      env.pgHost,
      "-p",
      env.pgPort,
      "-U",
      env.pgUser,
      "-d",
      db,
      ...args,
    ],
    { env: { PGPASSWORD: env.pgPassword } },
  );
}

/** Creates database `db` (dropped first) and registers its drop on `cleanup`. */
export async function freshDatabase(env: Env, cleanup: Cleanup, db: string): Promise<void> {
  await psql(env, "postgres", [
    "-c",
    `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`,
    "-c",
    `CREATE DATABASE ${db}`,
  ]);
  cleanup.add(`drop database ${db}`, () =>
    psql(env, "postgres", ["-c", `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`]),
  );
}

/** `producer | consumer` without a shell: resolves with the wall time once both exited 0. */
export function runPipe(
  producer: readonly [string, readonly string[]],
  consumer: readonly [string, readonly string[]],
  env: Readonly<Record<string, string>> = {},
): Promise<number> {
  const started = performance.now();
  const options = { env: { ...process.env, ...env } };
  const a = spawn(producer[0], [...producer[1]], { ...options, stdio: ["ignore", "pipe", "pipe"] });
  const b = spawn(consumer[0], [...consumer[1]], { ...options, stdio: ["pipe", "ignore", "pipe"] });
  b.stdin.on("error", () => a.stdout.unpipe(b.stdin));
  a.stdout.pipe(b.stdin);
  const wait = (child: ChildProcess, name: string) =>
    new Promise<void>((resolve, reject) => {
      let stderr = "";
      child.stderr?.on(
        "data",
        (c: Buffer) => (stderr = (stderr + c.toString("utf8")).slice(-KEEP)),
      );
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0
          ? resolve()
          : reject(new Error(`${name} failed (${code}): ${stderr.slice(-2000)}`)),
      );
    });
  return Promise.all([wait(a, producer[0]), wait(b, consumer[0])]).then(
    () => performance.now() - started,
  );
}

/** Whether something could listen on `port` now (the wildcard address, like the routers). */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A free port below the kernel's ephemeral range (32768-60999 here), not in `taken`. For ports
 * written into a stack's config long before they are bound (the growth stack's 50 routers):
 * a port the kernel hands out for port 0 may be handed out again, to a replica of another
 * service of the same update, before its router binds it.
 */
export async function freeConfigPort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (!taken.has(port) && (await canListen(port))) return port;
  }
  throw new Error("no free port found in 20000-31999");
}
