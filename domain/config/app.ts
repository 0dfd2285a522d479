// `rewind:app`: the versioned app, its health endpoints and further processes.
import { z } from "zod";
import { afterFields, argv, integer, matching, nonEmpty, strictObject, urlPath } from "./fields";

const PORT_ALLOWED = "an integer from 1024 to 65535";
const REPLICAS_ALLOWED = "an integer of at least 1";
const NAME_ALLOWED =
  "a DNS label: lowercase letters, digits and -, starting with a letter, not ending with -, " +
  "at most 63 characters";
const NAME = /^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_PORT = 65535;
const READINESS_ALLOWED = `{ upSeconds: N } or { command: ["an", "argument", "array"] }`;
/** What a service without a port must declare instead, in every error about it. */
export const PORTLESS_READINESS_ALLOWED =
  `${READINESS_ALLOWED}, required for a service without a port (a worker without HTTP); ` +
  "or give the service a port (an integer from 1024 to 65535) to probe rewind:app.health over HTTP";

/** A service's name (`rewind:app.name`, a service's `name`): a DNS label. */
export const serviceNameSchema = matching(NAME, NAME_ALLOWED);
/** A public port (`rewind:app.port`, a service's `port`). */
export const portSchema = integer(PORT_ALLOWED, 1024, MAX_PORT);
/** How many replicas of a service run. */
export const replicasSchema = integer(REPLICAS_ALLOWED, 1);

/** `rewind:app.health.timeoutSeconds` when unset: what every reader of an unset one assumes. */
export const HEALTH_TIMEOUT_SECONDS_DEFAULT = 60;

/** Health endpoints of the app, probed by the HealthGate and by the Kubernetes probes. */
export const healthSchema = strictObject({
  /**
   * Liveness path.
   * @default "/healthz/live"
   */
  live: urlPath().default("/healthz/live"),
  /**
   * Readiness path; traffic switches to a new version only once it answers 2xx.
   * @default "/healthz/ready"
   */
  ready: urlPath().default("/healthz/ready"),
  /** Startup path, probed once before the others when set. */
  startup: urlPath().optional(),
  /**
   * How long a new version may take to become ready before the release fails.
   * @default 60
   */
  timeoutSeconds: integer("an integer number of seconds, at least 1", 1).default(
    HEALTH_TIMEOUT_SECONDS_DEFAULT,
  ),
});

/**
 * Why a service without a port cannot be health-gated by its HTTP paths: the refusal of the
 * AppService component and of the DockerDeployment provider alike.
 */
export const PORTLESS_HEALTH_REFUSAL =
  "health has neither upSeconds nor command while port is unset; allowed: " +
  "health.upSeconds or health.command for a worker without HTTP, or a port";

/** The config keys of the registry's credentials, named in every error about them. */
export const REGISTRY_USERNAME_KEY = "rewind:app.registry.username";
export const REGISTRY_PASSWORD_KEY = "rewind:app.registry.password";
/** How to set the password, in every error about it. */
export const SET_REGISTRY_PASSWORD = `pulumi config set --secret --path ${REGISTRY_PASSWORD_KEY} <password>`;

/**
 * Credentials for the app image's registry: the digest lookup (basic auth or the registry's
 * token flow) and the engine's pulls. The password must be a Pulumi secret.
 */
export const registrySchema = strictObject({
  username: nonEmpty("the registry user"),
  password: z
    .string({ error: `a non-empty string, set as a secret: ${SET_REGISTRY_PASSWORD}` })
    .min(1, { error: `a non-empty string, set as a secret: ${SET_REGISTRY_PASSWORD}` }),
});

/** How long old replicas may finish what is in flight after the switch, at most. */
export const drainSecondsSchema = integer("an integer number of seconds from 0 to 3600", 0, 3600);
const TARGET_ALLOWED = "an absolute path inside the container";
const VOLUME_ALLOWED =
  "a volume name: letters, digits, _, . and -, starting with a letter or digit";

/**
 * A directory the app's containers mount: a named volume (`<backup.volumesRoot>/<name>` on the
 * host) or a host path. Snapshots hold exactly these (beside `rewind:backup.include`).
 */
export const mountSchema = z.union(
  [
    strictObject({
      volume: matching(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, VOLUME_ALLOWED),
      target: matching(/^\/\S*$/, TARGET_ALLOWED),
      /** @default false */
      readOnly: z.boolean({ error: "true or false" }).optional(),
    }),
    strictObject({
      source: matching(/^\/\S*$/, "an absolute path on the host"),
      target: matching(/^\/\S*$/, TARGET_ALLOWED),
      readOnly: z.boolean({ error: "true or false" }).optional(),
    }),
  ],
  { error: "{ volume, target } or { source, target }, with readOnly optional" },
);

/** A further process run from the app's image, e.g. a worker beside the API. */
export const serviceSchema = strictObject({
  name: serviceNameSchema,
  /** The container command; the image's own when absent. */
  command: argv().optional(),
  /**
   * Number of containers; each listens on its own free loopback port (host network), chosen
   * by Rewind and passed as `PORT`.
   * @default 1
   */
  replicas: replicasSchema.default(1),
  /**
   * The service's public port, owned by its HAProxy, which forwards to ready replicas.
   * @default none: a worker without HTTP (Celery-like) gets no front door; it must declare
   * `readiness`
   */
  port: portSchema.optional(),
  /**
   * How a worker without HTTP shows it is ready: its process stays up `upSeconds`, or
   * `command` run inside it exits 0. Required when the service has no port.
   * @default the app's HTTP readiness path (rewind:app.health)
   */
  readiness: z
    .union(
      [
        strictObject({ upSeconds: integer("an integer number of seconds, at least 1", 1) }),
        strictObject({ command: argv() }),
      ],
      { error: READINESS_ALLOWED },
    )
    .optional(),
});

/** `rewind:app`: the versioned app. */
export const appSchema = strictObject({
  /** Names the containers / Deployment; a DNS label. */
  name: serviceNameSchema,
  /** The image repository without tag or digest, e.g. `127.0.0.1:5000/hunter`. */
  image: matching(
    // Docker's reference grammar, minus the tag and digest: the version is pinned separately.
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/,
    `an image repository without tag or digest, e.g. "127.0.0.1:5000/hunter"`,
  ),
  /** The pinned version: an immutable tag or a `sha256:` digest. Rollback = set it back. */
  version: matching(
    /^(sha256:[a-f0-9]{64}|[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$/,
    `an immutable image tag (not "latest") or a sha256 digest`,
  ).refine((v) => v.toLowerCase() !== "latest", {
    // "latest" moves under a pin, so pinning it would make rollback meaningless.
    error: `an immutable image tag (not "latest") or a sha256 digest`,
  }),
  /**
   * Number of app containers; each listens on its own free loopback port (host network),
   * chosen by Rewind and passed as `PORT`. A release starts the new replicas beside the old.
   * @default 1
   */
  replicas: replicasSchema.default(1),
  /**
   * The public port. On the Docker target Rewind's router owns it and forwards to the ready
   * replicas, so it never changes hands during a release.
   */
  port: portSchema,
  /**
   * Pulumi's `protect` on the app's deployment: a `pulumi destroy` (or a program change that
   * would delete it) fails instead of stopping production. Releases and rollbacks still update it.
   * @default false
   */
  protect: z.boolean({ error: "true or false" }).default(false),
  /**
   * Health endpoints.
   * @default { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 }
   */
  health: healthSchema.prefault({}),
  /**
   * Environment of every container. Values are masked in config errors: they may be secrets.
   * @default {}
   */
  env: z
    .record(
      matching(
        /^[A-Za-z_][A-Za-z0-9_]*$/,
        "an environment variable name: letters, digits and _, not starting with a digit",
      ),
      z.string({ error: "a string (quote numbers and booleans)" }),
      { error: "a map of environment variable names to strings" },
    )
    .default({}),
  /**
   * After the proxy switched to the new replicas, how long the old ones may take to finish the
   * requests (and WebSockets) in flight before they are stopped; they stop earlier once nothing
   * is in flight.
   * @default 30
   */
  drainSeconds: drainSecondsSchema.default(30),
  /**
   * The image registry's user and password (a Pulumi secret), for a registry that wants them.
   * @default anonymous
   */
  registry: registrySchema.optional(),
  /** Further processes from the same image (a worker beside the API), each with its own ports. */
  services: z.array(serviceSchema, { error: "a list of services" }).optional(),
  /**
   * Volumes and bind mounts of every process of the app; backed up and restored with the
   * database (the restore stops the app first).
   * @default none
   */
  mounts: z.array(mountSchema, { error: "a list of mounts" }).optional(),
}).superRefine((app, ctx) => {
  // Each process's router owns its public port on the host network; replicas take free ports
  // chosen at deploy time. Two processes on one public port would fail to bind at deploy time.
  const owners = new Map<number, string>();
  const names = new Map<string, string>([[app.name, "rewind:app"]]);
  const place = (label: string, path: (string | number)[], port: number): void => {
    const owner = owners.get(port);
    if (owner !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [...path, "port"],
        message: `a port not already the public port of ${owner}`,
      });
    }
    owners.set(port, label);
  };
  place("rewind:app", [], app.port);
  (app.services ?? []).forEach((service, i) => {
    const label = `rewind:app.services[${i}]`;
    const taken = names.get(service.name);
    if (taken !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["services", i, "name"],
        message: `a name not already used by ${taken}`,
      });
    }
    names.set(service.name, label);
    if (service.port !== undefined) {
      place(label, ["services", i], service.port);
    } else if (service.readiness === undefined) {
      // Without a port there is no HTTP to probe: the app's readiness path would never answer.
      ctx.addIssue({
        code: "custom",
        path: ["services", i, "readiness"],
        message: PORTLESS_READINESS_ALLOWED,
      });
    }
  });
}, afterFields);

export type HealthConfig = z.infer<typeof healthSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
export type AppConfig = z.infer<typeof appSchema>;
export type RegistryConfig = z.infer<typeof registrySchema>;
