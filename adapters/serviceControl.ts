// Stops and starts a service's app containers on the Docker Engine, for a Restore's
// maintenance window (runbook: `docker-compose stop app`, restore, `up -d`). Containers are
// found by the labels the AppService puts on them, never by name patterns. Also runs a
// migration tool (`alembic upgrade <rev>`) as a one-off container of the app's image.
import Docker from "dockerode";
import { UserError } from "../domain/errors";

/** Labels the AppService sets on every container it runs (contract with the Docker target). */
export const SERVICE_LABEL = "rewind.service";
export const ROLE_LABEL = "rewind.role";
export const STACK_LABEL = "rewind.stack";

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

/** A dockerode client for `dockerHost` (DOCKER_HOST or the local socket when empty). */
export function dockerClient(dockerHost?: string): Docker {
  if (dockerHost === undefined || dockerHost === "") {
    return new Docker();
  }
  if (dockerHost.startsWith("unix://")) {
    return new Docker({ socketPath: dockerHost.slice("unix://".length) });
  }
  const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: "http" });
}

function labelFilters(selector: AppSelector): string[] {
  const labels = [`${SERVICE_LABEL}=${selector.service}`, `${ROLE_LABEL}=app`];
  if (selector.stackId !== undefined && selector.stackId !== "") {
    labels.push(`${STACK_LABEL}=${selector.stackId}`);
  }
  return labels;
}

function engineError(action: string, selector: AppSelector, error: unknown): UserError {
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
 * Stops the running app containers of a service (SIGTERM, then SIGKILL after
 * `timeoutSeconds`) and returns their ids, so the same ones can be started again.
 * @throws UserError when the Docker Engine cannot be reached (before anything is stopped).
 */
export async function stopAppContainers(
  selector: AppSelector,
  timeoutSeconds = 30,
): Promise<string[]> {
  const docker = dockerClient(selector.dockerHost);
  let running: Docker.ContainerInfo[];
  try {
    running = await docker.listContainers({
      filters: { label: labelFilters(selector), status: ["running"] },
    });
  } catch (error) {
    throw engineError("list", selector, error);
  }
  const stopped: string[] = [];
  try {
    for (const info of running) {
      await docker.getContainer(info.Id).stop({ t: timeoutSeconds });
      stopped.push(info.Id);
    }
  } catch (error) {
    // Put back what was already stopped: a half-stopped service is worse than none.
    await startContainers(stopped, selector.dockerHost).catch(() => undefined);
    throw engineError("stop", selector, error);
  }
  return stopped;
}

/**
 * Starts the containers `ids` (those {@link stopAppContainers} stopped). A container that is
 * already running or was removed meanwhile (the AppService replaced it) is not an error.
 */
export async function startContainers(ids: readonly string[], dockerHost?: string): Promise<void> {
  const docker = dockerClient(dockerHost);
  for (const id of ids) {
    try {
      await docker.getContainer(id).start();
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      // 304: already running; 404: gone.
      if (status !== 304 && status !== 404) {
        throw new UserError(`cannot start container ${id.slice(0, 12)} again: ${String(error)}`, {
          cause: error,
        });
      }
    }
  }
}

/** A one-off command in the app's image: a migration tool (`alembic upgrade <rev>`). */
export interface CommandStep {
  /** Digest-pinned image reference, e.g. `127.0.0.1:5000/hunter@sha256:…`. */
  readonly image: string;
  /** Argument array: the image's entrypoint gets it as is, no shell. */
  readonly argv: readonly string[];
  /** Environment of the container (holds the database URL: never logged). */
  readonly env: Readonly<Record<string, string>>;
  readonly dockerHost?: string;
  /**
   * Absolute directory inside the image to run the command in (`alembic` finds `alembic.ini`
   * there).
   * @default the image's working directory
   */
  readonly workingDir?: string;
  /** For the error message, e.g. `alembic migration 0001 -> 0002`. */
  readonly what: string;
}

/** A command step that ran and exited non-zero: its exit code and the end of its output. */
export class CommandFailed extends UserError {
  constructor(
    public readonly step: CommandStep,
    public readonly exitCode: number,
    public readonly output: string,
  ) {
    super(
      `${step.what} failed: ${JSON.stringify(step.argv)} exited with ${exitCode}` +
        (output === "" ? "" : `: ${output}`),
    );
  }
}

// Enough of the tool's output to explain a failure.
const KEEP_LOG = 16 * 1024;

/**
 * Runs `step.argv` in a fresh container of `step.image` on the host network (the database is
 * reached as the app reaches it), waits for it, and removes it. Pulls the image when missing:
 * on an upgrade the migration runs before the new app version was ever started.
 * @throws CommandFailed with the exit code and the end of the container's output on failure.
 */
export async function runCommandStep(step: CommandStep): Promise<void> {
  if (step.image === "") {
    throw new UserError(`${step.what}: no image to run the migration command in`);
  }
  const docker = dockerClient(step.dockerHost);
  try {
    await docker.getImage(step.image).inspect();
  } catch {
    try {
      const stream = await docker.pull(step.image);
      await new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (error: Error | null) =>
          error ? reject(error) : resolve(),
        ),
      );
    } catch (error) {
      throw new UserError(
        `${step.what}: cannot pull ${step.image} to run ${JSON.stringify(step.argv)} in: ` +
          `${(error as Error).message}. Is the image pushed, and the registry reachable? ` +
          `Nothing was run.`,
        { cause: error },
      );
    }
  }
  const container = await docker.createContainer({
    Image: step.image,
    Cmd: [...step.argv],
    Env: Object.entries(step.env).map(([k, v]) => `${k}=${v}`),
    Labels: { [ROLE_LABEL]: "migration" },
    HostConfig: { NetworkMode: "host" },
    ...(step.workingDir === undefined || step.workingDir === ""
      ? {}
      : { WorkingDir: step.workingDir }),
  });
  try {
    await container.start();
    const result = (await container.wait()) as { StatusCode: number };
    if (result.StatusCode !== 0) {
      const logs = await container.logs({ stdout: true, stderr: true, follow: false });
      throw new CommandFailed(step, result.StatusCode, demux(logs).slice(-KEEP_LOG).trim());
    }
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

// Docker multiplexes stdout and stderr of a non-TTY container as frames with an 8-byte header
// (stream type, 3 zero bytes, big-endian length).
function demux(buffer: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(parts).toString("utf8");
}
