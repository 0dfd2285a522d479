import * as pulumi from "@pulumi/pulumi";
import { ArgumentChecks, isPlain } from "../domain/argumentChecks";
import { portSchema, replicasSchema, serviceNameSchema } from "../domain/config";
import { DockerDeployment } from "./dockerDeployment";
import { ImageRef } from "./imageRef";
import { parseRepository, repositoryProblem, versionProblem } from "../domain/imageRepository";
import { HAPROXY_IMAGE_VERSION } from "../adapters/haproxy";
import {
  HEALTH_TIMEOUT_SECONDS_DEFAULT,
  PORTLESS_HEALTH_REFUSAL,
  drainSecondsSchema,
} from "../domain/config";

/** Health endpoints of the app. */
export interface AppHealthArgs {
  /**
   * Liveness path.
   * @default "/healthz/live"
   */
  live?: string;
  /**
   * Readiness path: traffic switches to a new version only once every new replica answers 2xx.
   * @default "/healthz/ready"
   */
  ready?: string;
  /**
   * Startup path, probed before the readiness path when set.
   * @default none
   */
  startup?: string;
  /**
   * How long new replicas may take to become ready before the release fails and they are
   * removed (the old version keeps serving).
   * @default 60
   */
  timeoutSeconds?: number;
  /** A worker without HTTP: ready once its process stays up this long. @default HTTP */
  upSeconds?: number;
  /** A worker without HTTP: ready once this command, run inside it, exits 0. @default HTTP */
  command?: string[];
}

/** Arguments of an AppService: one service of the app, on the Docker target. */
export interface AppServiceArgs {
  /** The service name (a DNS label); names its containers, e.g. `api` or `worker`. */
  service: pulumi.Input<string>;
  /** The image repository without tag or digest, e.g. `127.0.0.1:5000/hunter`. */
  image: pulumi.Input<string>;
  /** The pinned version: an immutable tag or a `sha256:` digest. Rollback = set it back. */
  version: pulumi.Input<string>;
  /**
   * Number of replicas; each listens on its own free loopback port, passed as `PORT`.
   * @default 1
   */
  replicas?: pulumi.Input<number>;
  /**
   * The public port; the service's HAProxy owns it and forwards to the ready replicas.
   * @default none: a worker without HTTP (Celery-like), with no HAProxy and no proxy image;
   * `health` must then give `upSeconds` or `command`, and `url` is ""
   */
  port?: pulumi.Input<number>;
  /**
   * Environment of every replica. Stored as a secret: it usually holds credentials.
   * @default {}
   */
  env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * The container command as an argument array (never a shell string), e.g. a worker's
   * `["node", "worker.js"]` beside an API from the same image.
   * @default the image's own command
   */
  command?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Health endpoints and the readiness timeout.
   * @default { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 }
   */
  health?: pulumi.Input<AppHealthArgs>;
  /**
   * `<project>/<stack>`: scopes every container query, so stacks sharing an engine never touch
   * each other's containers.
   * @default `${pulumi.getProject()}/${pulumi.getStack()}`
   */
  stackId?: pulumi.Input<string>;
  /**
   * Pulumi's `protect` on the deployment: destroying it fails instead of stopping the service.
   * @default false
   */
  protect?: boolean;
  /**
   * `host:container[:ro]` bind mounts of every replica (`rewind:app.mounts`).
   * @default none
   */
  mounts?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Repository of the front-door proxy's image, HAProxy (tag `HAPROXY_IMAGE_VERSION`, built by
   * scripts/images). Only with a `port`.
   * @default `<the image's registry>/rewind-haproxy`
   */
  proxyImage?: pulumi.Input<string>;
  /**
   * How long old replicas may finish what is in flight after the switch before they are
   * stopped (earlier once nothing is); without a port, their time between SIGTERM and SIGKILL
   * (a Celery warm shutdown finishes its job in it).
   * @default 30
   */
  drainSeconds?: pulumi.Input<number>;
  /**
   * The user and password (a secret) of the image's registry, for the digest lookup and the
   * engine's pulls; sent to no other registry (a proxy image elsewhere is pulled anonymously).
   * @default anonymous
   */
  registry?: pulumi.Input<{ username: string; password: pulumi.Input<string> }>;
}

// Plain values are checked here, before anything is registered, so a typo fails the program
// with the argument's name; values only known later are checked by the providers.
function validate(name: string, args: AppServiceArgs): void {
  const checks = new ArgumentChecks("AppService", name);
  checks.schema("service", args.service, serviceNameSchema);
  if (isPlain(args.image)) checks.add(repositoryProblem(args.image));
  if (isPlain(args.version)) checks.add(versionProblem(args.version));
  checks.schema("replicas", args.replicas, replicasSchema);
  checks.schema("port", args.port, portSchema);
  checks.schema("drainSeconds", args.drainSeconds, drainSecondsSchema);
  if (args.port === undefined) {
    // No port, no HTTP to probe and no front door.
    if (
      isPlain(args.health) &&
      args.health.upSeconds === undefined &&
      args.health.command === undefined
    ) {
      checks.add(PORTLESS_HEALTH_REFUSAL);
    } else if (args.health === undefined) {
      checks.add(
        "health is missing while port is unset; allowed: { upSeconds: N } or " +
          "{ command: [...] } for a worker without HTTP, or a port",
      );
    }
    if (args.proxyImage !== undefined) {
      checks.invalid(
        "proxyImage",
        args.proxyImage,
        "no value while port is unset (a service without a port has no front door)",
      );
    }
  }
  checks.throwIfAny();
}

/**
 * One service of the app on the Docker target (`rewind:app:AppService`): the pinned version
 * resolved to a digest (ImageRef `<name>-image`), its replicas behind HAProxy
 * (DockerDeployment `<name>-deployment`), and the proxy's image (ImageRef `<name>-proxy-image`).
 * A service without a port (a worker without HTTP) has neither HAProxy nor the proxy's image.
 * Several services from one image (an API and a worker) are several AppServices.
 */
export class AppService extends pulumi.ComponentResource {
  /** `sha256:…` of the image the replicas run. */
  public readonly digest: pulumi.Output<string>;
  /** `image@digest`. */
  public readonly ref: pulumi.Output<string>;
  /** The proxy's address, `http://127.0.0.1:<port>`; "" for a service without a port. */
  public readonly url: pulumi.Output<string>;
  /** The version the replicas run (the pin, once a release of it succeeded). */
  public readonly version: pulumi.Output<string>;

  constructor(name: string, args: AppServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rewind:app:AppService", name, {}, opts);
    validate(name, args);

    const credentials = pulumi.output(args.registry);
    const username = credentials.apply((c) => c?.username ?? "");
    const password = pulumi.secret(credentials.apply((c) => c?.password ?? ""));
    const image = new ImageRef(
      `${name}-image`,
      {
        image: args.image,
        version: args.version,
        registryUsername: username,
        registryPassword: password,
      },
      { parent: this },
    );
    const proxyRef =
      args.port === undefined ? undefined : this.proxyImageRef(name, args, username, password);
    const deployment = new DockerDeployment(
      `${name}-deployment`,
      {
        service: args.service,
        stackId: args.stackId ?? `${pulumi.getProject()}/${pulumi.getStack()}`,
        ref: image.ref,
        version: image.version,
        replicas: args.replicas ?? 1,
        env: args.env ?? {},
        command: args.command ?? [],
        health: pulumi.output(args.health ?? {}).apply(withHealthDefaults),
        ...(args.port === undefined || proxyRef === undefined
          ? {}
          : { port: args.port, proxyRef: proxyRef.ref }),
        drainSeconds: args.drainSeconds ?? 30,
        registryUsername: username,
        registryPassword: password,
        ...(args.mounts === undefined ? {} : { mounts: args.mounts }),
      },
      { parent: this, protect: args.protect ?? false },
    );

    // From the deployment, not the ImageRef: after a refused release the ImageRef already holds
    // the new pin while the old version still runs, and these outputs say what runs.
    this.ref = deployment.ref;
    this.digest = deployment.ref.apply((ref) => ref.slice(ref.lastIndexOf("@") + 1));
    this.url = deployment.url;
    this.version = deployment.version;
    this.registerOutputs({
      digest: this.digest,
      ref: this.ref,
      url: this.url,
      version: this.version,
    });
  }

  /** The front door's image, resolved to a digest: ImageRef `<name>-proxy-image`. */
  private proxyImageRef(
    name: string,
    args: AppServiceArgs,
    username: pulumi.Output<string>,
    password: pulumi.Output<string>,
  ): ImageRef {
    const proxyImage = pulumi.output(
      args.proxyImage ?? pulumi.output(args.image).apply(defaultProxyImage),
    );
    // The app registry's credentials go to that registry only.
    const sameRegistry = pulumi
      .all([proxyImage, args.image])
      .apply(([p, a]) => parseRepository(p).registry === parseRepository(a).registry);
    return new ImageRef(
      `${name}-proxy-image`,
      {
        image: proxyImage,
        version: HAPROXY_IMAGE_VERSION,
        registryUsername: pulumi
          .all([sameRegistry, username])
          .apply(([same, u]) => (same ? u : "")),
        registryPassword: pulumi.secret(
          pulumi.all([sameRegistry, password]).apply(([same, p]) => (same ? p : "")),
        ),
      },
      { parent: this },
    );
  }
}

/** `<registry>/rewind-haproxy` for an image in `<registry>`. */
export function defaultProxyImage(image: string): string {
  return `${image.slice(0, image.indexOf("/"))}/rewind-haproxy`;
}

/** The health endpoints with `rewind:app.health`'s defaults filled in. */
export function withHealthDefaults(health: AppHealthArgs) {
  return {
    live: health.live ?? "/healthz/live",
    ready: health.ready ?? "/healthz/ready",
    ...(health.startup === undefined ? {} : { startup: health.startup }),
    timeoutSeconds: health.timeoutSeconds ?? HEALTH_TIMEOUT_SECONDS_DEFAULT,
    ...(health.upSeconds === undefined ? {} : { upSeconds: health.upSeconds }),
    ...(health.command === undefined ? {} : { command: health.command }),
  };
}
