// A trial start of one app version on a scratch copy of the database (adapters/rehearsal.ts
// withScratchCopy): its own container on the host network, on a free port, never restarted,
// probed on its readiness path until it answers 2xx or its time is up, then removed. It shows
// whether an older version runs on the newer schema before a rollback relies on it (issue 11).
import { randomBytes } from "node:crypto";
import { UserError } from "../domain/errors";
import { LABELS, containerName } from "../domain/dockerLabels";
import { engine, ensureImage, stopAndRemove, waitHttpReady } from "./docker";
import { freePort } from "./ports";

/** The `rewind.role` of a trial's container; no deployment selects it. */
export const TRIAL_ROLE = "trial";

/** What to start, and on which database. */
export interface AppStartSpec {
  /** The app's name (`rewind:app.name`): labels and names the container. */
  readonly service: string;
  /** The version, for the container's name and label. */
  readonly version: string;
  /** Digest-pinned image reference. */
  readonly image: string;
  /** The app's environment (`rewind:app.env`); DATABASE_URL and PORT are set here. */
  readonly env: Readonly<Record<string, string>>;
  /** The scratch copy the app is pointed at; never the real database. */
  readonly databaseUrl: string;
  /** Probed in turn, as a release's deployment probes them: the startup path, then readiness. */
  readonly paths: readonly string[];
  /** How long it may take to become ready (`health.timeoutSeconds`). */
  readonly timeoutSeconds: number;
  /** @default DOCKER_HOST */
  readonly dockerHost?: string;
}

/** How the trial went: ready or not, how long it took, and why not. */
export interface AppStartOutcome {
  readonly ready: boolean;
  readonly seconds: number;
  /** The last answer to its probe, or how its container ended; "" when ready. */
  readonly problem: string;
}

/**
 * Starts `spec.image` on the copy, waits for it to become ready within `spec.timeoutSeconds`,
 * and removes the container whatever happened. The app's mounts are left out: a trial must not
 * write the files the running version uses.
 * @throws UserError when the image cannot be pulled or the container cannot start: then the
 * app was not tried, which is not the same as an app that is not ready.
 */
export async function startAppOnCopy(spec: AppStartSpec): Promise<AppStartOutcome> {
  const docker = engine(spec.dockerHost);
  const what = `the trial of ${spec.service} ${spec.version} on a copy of the database`;
  try {
    await ensureImage(docker, spec.image);
  } catch (error) {
    throw new UserError(`${what}: cannot pull ${spec.image}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const port = await freePort();
  const container = await docker.createContainer({
    name: containerName("trial", spec.service, spec.version, randomBytes(3).toString("hex")),
    Image: spec.image,
    Labels: {
      [LABELS.service]: spec.service,
      [LABELS.role]: TRIAL_ROLE,
      [LABELS.version]: spec.version,
      [LABELS.port]: String(port),
    },
    Env: Object.entries({ ...spec.env, DATABASE_URL: spec.databaseUrl, PORT: String(port) }).map(
      ([k, v]) => `${k}=${v}`,
    ),
    HostConfig: { NetworkMode: "host", RestartPolicy: { Name: "no" } },
  });
  const started = Date.now();
  try {
    await container.start();
    const problem = await waitHttpReady(
      docker,
      container.id,
      `http://127.0.0.1:${port}`,
      spec.paths,
      spec.timeoutSeconds * 1000,
    );
    return {
      ready: problem === undefined,
      seconds: (Date.now() - started) / 1000,
      problem: problem ?? "",
    };
  } finally {
    await stopAndRemove(docker, container.id, 1).catch(() => undefined);
  }
}
