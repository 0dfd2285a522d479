// The Docker Engine through its API (dockerode), never through a shell: list Rewind's containers
// by label, run one on the host network, wait until it answers HTTP, stop it gracefully; stop and
// start a service's app containers around a Restore. Every error's message is written for the
// user.
import Docker from "dockerode";
import { UserError } from "../domain/errors";
import { LABELS } from "../domain/dockerLabels";

/** How to reach the engine, from a `DOCKER_HOST` value. */
export type EngineAddress =
  | { readonly socketPath: string }
  | { readonly host: string; readonly port: number; readonly protocol: "http" };

/**
 * Parses `DOCKER_HOST` (`unix:///path` or `tcp://host:port`; unset means the default socket).
 * @throws Error naming the value and the forms allowed.
 */
export function engineAddress(dockerHost: string | undefined): EngineAddress {
  if (dockerHost === undefined || dockerHost === "") {
    return { socketPath: "/var/run/docker.sock" };
  }
  const unix = /^unix:\/\/(\/.+)$/.exec(dockerHost);
  if (unix !== null) {
    return { socketPath: unix[1] };
  }
  // Plain TCP only: Rewind's engines are local; a TLS engine needs certificates we do not take.
  const tcp = /^tcp:\/\/([^:/]+):([0-9]{1,5})\/?$/.exec(dockerHost);
  if (tcp !== null) {
    return { host: tcp[1], port: Number(tcp[2]), protocol: "http" };
  }
  throw new Error(
    `DOCKER_HOST is "${dockerHost}"; allowed: unix:///path/to/docker.sock or tcp://host:port`,
  );
}

/**
 * A client for the engine at `dockerHost` (a `DOCKER_HOST` value).
 * @param dockerHost @default DOCKER_HOST of Rewind's environment (also when empty), else the
 * local socket
 */
export function engine(dockerHost?: string): Docker {
  return new Docker(engineAddress(dockerHost || process.env.DOCKER_HOST));
}

/** A container as `list` reports it. */
export interface ContainerSummary {
  readonly id: string;
  readonly name: string;
  /** `running`, `exited`, `restarting`, `created`, … */
  readonly state: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Seconds since the epoch. */
  readonly created: number;
}

/** Every container (running or not) that carries all of `labels`. */
export async function listContainers(
  docker: Docker,
  labels: Readonly<Record<string, string>>,
): Promise<ContainerSummary[]> {
  const found = await docker.listContainers({
    all: true,
    filters: { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) },
  });
  return found.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ""),
    state: c.State,
    labels: c.Labels,
    created: c.Created,
  }));
}

function statusCode(err: unknown): number | undefined {
  return typeof err === "object" && err !== null && "statusCode" in err
    ? Number((err as { statusCode: unknown }).statusCode)
    : undefined;
}

/**
 * Pulls `ref` unless the engine has it already (images built and pushed locally it has).
 * @param auth the registry's credentials, for the engine's own auth (X-Registry-Auth); see
 * adapters/registryAuth.ts's dockerAuthConfig. Anonymous when undefined.
 */
export async function ensureImage(
  docker: Docker,
  ref: string,
  auth?: { username: string; password: string; serveraddress: string },
): Promise<void> {
  try {
    await docker.getImage(ref).inspect();
    return;
  } catch (err) {
    if (statusCode(err) !== 404) {
      throw err;
    }
  }
  const at = ref.lastIndexOf("@");
  const options =
    at < 0 ? { fromImage: ref } : { fromImage: ref.slice(0, at), tag: ref.slice(at + 1) };
  // The credentials go in the auth argument, never in the options: those become the query string.
  let stream: NodeJS.ReadableStream;
  try {
    stream = await (auth === undefined
      ? docker.createImage(options)
      : docker.createImage(auth, options));
  } catch (err) {
    // A refused login is an HTTP error of the request itself, not an event in the stream.
    throw new Error(pullFailure(ref, (err as Error).message, auth));
  }
  await new Promise<void>((resolve, reject) => {
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) =>
        err !== null
          ? reject(new Error(pullFailure(ref, err.message, auth)))
          : failure !== undefined
            ? reject(new Error(pullFailure(ref, failure, auth)))
            : resolve(),
      // The engine reports a failed pull as an event in a 200 stream, not as an HTTP error.
      (event: { error?: string }) => {
        if (event.error !== undefined) {
          failure = event.error;
        }
      },
    );
  });
}

/** The engine's reason, with the password cut out should the engine ever echo it. */
function pullFailure(
  ref: string,
  reason: string,
  auth: { username: string; password: string } | undefined,
): string {
  const safe =
    auth === undefined || auth.password === "" ? reason : reason.split(auth.password).join("***");
  const hint = !/unauthorized|authentication required|denied/i.test(safe)
    ? ""
    : auth === undefined
      ? "; the registry wants credentials: set rewind:app.registry.username and rewind:app.registry.password"
      : `; the registry refused user "${auth.username}" (rewind:app.registry.username, ` +
        "rewind:app.registry.password)";
  return `docker pull ${ref} failed: ${safe}${hint}`;
}

/** What to run. */
export interface RunSpec {
  readonly name: string;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  /** The container command; the image's own when empty. */
  readonly command: readonly string[];
  /** `host:container[:ro]` bind mounts. */
  readonly binds?: readonly string[];
}

/**
 * Creates and starts a container on the host network. It restarts unless stopped, so an engine
 * restart brings the service back as it was.
 * @returns the container id.
 */
export async function runContainer(docker: Docker, spec: RunSpec): Promise<string> {
  const id = await createContainer(docker, spec);
  await startCreated(docker, id);
  return id;
}

/**
 * Creates a container as {@link runContainer} would, without starting it: what takes time (the
 * engine's bookkeeping) happens before the moment that must be short.
 * @returns the container id.
 */
export async function createContainer(docker: Docker, spec: RunSpec): Promise<string> {
  const container = await docker.createContainer({
    name: spec.name,
    Image: spec.image,
    Labels: { ...spec.labels },
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    ...(spec.command.length > 0 ? { Cmd: [...spec.command] } : {}),
    HostConfig: {
      NetworkMode: "host",
      RestartPolicy: { Name: "unless-stopped" },
      Binds: spec.binds === undefined ? [] : [...spec.binds],
      // Bounded logs: a replica may live for months.
      LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } },
    },
  });
  return container.id;
}

/** Starts a container {@link createContainer} made; removes it if it cannot start. */
export async function startCreated(docker: Docker, id: string): Promise<void> {
  const container = docker.getContainer(id);
  try {
    await container.start();
  } catch (err) {
    await container.remove({ force: true }).catch(() => undefined);
    throw err;
  }
}

/** Whether a container runs, and if not, why (for error messages). */
export async function containerStatus(
  docker: Docker,
  id: string,
): Promise<{ running: boolean; description: string }> {
  try {
    const info = await docker.getContainer(id).inspect();
    const s = info.State;
    // A container the engine keeps restarting is crashing, even while momentarily "running".
    const running = s.Running && !s.Restarting && info.RestartCount === 0;
    const description = s.Running
      ? info.RestartCount > 0
        ? `restarted ${info.RestartCount} time(s)`
        : "running"
      : `${s.Status}, exit code ${s.ExitCode}${s.Error ? `: ${s.Error}` : ""}`;
    return { running, description };
  } catch (err) {
    if (statusCode(err) === 404) {
      return { running: false, description: "removed" };
    }
    throw err;
  }
}

/** The last lines of a container's output, for error messages ("" when unavailable). */
export async function logTail(docker: Docker, id: string, lines = 5): Promise<string> {
  try {
    const raw = await docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, tail: lines, follow: false });
    return demux(Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw))).trim();
  } catch {
    return "";
  }
}

/**
 * The text of a non-TTY container's output: the engine multiplexes stdout and stderr as frames,
 * each behind an 8-byte header (stream type, 3 zero bytes, big-endian length).
 */
export function demux(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(parts).toString("utf8");
}

/**
 * Stops a container gracefully (SIGTERM, then SIGKILL after `graceSeconds`) and removes it.
 * A container already gone is not an error: the goal is that it does not run.
 */
export async function stopAndRemove(docker: Docker, id: string, graceSeconds = 10): Promise<void> {
  const container = docker.getContainer(id);
  try {
    await container.stop({ t: graceSeconds });
  } catch (err) {
    // 304: already stopped; 404: already removed.
    if (statusCode(err) !== 304 && statusCode(err) !== 404) {
      throw err;
    }
  }
  try {
    await container.remove({ force: true });
  } catch (err) {
    // 409: removal already in progress (a concurrent cleanup).
    if (statusCode(err) !== 404 && statusCode(err) !== 409) {
      throw err;
    }
  }
}

/**
 * Stops a container by `signal` (a program's own graceful stop, e.g. HAProxy's SIGUSR1: stop
 * listening, finish what is in flight), waits up to `timeoutSeconds` for it to exit, then stops
 * what is left and removes it. Its restart policy is turned off first: the engine would
 * otherwise start again a container that exits by itself.
 */
export async function softStop(
  docker: Docker,
  id: string,
  signal: string,
  timeoutSeconds: number,
): Promise<void> {
  const container = docker.getContainer(id);
  try {
    await container.update({ RestartPolicy: { Name: "no" } });
    await container.kill({ signal });
  } catch (err) {
    // 404: gone; 409: not running. Either way, what is left is removed below.
    if (statusCode(err) !== 404 && statusCode(err) !== 409) {
      throw err;
    }
  }
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline && (await containerStatus(docker, id)).running) {
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  await stopAndRemove(docker, id, 1);
}

/** The answer to one probe: the status, or why there was none. */
export type ProbeResult =
  | { readonly ok: boolean; readonly status: number; readonly body: string }
  | { readonly ok: false; readonly status: undefined; readonly body: string };

const PROBE_TIMEOUT_MS = 2_000;

/** One GET; `ok` when it answers 2xx. Never throws. */
export async function probe(url: string): Promise<ProbeResult> {
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      // A fresh connection per probe: a replica must answer on its own socket, not on one the
      // pool kept open to a process that is shutting down.
      headers: { connection: "close" },
    });
    const body = (await res.text()).slice(0, 200);
    return { ok: res.status >= 200 && res.status < 300, status: res.status, body };
  } catch (err) {
    const cause = err instanceof Error ? (err.cause ?? err) : err;
    return { ok: false, status: undefined, body: String((cause as Error).message ?? cause) };
  }
}

const POLL_MS = 200;

/**
 * Probes each of `paths` on `baseUrl` in turn until it answers 2xx, within `timeoutMs` overall.
 * Gives up early when the container stops running (a crash needs no timeout to be seen).
 * @returns undefined when every path answered 2xx, otherwise what went wrong.
 */
export async function waitHttpReady(
  docker: Docker,
  id: string,
  baseUrl: string,
  paths: readonly string[],
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let lastStateCheck = 0;
  for (const path of paths) {
    const url = new URL(path, baseUrl).toString();
    for (;;) {
      const result = await probe(url);
      if (result.ok) {
        break;
      }
      const answer =
        result.status === undefined
          ? `no answer (${result.body})`
          : `HTTP ${result.status} ${result.body}`.trim();
      if (Date.now() - lastStateCheck >= 1_000) {
        lastStateCheck = Date.now();
        const status = await containerStatus(docker, id);
        if (!status.running) {
          const logs = await logTail(docker, id);
          return `container ${status.description}${logs ? `; last output: ${logs}` : ""}`;
        }
      }
      if (Date.now() >= deadline) {
        return `last answer to GET ${path}: ${answer}`;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
  return undefined;
}

/** Which containers: the `app` role of one service, optionally of one stack only. */
export interface AppSelector {
  /** `rewind.service` label value: the app's name. */
  readonly service: string;
  /** `rewind.stack` label value (`<project>/<stack>`); any stack's when absent. */
  readonly stackId?: string;
  /**
   * The Docker Engine, e.g. `unix:///run/docker.sock` or `tcp://127.0.0.1:2375`.
   * @default DOCKER_HOST of the provider's environment, else the local socket
   */
  readonly dockerHost?: string;
}

function appLabels(selector: AppSelector): Record<string, string> {
  return {
    [LABELS.service]: selector.service,
    [LABELS.role]: "app",
    ...(selector.stackId === undefined || selector.stackId === ""
      ? {}
      : { [LABELS.stack]: selector.stackId }),
  };
}

function appEngineError(action: string, selector: AppSelector, error: unknown): UserError {
  const e = error as { code?: string; message?: string };
  const reach =
    e.code === "ENOENT" || e.code === "ECONNREFUSED" || e.code === "EACCES"
      ? "the Docker Engine is not reachable (is it running, and is DOCKER_HOST right?)"
      : (e.message ?? String(error));
  return new UserError(`cannot ${action} the app containers of ${selector.service}: ${reach}`, {
    cause: error,
  });
}

/**
 * Stops the running app containers of a service, for a Restore's maintenance window (runbook:
 * `docker-compose stop app`), SIGTERM then SIGKILL after `timeoutSeconds`, and returns their ids
 * so the same ones can be started again. Found by the AppService's labels, never by name.
 * @throws UserError when the Docker Engine cannot be reached (before anything is stopped).
 */
export async function stopAppContainers(
  selector: AppSelector,
  timeoutSeconds = 30,
): Promise<string[]> {
  const docker = engine(selector.dockerHost);
  let running: ContainerSummary[];
  try {
    running = (await listContainers(docker, appLabels(selector))).filter(
      (c) => c.state === "running",
    );
  } catch (error) {
    throw appEngineError("list", selector, error);
  }
  const stopped: string[] = [];
  try {
    for (const container of running) {
      await docker.getContainer(container.id).stop({ t: timeoutSeconds });
      stopped.push(container.id);
    }
  } catch (error) {
    // Put back what was already stopped: a half-stopped service is worse than none.
    await startContainers(stopped, selector.dockerHost).catch(() => undefined);
    throw appEngineError("stop", selector, error);
  }
  return stopped;
}

/**
 * Starts the containers `ids` (those {@link stopAppContainers} stopped). A container that is
 * already running or was removed meanwhile (the AppService replaced it) is not an error.
 */
export async function startContainers(ids: readonly string[], dockerHost?: string): Promise<void> {
  const docker = engine(dockerHost);
  for (const id of ids) {
    try {
      await docker.getContainer(id).start();
    } catch (error) {
      // 304: already running; 404: gone.
      if (statusCode(error) !== 304 && statusCode(error) !== 404) {
        throw new UserError(`cannot start container ${id.slice(0, 12)} again: ${String(error)}`, {
          cause: error,
        });
      }
    }
  }
}

/**
 * A worker without HTTP is ready once it has stayed up `seconds` (a crash on start shows as
 * not running, or as a restart).
 * @returns undefined when it stayed up, otherwise what went wrong.
 */
export async function waitStaysUp(
  docker: Docker,
  id: string,
  seconds: number,
): Promise<string | undefined> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const status = await containerStatus(docker, id);
    if (!status.running) {
      const logs = await logTail(docker, id);
      return `container ${status.description} within ${seconds}s${logs ? `; last output: ${logs}` : ""}`;
    }
    if (Date.now() >= until) return undefined;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS * 5, Math.max(0, until - Date.now()))));
  }
}

/** Runs `argv` inside the running container `id` (no shell) and returns its exit code and output. */
export async function execIn(
  docker: Docker,
  id: string,
  argv: readonly string[],
): Promise<{ exitCode: number; output: string }> {
  const exec = await docker
    .getContainer(id)
    .exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => resolve());
    stream.on("error", reject);
  });
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, output: demux(Buffer.concat(chunks)).trim() };
}

/**
 * A worker is ready once `argv` run inside it exits 0; retried until `timeoutMs`.
 * @returns undefined when it did, otherwise the last exit and output.
 */
export async function waitCommandReady(
  docker: Docker,
  id: string,
  argv: readonly string[],
  timeoutMs: number,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const status = await containerStatus(docker, id);
    if (!status.running) {
      const logs = await logTail(docker, id);
      return `container ${status.description}${logs ? `; last output: ${logs}` : ""}`;
    }
    try {
      const result = await execIn(docker, id, argv);
      if (result.exitCode === 0) return undefined;
      last = `${JSON.stringify(argv)} exited ${result.exitCode}${result.output ? `: ${result.output.split("\n").slice(-3).join(" ")}` : ""}`;
    } catch (err) {
      last = `${JSON.stringify(argv)} could not run: ${(err as Error).message}`;
    }
    if (Date.now() >= deadline) return last;
    await new Promise((r) => setTimeout(r, POLL_MS * 5));
  }
}
