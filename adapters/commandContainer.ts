// A one-off command in a fresh container of the app's image, such as a migration tool
// (`alembic upgrade <rev>`): run on the host network, waited for, removed.
import { UserError } from "../domain/errors";
import { LABELS } from "../domain/dockerLabels";
import { demux, engine, ensureImage } from "./docker";

/** A one-off command in the app's image: a migration tool (`alembic upgrade <rev>`). */
export interface CommandStep {
  /** Digest-pinned image reference, e.g. `127.0.0.1:5000/hunter@sha256:…`. */
  readonly image: string;
  /** Argument array: the image's entrypoint gets it as is, no shell. */
  readonly argv: readonly string[];
  /** Environment of the container (holds the database URL: never logged). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The Docker Engine, e.g. `unix:///run/docker.sock`.
   * @default DOCKER_HOST of the provider's environment, else the local socket
   */
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
  const docker = engine(step.dockerHost);
  try {
    await ensureImage(docker, step.image);
  } catch (error) {
    throw new UserError(
      `${step.what}: cannot pull ${step.image} to run ${JSON.stringify(step.argv)} in: ` +
        `${(error as Error).message}. Is the image pushed, and the registry reachable? ` +
        `Nothing was run.`,
      { cause: error },
    );
  }
  const container = await docker.createContainer({
    Image: step.image,
    Cmd: [...step.argv],
    Env: Object.entries(step.env).map(([k, v]) => `${k}=${v}`),
    Labels: { [LABELS.role]: "migration" },
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
