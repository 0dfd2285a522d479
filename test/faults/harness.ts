// The fault suite's tools: one deployed stack of the real program on a large table, a `pulumi up`
// run as its own process group so a test can SIGKILL all of it, `rewind recover` after it
// (issue 10, defect 3), and what an operator checks after a fault.
import { ChildProcess, execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { freePort } from "../../adapters/ports";
import { readDatabaseRevision } from "../../adapters/postgres";
import { columnsOfItems, createDatabase, itemsChecksum, sql } from "../integration/postgres";
import { rewind } from "../integration/rewindCli";
import {
  hunterStackConfig,
  repoRoot,
  requireToolchainEnv,
  uniqueStackName,
} from "../integration/workspace";

const run = promisify(execFile);
export const quiet = { onOutput: () => undefined };

/** The columns the checksum covers: the ones every revision keeps (0002 only adds `slug`). */
export const ITEM_COLUMNS = ["id", "name"] as const;

/** The columns of `items` at each revision of examples/hunter/migrations. */
export const COLUMNS_AT: Record<string, string[]> = {
  "0001": ["id", "name", "legacy_code"],
  "0002": ["id", "name", "legacy_code", "slug"],
};

/** A small seeded PRNG (mulberry32): the same seed gives the same trials. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stack of the real program on a database and backup store of its own, deployed at 1.0.0/0001. */
export interface FaultStack {
  readonly stack: Stack;
  readonly dbUrl: string;
  readonly dbName: string;
  readonly store: string;
  readonly appUrl: string;
  /** The stack's config file (stacks/Pulumi.<stack>.yaml). */
  readonly configFile: string;
  pin(values: Record<string, string>): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * Creates the database, store and stack, deploys 1.0.0 at 0001 and grows `items` by `extraRows`
 * rows that do not compress well (so pg_dump, the backfill of 0002 and a restore take seconds).
 */
export async function deployFaultStack(
  prefix: string,
  extraRows: number,
  extraConfig: Record<string, string> = {},
  /** Another stack's database, shared (then left to that stack to drop). */
  shared?: FaultStack,
): Promise<FaultStack> {
  requireToolchainEnv();
  const store = fs.mkdtempSync(path.join(os.tmpdir(), `rewind-${prefix}-store-`));
  const own = shared === undefined ? await createDatabase() : undefined;
  const db = own ?? { url: shared!.dbUrl, name: shared!.dbName };
  const port = await freePort();
  const stack = await LocalWorkspace.createStack({
    stackName: uniqueStackName(prefix),
    workDir: repoRoot,
  });
  const pin = (values: Record<string, string>) =>
    stack.setAllConfig(
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])),
      true,
    );
  const dispose = async () => {
    try {
      await recoverStack(stack.name).catch(() => undefined);
      await stack.destroy(quiet);
      await stack.workspace.removeStack(stack.name);
    } finally {
      await own?.drop();
      fs.rmSync(store, { recursive: true, force: true });
    }
  };
  try {
    await stack.setAllConfig(
      hunterStackConfig({ registry: process.env.REWIND_REGISTRY!, port, dbUrl: db.url, store }),
      true,
    );
    await pin({
      "rewind:app.version": "1.0.0",
      "rewind:database.revision": "0001",
      ...extraConfig,
    });
    await stack.up(quiet);
    if (extraRows > 0) {
      await sql(
        db.url,
        `INSERT INTO items (name, legacy_code)
         SELECT 'Item ' || i || ' ' || md5(i::text) || md5((i * 7)::text), 'L-' || i
           FROM generate_series(101, $1::int) AS i`,
        [100 + extraRows],
      );
      await sql(db.url, "VACUUM ANALYZE items");
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    stack,
    dbUrl: db.url,
    dbName: db.name,
    store,
    appUrl: `http://127.0.0.1:${port}`,
    configFile: path.join(repoRoot, "stacks", `Pulumi.${stack.name}.yaml`),
    pin,
    dispose,
  };
}

/** What an operator checks: the version served (undefined when nothing answers), the schema, the data. */
export interface Observed {
  served: string | undefined;
  revision: string;
  columns: string[];
  data: { count: number; md5: string };
}

export async function served(appUrl: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${appUrl}/version`, { signal: AbortSignal.timeout(3_000) });
    if (!res.ok) return undefined;
    return ((await res.json()) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the front door answers again (up to `timeoutMs`): HAProxy takes a replica out while
 * its readiness fails, e.g. while its database is down, and checks it again every second.
 */
export async function frontDoorAnswers(appUrl: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await served(appUrl)) === undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function observe(s: FaultStack): Promise<Observed> {
  return {
    served: await served(s.appUrl),
    revision: await readDatabaseRevision(s.dbUrl),
    columns: await columnsOfItems(s.dbUrl),
    data: await itemsChecksum(s.dbUrl, ITEM_COLUMNS),
  };
}

/** A `pulumi up` in its own process group, its engine events read as they are written. */
export interface RunningUp {
  readonly child: ChildProcess;
  /** Resolves when the engine starts a step on a resource of `type` (e.g. `Migration`). */
  stepStarted(type: string): Promise<void>;
  /** Resolves with the exit code (null when killed). */
  readonly exited: Promise<number | null>;
  output(): string;
}

export function spawnUp(stackName: string): RunningUp {
  const child = spawn(
    "pulumi",
    ["up", "--yes", "--skip-preview", "--non-interactive", "--stack", stackName],
    { cwd: repoRoot, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  const t0 = Date.now();
  // Each chunk stamped with the seconds since the start, to see how long the phases last.
  const stamp = (d: Buffer) =>
    (out += d.toString().replace(/^(?=.)/gm, () => `[${((Date.now() - t0) / 1000).toFixed(1)}] `));
  child.stdout!.on("data", stamp);
  child.stderr!.on("data", stamp);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const stepStarted = async (type: string) => {
    // The CLI prints one line per step as it starts (`rewind:index:Migration hunter-migration
    // updating`); this build has no --event-log.
    const started = new RegExp(`rewind:index:${type} \\S+ (creating|updating|replacing|deleting)`);
    while (!done) {
      if (started.test(out)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`pulumi up ended before a ${type} step started:\n${out}`);
  };
  return { child, stepStarted, exited, output: () => out };
}

/** Every live process, with its parent and process group (from /proc). */
function processTable(): { pid: number; ppid: number; pgid: number; comm: string }[] {
  const rows = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      if (fields[0] !== "Z") {
        rows.push({ pid: Number(entry), ppid: Number(fields[1]), pgid: Number(fields[2]), comm });
      }
    } catch {
      // gone meanwhile
    }
  }
  return rows;
}

/**
 * SIGKILLs the `pulumi up` process group and every descendant of it (the provider plugin, the
 * language host, pg_dump or psql), wherever their process group is. Returns how many died.
 */
export async function killTree(up: RunningUp): Promise<number> {
  const root = up.child.pid!;
  const table = processTable();
  const doomed = new Set<number>([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of table) {
      if (!doomed.has(p.pid) && (doomed.has(p.ppid) || p.pgid === root)) {
        doomed.add(p.pid);
        grew = true;
      }
    }
  }
  try {
    process.kill(-root, "SIGKILL");
  } catch {
    // already gone
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await up.exited;
  // SIGKILL is delivered at once but a process in uninterruptible I/O dies a moment later.
  let survivors = processTable().filter((p) => doomed.has(p.pid));
  for (let i = 0; i < 50 && survivors.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    survivors = processTable().filter((p) => doomed.has(p.pid));
  }
  if (survivors.length > 0) {
    throw new Error(`processes survived SIGKILL: ${JSON.stringify(survivors)}`);
  }
  return doomed.size;
}

/** What `rewind recover --json` found and did. */
export interface Recovery {
  readonly code: number;
  /** `clean`, `busy`, or `recoverable: <its actions>`; with the state files it repaired. */
  readonly verdict: string;
  readonly stderr: string;
}

/**
 * `rewind recover --json` on the stack, as an operator runs it after a killed update (the lock
 * of the dead process, pending operations, partial snapshots, emptied state files).
 */
export async function recoverStack(stackName: string): Promise<Recovery> {
  const result = await rewind(repoRoot, stackName, "recover", "--json");
  let verdict = `no JSON on stdout: ${result.stdout.trim() || "(empty)"}`;
  try {
    const parsed = JSON.parse(result.stdout) as {
      verdict: { kind: string; actions?: string[] };
      repairedStateFiles: string[];
    };
    const { kind, actions = [] } = parsed.verdict;
    const repaired = parsed.repairedStateFiles;
    verdict =
      `${kind}${actions.length > 0 ? ` (${actions.join("; ")})` : ""}` +
      (repaired.length > 0 ? `, ${repaired.length} emptied state file(s) removed` : "");
  } catch {
    // named in the verdict
  }
  return { code: result.code, verdict, stderr: result.stderr };
}

/** Rows of the stack's history (`pulumi stack history`), newest first. */
export async function historyLength(stack: Stack): Promise<number> {
  return (await stack.history()).length;
}

/** Stops the local cluster the way scripts/services does (pg_ctl stop -m fast on its PGDATA). */
export async function stopPostgres(): Promise<void> {
  const pgdata = path.join(process.env.REWIND_HOME!, "pg", "data");
  const major = fs.readFileSync(path.join(pgdata, "PG_VERSION"), "utf8").trim();
  await run("runuser", [
    "-u",
    "postgres",
    "--",
    `/usr/lib/postgresql/${major}/bin/pg_ctl`,
    "stop",
    "-D",
    pgdata,
    "-m",
    "fast",
    "-w",
    "-t",
    "60",
  ]);
}

/** Starts the local services again (only what is down starts). */
export async function startPostgres(): Promise<void> {
  await run(path.join(repoRoot, "scripts", "services"), ["start"], { cwd: repoRoot });
}
