import * as pulumi from "@pulumi/pulumi";
import { resourceOptions, token } from "./resourceOptions";
import type { DockerHealth, ReplicaState } from "../provider/dockerDeployment";

/** Arguments of a DockerDeployment: one service's replicas and its proxy on a Docker Engine. */
export interface DockerDeploymentArgs {
  /** Names the containers; with `stackId` it selects them (labels `rewind.service`, `rewind.stack`). */
  service: pulumi.Input<string>;
  /** `<project>/<stack>`, so two stacks on one engine never touch each other's containers. */
  stackId: pulumi.Input<string>;
  /** The digest-pinned image the replicas run, `repo@sha256:…` (an ImageRef's `ref`). */
  ref: pulumi.Input<string>;
  /** The version `ref` was resolved from; shown in labels, container names and errors. */
  version: pulumi.Input<string>;
  /** Number of replicas; each listens on its own free loopback port (env `PORT`). */
  replicas: pulumi.Input<number>;
  /**
   * The public port, owned by HAProxy, which forwards to the ready replicas.
   * @default none: a worker without HTTP, with no proxy; `health` must then say `upSeconds` or
   * `command`
   */
  port?: pulumi.Input<number>;
  /** Environment of every replica; stored as a secret. `PORT` is Rewind's. */
  env: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The container command as an argument array; the image's own when empty. */
  command: pulumi.Input<pulumi.Input<string>[]>;
  /** Startup and readiness paths probed before traffic switches, and how long that may take. */
  health: pulumi.Input<DockerHealth>;
  /**
   * The digest-pinned HAProxy image (rewind-haproxy), `repo@sha256:…`; exactly when `port` is set.
   * @default none (no port, no proxy)
   */
  proxyRef?: pulumi.Input<string>;
  /**
   * After the switch, how long old replicas may finish what is in flight before SIGTERM;
   * without a port, how long they have between SIGTERM and SIGKILL.
   * @default 30
   */
  drainSeconds?: pulumi.Input<number>;
  /**
   * The app registry's user, for the engine's pulls.
   * @default "" (anonymous)
   */
  registryUsername?: pulumi.Input<string>;
  /**
   * The app registry's password; stored as a secret.
   * @default "" (anonymous)
   */
  registryPassword?: pulumi.Input<string>;
  /** `host:container[:ro]` binds of every replica (`rewind:app.mounts`). @default none */
  mounts?: pulumi.Input<pulumi.Input<string>[]>;
}

/**
 * N replicas of a digest-pinned image on the Docker Engine behind HAProxy
 * (`rewind:index:DockerDeployment`). A change of version, env, command or
 * replica count is health-gated: new replicas start, must answer the readiness path, HAProxy
 * switches to them, the old ones are drained, and only then stopped. A worker without a port has
 * no HAProxy: its new replicas must be ready by `health.upSeconds` or `health.command`, then the
 * old ones get `drainSeconds` to stop. `read` reports what really runs.
 */
export class DockerDeployment extends pulumi.CustomResource {
  static readonly __pulumiType = token("DockerDeployment");

  static isInstance(obj: unknown): obj is DockerDeployment {
    return (
      pulumi.CustomResource.isInstance(obj) &&
      (obj as { __pulumiType?: string }).__pulumiType === DockerDeployment.__pulumiType
    );
  }

  declare public readonly service: pulumi.Output<string>;
  declare public readonly stackId: pulumi.Output<string>;
  declare public readonly ref: pulumi.Output<string>;
  declare public readonly version: pulumi.Output<string>;
  /** Ready replicas of the current spec (after a refresh: those found running). */
  declare public readonly replicas: pulumi.Output<number>;
  declare public readonly port: pulumi.Output<number | undefined>;
  declare public readonly env: pulumi.Output<Record<string, string>>;
  declare public readonly command: pulumi.Output<string[]>;
  declare public readonly health: pulumi.Output<DockerHealth>;
  declare public readonly proxyRef: pulumi.Output<string | undefined>;
  declare public readonly drainSeconds: pulumi.Output<number>;
  /** `http://127.0.0.1:<port>`: the proxy; "" without a port. */
  declare public readonly url: pulumi.Output<string>;
  /** The proxy container's id ("" when a refresh found none, or without a port). */
  declare public readonly proxyId: pulumi.Output<string>;
  /** Host directory of the proxy's state (config, admin socket). */
  declare public readonly proxyDir: pulumi.Output<string>;
  /** Every app container of the service, as found. */
  declare public readonly containers: pulumi.Output<ReplicaState[]>;

  constructor(name: string, args: DockerDeploymentArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      DockerDeployment.__pulumiType,
      name,
      {
        ...args,
        env: pulumi.secret(args.env),
        drainSeconds: args.drainSeconds ?? 30,
        registryUsername: args.registryUsername ?? "",
        registryPassword: pulumi.secret(args.registryPassword ?? ""),
        url: undefined,
        proxyId: undefined,
        proxyDir: undefined,
        containers: undefined,
      },
      // The env holds credentials (DATABASE_URL): secret in state even if given in plain text.
      resourceOptions("DockerDeployment", opts, { secretOutputs: ["env", "registryPassword"] }),
    );
  }
}
