// The front-door proxy, HAProxy, through its runtime API (the admin socket): write its config,
// point its server slots at upstreams, drain the ones that leave, and report what it serves.
// Decisions (the config text, which slot serves what, when a drain is over) live in
// domain/haproxyConfig.ts and domain/proxySlots.ts; this file only talks to HAProxy.
//
// The order a release needs, with the provider doing the Docker parts:
//   start new replicas → wait until ready → setUpstreams(new) → drainUpstreams(old) → stop old.
// setUpstreams returns only once HAProxy reports the new list (the "confirm" step).
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import {
  BACKEND,
  CONFIG_FILE,
  CONTAINER_STATE_DIR,
  ProxyConfigArgs,
  SOCKET_FILE,
  haproxyConfig,
} from "../domain/haproxyConfig";
import {
  AdminState,
  DrainStatus,
  Slot,
  SlotAction,
  drainStatus,
  planSwitch,
  servedUpstreams,
} from "../domain/proxySlots";

/**
 * The proxy image's tag, `<registry>/rewind-haproxy:<HAPROXY_IMAGE_VERSION>`; scripts/images
 * reads it from this line. Bump it whenever the image's recipe changes.
 */
export const HAPROXY_IMAGE_VERSION = "1";

/** The proxy image in `registry` (`host:port`), as scripts/images pushes it. */
export function haproxyImage(registry: string): string {
  return `${registry}/rewind-haproxy:${HAPROXY_IMAGE_VERSION}`;
}

const COMMAND_TIMEOUT_MS = 5_000;
const POLL_MS = 100;

/**
 * Sends one command to the admin socket and returns HAProxy's answer (non-interactive mode:
 * one command per connection).
 * @throws Error naming the socket when it cannot be reached or does not answer in time.
 */
export function runtimeCommand(
  socketPath: string,
  command: string,
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<string> {
  if (/[\r\n;]/.test(command)) {
    // One command per call: a `;` or a newline would run a second one.
    return Promise.reject(
      new Error(`internal error: unsafe runtime command ${JSON.stringify(command)}`),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.createConnection({ path: socketPath });
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no answer within ${timeoutMs} ms`)),
    );
    socket.on("connect", () => socket.end(`${command}\n`));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    socket.on("error", (err) =>
      reject(
        new Error(
          `the proxy's admin socket ${socketPath} did not answer "${command.split(" ").slice(0, 3).join(" ")}" ` +
            `(${err.message}); is the proxy running?`,
        ),
      ),
    );
  });
}

/** Where a service's proxy keeps its files on the host. */
export interface ProxyFiles {
  /** The directory bind-mounted at /state in the proxy's container. */
  readonly stateDir: string;
  readonly configPath: string;
  /** The admin socket, as the host sees it. */
  readonly socketPath: string;
}

/** The files of the proxy whose state directory is `stateDir`. */
export function proxyFiles(stateDir: string): ProxyFiles {
  return {
    stateDir,
    configPath: path.join(stateDir, CONFIG_FILE),
    socketPath: path.join(stateDir, SOCKET_FILE),
  };
}

/**
 * Writes the config for a service (temp + rename: HAProxy never reads half a file).
 * @returns the files, and whether the config changed: a changed config needs a new proxy
 * container (a restart), an unchanged one does not.
 * @throws Error naming each bad argument (see proxyConfigProblems).
 */
export function writeProxyConfig(
  stateDir: string,
  args: ProxyConfigArgs,
): ProxyFiles & { readonly changed: boolean } {
  const files = proxyFiles(stateDir);
  // sun_path holds 108 bytes with the NUL; a longer path fails only later, at connect().
  if (Buffer.byteLength(files.socketPath) > 107) {
    throw new Error(
      `the proxy's admin socket ${files.socketPath} is longer than a unix socket path may be ` +
        `(107 bytes); allowed: a shorter state directory (e.g. a shorter REWIND_HOME)`,
    );
  }
  const text = haproxyConfig(args);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  let before: string | undefined;
  try {
    before = fs.readFileSync(files.configPath, "utf8");
  } catch {
    before = undefined;
  }
  if (before === text) {
    return { ...files, changed: false };
  }
  const temp = `${files.configPath}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(temp, text, { mode: 0o644 });
  fs.renameSync(temp, files.configPath);
  return { ...files, changed: true };
}

/**
 * What the engine runs for the proxy (the parts of docker.ts's RunSpec that are the proxy's):
 * its state directory at /state, HAProxy in the foreground on the config written there.
 */
export function proxyContainer(stateDir: string): {
  readonly command: readonly string[];
  readonly binds: readonly string[];
} {
  return {
    command: ["haproxy", "-db", "-f", `${CONTAINER_STATE_DIR}/${CONFIG_FILE}`],
    binds: [`${stateDir}:${CONTAINER_STATE_DIR}`],
  };
}

/**
 * Waits until the admin socket answers (the proxy has read its config and listens).
 * @param gone says why the proxy's process is gone (e.g. the container exited, with its last
 * output), or undefined while it runs: a proxy that refused its config fails at once.
 * @throws Error after `timeoutMs`, or as soon as `gone` gives a reason.
 */
export async function waitProxyReady(
  socketPath: string,
  options: { readonly timeoutMs?: number; readonly gone?: () => Promise<string | undefined> } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const info = await runtimeCommand(socketPath, "show info", 2_000);
      if (/^Name: HAProxy$/m.test(info)) {
        return;
      }
      last = `it answered ${JSON.stringify(info.slice(0, 80))}`;
    } catch (err) {
      last = (err as Error).message;
    }
    const reason = options.gone === undefined ? undefined : await options.gone();
    if (reason !== undefined) {
      throw new Error(`the proxy stopped before it answered on ${socketPath}: ${reason}`);
    }
    if (Date.now() >= deadline) {
      throw new Error(`the proxy did not answer on ${socketPath} within ${timeoutMs} ms: ${last}`);
    }
    await sleep(POLL_MS);
  }
}

// srv_admin_state bits, HAProxy's SRV_ADMF_MAINT and SRV_ADMF_DRAIN masks: forced, inherited
// and resolver maintenance; forced and inherited drain. The config bit (0x04, `disabled`) stays
// set after the runtime API makes the slot ready, so it is not one of them.
const MAINT_BITS = 0x01 | 0x02 | 0x20;
const DRAIN_BITS = 0x08 | 0x10;
// srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping.
const OP_RUNNING = 2;
// srv_check_state: CHK_ST_CONFIGURED | CHK_ST_ENABLED, a health check is on.
const CHECK_ON = 0x02 | 0x04;
// srv_check_result: CHK_RES_PASSED, CHK_RES_CONDPASS.
const CHECK_PASSED = new Set([3, 4]);

/** Rows of a table whose header line starts with `# ` and whose fields are split by `sep`. */
function table(text: string, sep: RegExp | string): Record<string, string>[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const headerAt = lines.findIndex((l) => l.startsWith("# "));
  if (headerAt < 0) {
    throw new Error(
      `the proxy answered without a table header: ${JSON.stringify(text.slice(0, 120))}`,
    );
  }
  const header = lines[headerAt].slice(2).split(sep);
  return lines.slice(headerAt + 1).map((line) => {
    const fields = line.split(sep);
    return Object.fromEntries(header.map((h, i) => [h, fields[i] ?? ""]));
  });
}

/** One slot per server row of `show servers state <backend>`, sessions still 0. */
export function parseServersState(text: string): Slot[] {
  return table(text, " ").map((row) => {
    const admin = Number(row.srv_admin_state);
    const op = Number(row.srv_op_state);
    const checked = (Number(row.srv_check_state) & CHECK_ON) === CHECK_ON;
    if (!Number.isInteger(admin) || !Number.isInteger(op) || row.srv_name === undefined) {
      throw new Error(`the proxy reported an unreadable server row: ${JSON.stringify(row)}`);
    }
    const state: AdminState =
      (admin & MAINT_BITS) !== 0 ? "maint" : (admin & DRAIN_BITS) !== 0 ? "drain" : "ready";
    return {
      name: row.srv_name,
      upstream: `${row.srv_addr}:${row.srv_port}`,
      admin: state,
      checked,
      // A slot leaving maint counts as running before its first check; with checks on, it is
      // up only once a check has passed.
      up:
        state !== "maint" &&
        op === OP_RUNNING &&
        (!checked || CHECK_PASSED.has(Number(row.srv_check_result))),
      sessions: 0,
    };
  });
}

/** Current plus queued sessions per server name, from `show stat` CSV. */
export function parseSessions(csv: string): Map<string, number> {
  const sessions = new Map<string, number>();
  for (const row of table(csv, ",")) {
    if (row.svname === "FRONTEND" || row.svname === "BACKEND") continue;
    sessions.set(row.svname, (Number(row.scur) || 0) + (Number(row.qcur) || 0));
  }
  return sessions;
}

/** Every slot of the backend: what it points at, its state, and what is in flight on it. */
export async function showSlots(socketPath: string): Promise<Slot[]> {
  const [state, stat] = await Promise.all([
    runtimeCommand(socketPath, `show servers state ${BACKEND}`),
    // -1 4 -1 would be every proxy; the backend's servers only (type 4).
    runtimeCommand(socketPath, `show stat ${BACKEND} 4 -1`),
  ]);
  const sessions = parseSessions(stat);
  return parseServersState(state).map((s) => ({ ...s, sessions: sessions.get(s.name) ?? 0 }));
}

/** The upstreams HAProxy sends new requests to now (`host:port`, in slot order). */
export async function currentUpstreams(socketPath: string): Promise<string[]> {
  return servedUpstreams(await showSlots(socketPath));
}

/** Runs a state-changing command; HAProxy answers errors as text, success as nothing. */
async function apply(socketPath: string, command: string, ok: RegExp = /^\s*$/): Promise<void> {
  const answer = await runtimeCommand(socketPath, command);
  if (!ok.test(answer)) {
    throw new Error(`the proxy refused "${command}": ${answer.trim()}`);
  }
}

async function applyAction(socketPath: string, action: SlotAction, checked = false): Promise<void> {
  const server = `${BACKEND}/${action.slot}`;
  switch (action.kind) {
    case "fill": {
      const colon = action.upstream.lastIndexOf(":");
      await apply(
        socketPath,
        `set server ${server} addr ${action.upstream.slice(0, colon)} port ${action.upstream.slice(colon + 1)}`,
        /changed|no need to change/i,
      );
      await apply(socketPath, `set server ${server} state ready`);
      if (checked) {
        // A slot leaving maint counts as up, with the last check result of its previous
        // upstream; down until its own first check passes, it gets no request before that.
        await apply(socketPath, `set server ${server} health down`);
      }
      return;
    }
    case "ready":
      await apply(socketPath, `set server ${server} state ready`);
      return;
    case "drain":
      await apply(socketPath, `set server ${server} state drain`);
      return;
    default: {
      const unexpected: never = action;
      throw new Error(`internal error: unknown slot action ${JSON.stringify(unexpected)}`);
    }
  }
}

export interface SwitchResult {
  /** What HAProxy serves now, as it reports it. */
  readonly serving: readonly string[];
  /** Upstreams this switch put in drain: pass them to drainUpstreams, then stop them. */
  readonly draining: readonly string[];
}

/**
 * Switches the proxy to exactly `upstreams` and confirms it: new upstreams take free slots and
 * must be up (their health check passes, when checks are on) before the slots of upstreams
 * that leave are put in drain; then the proxy is read back until it serves exactly that list.
 * Requests in flight on drained slots continue.
 * @throws Error when the list does not fit, a slot does not come up within `confirmMs` (the
 * slots just filled go back to maint and the old upstreams keep serving: nothing was drained),
 * or HAProxy refuses a command.
 */
export async function setUpstreams(
  socketPath: string,
  upstreams: readonly string[],
  options: { readonly confirmMs?: number } = {},
): Promise<SwitchResult> {
  const confirmMs = options.confirmMs ?? 30_000;
  const before = await showSlots(socketPath);
  const plan = planSwitch(before, upstreams);
  const ups = plan.actions.filter((a) => a.kind !== "drain");
  const drains = plan.actions.filter((a) => a.kind === "drain");
  for (const action of ups) {
    await applyAction(socketPath, action, before.find((s) => s.name === action.slot)?.checked);
  }
  // Never drain the old before the new take requests: with health checks on, a slot set ready
  // serves only after its first check passes.
  try {
    await waitSlots(socketPath, confirmMs, (slots) => {
      const bad = plan.serving.filter(({ slot, upstream }) => {
        const s = slots.find((x) => x.name === slot);
        return s === undefined || s.upstream !== upstream || s.admin !== "ready" || !s.up;
      });
      return bad.length === 0
        ? undefined
        : `${bad.map((b) => `${b.upstream} (${b.slot})`).join(", ")} not up`;
    });
  } catch (err) {
    // Back to what served before: each slot changed here returns to its previous state.
    for (const action of ups) {
      const was = before.find((s) => s.name === action.slot)?.admin ?? "maint";
      await apply(socketPath, `set server ${BACKEND}/${action.slot} state ${was}`);
    }
    const still = servedUpstreams(before);
    throw new Error(
      `${(err as Error).message}; the proxy still serves ${still.join(", ") || "nothing"}`,
    );
  }
  for (const action of drains) {
    await applyAction(socketPath, action);
  }
  const slots = await showSlots(socketPath);
  const serving = servedUpstreams(slots);
  const expected = [...upstreams].sort().join(",");
  if ([...serving].sort().join(",") !== expected) {
    throw new Error(
      `the proxy serves ${serving.join(", ") || "nothing"} after the switch, not ${upstreams.join(", ")}`,
    );
  }
  return { serving, draining: plan.draining };
}

async function waitSlots(
  socketPath: string,
  timeoutMs: number,
  problem: (slots: Slot[]) => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const slots = await showSlots(socketPath);
    const found = problem(slots);
    if (found === undefined) {
      return;
    }
    if (Date.now() >= deadline) {
      throw new Error(`the proxy did not confirm the switch within ${timeoutMs} ms: ${found}`);
    }
    await sleep(POLL_MS);
  }
}

/** How one upstream's drain ended. */
export interface DrainReport {
  readonly upstream: string;
  readonly status: Exclude<DrainStatus, "waiting">;
  /** Sessions still open when it ended (0 when drained). */
  readonly sessions: number;
  readonly waitedMs: number;
}

/**
 * Drains each upstream (state drain, if it is not already) and waits until nothing is in
 * flight on it, or until `drainSeconds` have passed; then puts its slot in maint, which frees
 * the slot and keeps the proxy from sending it anything while the replica stops. What is still
 * open then (a WebSocket) is left to the replica to close when it is stopped (SIGTERM), so it
 * is closed by the app, not cut by the proxy.
 * An upstream in no slot is reported drained: nothing can be in flight on it.
 */
export async function drainUpstreams(
  socketPath: string,
  upstreams: readonly string[],
  drainSeconds: number,
): Promise<DrainReport[]> {
  if (!Number.isFinite(drainSeconds) || drainSeconds < 0) {
    throw new Error(`drainSeconds is ${drainSeconds}; allowed: a number of seconds, at least 0`);
  }
  const start = Date.now();
  const initial = await showSlots(socketPath);
  const slotOf = new Map<string, string>();
  for (const upstream of upstreams) {
    const slot = initial.find(
      (s) => s.upstream === upstream && (s.admin !== "maint" || s.sessions > 0),
    );
    if (slot === undefined) continue;
    slotOf.set(upstream, slot.name);
    if (slot.admin === "ready") {
      await applyAction(socketPath, { kind: "drain", slot: slot.name, upstream });
    }
  }
  const reports = new Map<string, DrainReport>();
  for (const upstream of upstreams) {
    if (!slotOf.has(upstream)) {
      reports.set(upstream, { upstream, status: "drained", sessions: 0, waitedMs: 0 });
    }
  }
  while (reports.size < upstreams.length) {
    const slots = await showSlots(socketPath);
    for (const [upstream, name] of slotOf) {
      if (reports.has(upstream)) continue;
      const sessions = slots.find((s) => s.name === name)?.sessions ?? 0;
      const waitedMs = Date.now() - start;
      const status = drainStatus(sessions, waitedMs, drainSeconds);
      if (status !== "waiting") {
        await apply(socketPath, `set server ${BACKEND}/${name} state maint`);
        reports.set(upstream, { upstream, status, sessions, waitedMs });
      }
    }
    if (reports.size < upstreams.length) await sleep(POLL_MS);
  }
  return upstreams.map((u) => reports.get(u) as DrainReport);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
