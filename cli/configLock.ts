// Rewind's own lock on a stack's config file: a `rewind` that writes pins (release, rollback,
// recover) holds it from reading the config until its last update ends, so two `rewind`
// processes cannot interleave their pins (issue 10, defect 1). A file beside the stack's config,
// created exclusively, naming its holder; a holder whose process is gone is replaced.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { UserError } from "../domain/errors";

/** Who holds the lock, as written in the lock file. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO 8601. */
  readonly startedAt: string;
  /** `rewind release --set …`. */
  readonly command: string;
}

/** The lock file of a stack config file: `stacks/.Pulumi.prod.yaml.rewind-lock`. */
export function lockFileOf(configFile: string): string {
  return path.join(path.dirname(configFile), `.${path.basename(configFile)}.rewind-lock`);
}

/**
 * Whether a process of this host is alive (a pid of another host cannot be checked). A zombie
 * (`Z` in /proc/<pid>/stat: it exited, its parent has not reaped it) is gone, though kill(pid, 0)
 * still finds it: a pulumi killed under a parent that never reaps stays one.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) {
    return false; // 0 and -1 would address a group or every process, not one
  }
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") {
      return false;
    }
  }
  const state = processState(pid);
  return state !== "Z" && state !== "X";
}

/** The state letter of /proc/<pid>/stat (`R`, `S`, `Z`, …); undefined without /proc. */
function processState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name in parentheses may hold spaces and parentheses: the state follows the last.
    return stat.slice(stat.lastIndexOf(")") + 2).charAt(0) || undefined;
  } catch (error) {
    // Ended between the two looks: as dead as a reaped one.
    const vanished = (error as NodeJS.ErrnoException).code === "ENOENT";
    return vanished && fs.existsSync("/proc/self/stat") ? "X" : undefined;
  }
}

/** `rewind release (pid 4711 on host ci-1 since 2026-11-30 10:00:00Z)`. */
export function describeHolder(h: LockHolder): string {
  return `${h.command} (pid ${h.pid} on host ${h.host} since ${h.startedAt.replace("T", " ").replace(/\.\d+Z$/, "Z")})`;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LockHolder>;
    return typeof parsed.pid === "number" && typeof parsed.host === "string"
      ? {
          pid: parsed.pid,
          host: parsed.host,
          startedAt: String(parsed.startedAt ?? "?"),
          command: String(parsed.command ?? "rewind"),
        }
      : undefined;
  } catch {
    return undefined;
  }
}

/** A held lock; release() removes the file if it is still ours. */
export interface ConfigLock {
  readonly file: string;
  /** The holder whose dead process's lock was replaced, if any. */
  readonly replaced: LockHolder | undefined;
  release(): void;
}

/**
 * Takes the lock of `configFile`, waiting up to `waitMs` for another `rewind` to finish.
 * @throws UserError naming the holder when it is still held after `waitMs`.
 */
export async function acquireConfigLock(
  configFile: string,
  stack: string,
  command: string,
  waitMs: number,
): Promise<ConfigLock> {
  const file = lockFileOf(configFile);
  const me: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    command,
  };
  const deadline = Date.now() + waitMs;
  let replaced: LockHolder | undefined;
  for (;;) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${JSON.stringify(me)}\n`, { flag: "wx", mode: 0o644 });
      const release = () => {
        if (readHolder(file)?.pid === me.pid) {
          fs.rmSync(file, { force: true });
        }
      };
      // A normal exit (also after an error) must not leave the lock behind.
      process.once("exit", release);
      return { file, replaced, release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw error;
      }
    }
    const holder = readHolder(file);
    if (holder === undefined || (holder.host === os.hostname() && !processAlive(holder.pid))) {
      // Killed before it could remove its lock (or a half-written file): nobody holds it.
      replaced = holder;
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new UserError(
        `stack ${stack}'s config is held by ${describeHolder(holder)}; nothing was changed. ` +
          `Wait for it to finish and run again (its lock: ${file})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** How long a `rewind` waits for another one: REWIND_LOCK_WAIT_SECONDS, else 10 s. */
export function lockWaitMs(env: Readonly<Record<string, string | undefined>>): number {
  const seconds = Number(env.REWIND_LOCK_WAIT_SECONDS);
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : 10) * 1000;
}
