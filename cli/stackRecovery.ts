// What a killed update leaves behind, and putting it right (issue 10, defect 3): the file
// backend's lock of the stack (.pulumi/locks/…, naming the pulumi process that took it), the
// operations it had begun (the state's pending_operations), the partial snapshots in the
// backup store (.partial-<id>, never published) and the state's emptied `.attrs` files
// (domain/stateAttrs.ts). Inspecting is read-only; recovery removes a lock only when its
// process is gone.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { load } from "js-yaml";
import { PARTIAL_PREFIX, abandonSnapshot } from "../adapters/backupStore";
import { readPins, StackConfig } from "../domain/pins";
import { AttrsFile, attrsInScope, judgeAttrsFiles } from "../domain/stateAttrs";
import { processAlive } from "./configLock";
import { describe } from "./progress";

/** One lock file of the engine, and whether its process still runs. */
export interface EngineLock {
  readonly file: string;
  readonly pid: number;
  readonly host: string;
  readonly user: string;
  /** ISO 8601. */
  readonly since: string;
  /** `alive`: it runs; `gone`: no such process on this host; `unknown`: another host's. */
  readonly state: "alive" | "gone" | "unknown";
}

/** An operation the engine began and never finished: `creating BackupSnapshot hunter-backup`. */
export interface PendingOperation {
  readonly type: string;
  readonly resource: string;
}

export interface StackInspection {
  readonly locks: readonly EngineLock[];
  readonly pending: readonly PendingOperation[];
  /** Absolute paths of `.partial-*` directories in the stack's backup store. */
  readonly partialSnapshots: readonly string[];
}

/**
 * The file backend's directory, as the pulumi CLI picks it: the project's `backend.url` in
 * Pulumi.yaml (what `rewind init` writes; relative to the project), else PULUMI_BACKEND_URL;
 * undefined for another backend.
 */
export function fileBackendDir(
  env: Readonly<Record<string, string | undefined>>,
  workDir: string,
): string | undefined {
  const url = projectBackendUrl(workDir) ?? env.PULUMI_BACKEND_URL;
  if (url === undefined || !url.startsWith("file://")) {
    return undefined;
  }
  const dir = url.slice("file://".length).replace(/^~(?=\/|$)/, os.homedir());
  return path.resolve(workDir, dir);
}

/** Pulumi.yaml's `backend.url`, or undefined when the project names none (or has no file). */
function projectBackendUrl(workDir: string): string | undefined {
  const file = path.join(workDir, "Pulumi.yaml");
  if (!fs.existsSync(file)) {
    return undefined;
  }
  const project = load(fs.readFileSync(file, "utf8")) as {
    backend?: { url?: unknown };
  } | null;
  const url = project?.backend?.url;
  return typeof url === "string" && url !== "" ? url : undefined;
}

/** The project's name, from Pulumi.yaml's top-level `name:`. */
function projectName(workDir: string): string | undefined {
  const file = path.join(workDir, "Pulumi.yaml");
  if (!fs.existsSync(file)) {
    return undefined;
  }
  const text = fs.readFileSync(file, "utf8");
  return /^name:[ \t]*["']?([^"'#\n]+?)["']?[ \t]*(#.*)?$/m.exec(text)?.[1];
}

/**
 * The engine's lock files of the stack: `<backend>/.pulumi/locks/<org>/<project>/<stack>/*.json`
 * (the diy backend's layout), each with `pid`, `username`, `hostname`, `timestamp`.
 */
export function engineLocks(
  env: Readonly<Record<string, string | undefined>>,
  workDir: string,
  stack: string,
): EngineLock[] {
  const backend = fileBackendDir(env, workDir);
  const project = projectName(workDir);
  if (backend === undefined || project === undefined) {
    return [];
  }
  const root = path.join(backend, ".pulumi", "locks");
  const short = stack.split("/").at(-1) ?? stack;
  const orgs = fs.existsSync(root) ? fs.readdirSync(root) : [];
  const locks: EngineLock[] = [];
  for (const org of orgs) {
    const dir = path.join(root, org, project, short);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith(".json"))) {
      const file = path.join(dir, name);
      let content: { pid?: unknown; hostname?: unknown; username?: unknown; timestamp?: unknown };
      try {
        content = JSON.parse(fs.readFileSync(file, "utf8")) as typeof content;
      } catch {
        continue; // removed while being read: the update ended
      }
      const pid = typeof content.pid === "number" ? content.pid : -1;
      const host = typeof content.hostname === "string" ? content.hostname : "?";
      locks.push({
        file,
        pid,
        host,
        user: typeof content.username === "string" ? content.username : "?",
        since: typeof content.timestamp === "string" ? content.timestamp : "?",
        state: host !== os.hostname() ? "unknown" : processAlive(pid) ? "alive" : "gone",
      });
    }
  }
  return locks;
}

/** The state's pending operations (`pulumi stack export`). */
export async function pendingOperations(stack: Stack): Promise<PendingOperation[]> {
  const exported = await stack.exportStack();
  const deployment = (exported.deployment ?? {}) as {
    pending_operations?: { type?: string; resource?: { urn?: string; type?: string } }[];
  };
  return (deployment.pending_operations ?? []).map((op) => ({
    type: op.type ?? "?",
    resource: op.resource?.urn === undefined ? "?" : describe(op.resource.urn, op.resource.type),
  }));
}

/** The `.partial-*` directories of the backup store the config names (relative to the project). */
export function partialSnapshots(workDir: string, config: StackConfig): string[] {
  const store = readPins(config).storePath;
  if (store === undefined) {
    return [];
  }
  const dir = path.resolve(workDir, store);
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs
    .readdirSync(dir)
    .filter((n) => n.startsWith(PARTIAL_PREFIX))
    .map((n) => path.join(dir, n));
}

/** Everything at once; pending operations only when no update runs (the state is in flux). */
export async function inspectStack(
  env: Readonly<Record<string, string | undefined>>,
  workDir: string,
  name: string,
  stack: () => Promise<Stack>,
  config: StackConfig,
): Promise<StackInspection> {
  const locks = engineLocks(env, workDir, name);
  const running = locks.some((l) => l.state !== "gone");
  return {
    locks,
    pending: running ? [] : await pendingOperations(await stack()),
    partialSnapshots: running ? [] : partialSnapshots(workDir, config),
  };
}

/** Removes the locks whose process is gone (checked again just before). */
export function removeDeadLocks(locks: readonly EngineLock[]): EngineLock[] {
  const removed: EngineLock[] = [];
  for (const lock of locks) {
    if (lock.state === "gone" && !processAlive(lock.pid) && fs.existsSync(lock.file)) {
      fs.rmSync(lock.file, { force: true });
      removed.push(lock);
    }
  }
  return removed;
}

/** Removes partial snapshot directories (abandonSnapshot refuses anything else). */
export function removePartialSnapshots(dirs: readonly string[]): void {
  for (const dir of dirs) {
    abandonSnapshot(dir);
  }
}

/** The files as they are now (one removed meanwhile is left out). */
function readAttrsFiles(files: readonly string[]): AttrsFile[] {
  const read: AttrsFile[] = [];
  for (const file of files) {
    try {
      const { mtimeMs } = fs.statSync(file);
      read.push({ file, text: fs.readFileSync(file, "utf8"), ageMs: Date.now() - mtimeMs });
    } catch {
      // removed meanwhile: fileblob deletes a blob's .attrs with it
    }
  }
  return read;
}

/** The `.attrs` files under `root` that `keep` keeps, by their path relative to `root`. */
function attrsFilesUnder(root: string, keep: (relative: string) => boolean): string[] {
  if (!fs.existsSync(root)) {
    return [];
  }
  return (fs.readdirSync(root, { recursive: true, encoding: "utf8" }) as string[])
    .filter((name) => name.endsWith(".attrs") && keep(name.split(path.sep).join("/")))
    .map((name) => path.join(root, name));
}

/** How many times a file still young after waiting is read again before it counts as written. */
const RECHECKS = 3;

/**
 * The broken `.attrs` files of the project's file backend (`<backend>/.pulumi/**`) that a command
 * on `stack` reads (attrsInScope), sorted; none for another backend. A broken file younger than
 * ATTRS_SETTLE_MS is read again once it is that old: a running pulumi may be writing it. One
 * that is rewritten each time is being written, not broken.
 */
export async function brokenStateFiles(
  env: Readonly<Record<string, string | undefined>>,
  workDir: string,
  stack: string | undefined,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<string[]> {
  const backend = fileBackendDir(env, workDir);
  const project = projectName(workDir);
  if (backend === undefined || project === undefined) {
    return [];
  }
  const files = attrsFilesUnder(path.join(backend, ".pulumi"), (relative) =>
    attrsInScope(relative, project, stack),
  );
  let judged = judgeAttrsFiles(readAttrsFiles(files));
  const broken = [...judged.broken];
  for (let round = 0; round < RECHECKS && judged.recheck.length > 0; round++) {
    await wait(Math.max(...judged.recheck.map((r) => r.inMs)));
    judged = judgeAttrsFiles(readAttrsFiles(judged.recheck.map((r) => r.file)));
    broken.push(...judged.broken);
  }
  return broken.sort();
}

/** Removes the files that are still broken when read again now; returns those removed. */
export function removeBrokenStateFiles(files: readonly string[]): string[] {
  const still = judgeAttrsFiles(readAttrsFiles(files)).broken;
  for (const file of still) {
    fs.rmSync(file, { force: true });
  }
  return [...still];
}
