import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ArgumentChecks, isPlain } from "../domain/argumentChecks";
import { portSchema, replicasSchema, serviceNameSchema } from "../domain/config";
import { repositoryProblem, versionProblem } from "../domain/imageRepository";
import {
  Workload,
  deploymentManifest,
  envSecretName,
  serviceManifest,
} from "../domain/kubernetesManifest";
import { AppHealthArgs, withHealthDefaults } from "./appService";
import { ImageRef } from "./imageRef";

/** Arguments of a KubernetesService: one service of the app, on the Kubernetes target. */
export interface KubernetesServiceArgs {
  /** The service name (a DNS label); names its Deployment, Service and env Secret. */
  service: string;
  /** The image repository without tag or digest, e.g. `127.0.0.1:5000/hunter`. */
  image: pulumi.Input<string>;
  /** The pinned version: an immutable tag or a `sha256:` digest. Rollback = set it back. */
  version: pulumi.Input<string>;
  /** The namespace; it must exist. */
  namespace: pulumi.Input<string>;
  /**
   * Number of pods.
   * @default 1
   */
  replicas?: pulumi.Input<number>;
  /** The port the pods listen on (passed as `PORT`) and the Service's port. */
  port: pulumi.Input<number>;
  /**
   * Environment of every pod, held in a Secret (it usually holds credentials).
   * @default {}
   */
  env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * The container's arguments as an array (Docker's CMD), e.g. a worker's `["node", "worker.js"]`.
   * @default the image's own command
   */
  command?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Health endpoints: the startup, readiness and liveness probes, and the rollout's timeout.
   * @default { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 }
   */
  health?: pulumi.Input<AppHealthArgs>;
  /**
   * `<project>/<stack>`, recorded in an annotation.
   * @default `${pulumi.getProject()}/${pulumi.getStack()}`
   */
  stackId?: pulumi.Input<string>;
  /**
   * Pulumi's `protect` on the Deployment: destroying it fails instead of stopping the service.
   * @default false
   */
  protect?: boolean;
}

function validate(name: string, args: KubernetesServiceArgs): void {
  const checks = new ArgumentChecks("KubernetesService", name);
  checks.schema("service", args.service, serviceNameSchema);
  if (isPlain(args.image)) checks.add(repositoryProblem(args.image));
  if (isPlain(args.version)) checks.add(versionProblem(args.version));
  checks.schema("replicas", args.replicas, replicasSchema);
  checks.schema("port", args.port, portSchema);
  checks.throwIfAny();
}

/**
 * One service of the app on the Kubernetes target (`rewind:app:KubernetesService`): the pinned
 * version resolved to a digest (ImageRef `<name>-image`), its environment (Secret `<name>-env`),
 * a Deployment (`<name>-deployment`) that rolls out with no unavailable replica and is awaited by
 * @pulumi/kubernetes until the new pods are ready, and a Service (`<name>-service`).
 * The Kubernetes provider comes from the options (`providers`), as the Release passes it.
 */
export class KubernetesService extends pulumi.ComponentResource {
  /** `sha256:…` of the image the pods run. */
  public readonly digest: pulumi.Output<string>;
  /** `image@digest`. */
  public readonly ref: pulumi.Output<string>;
  /** The Service's address, `http://<cluster IP>:<port>`. */
  public readonly url: pulumi.Output<string>;
  /** The version the Deployment is pinned to. */
  public readonly version: pulumi.Output<string>;

  constructor(name: string, args: KubernetesServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rewind:app:KubernetesService", name, {}, opts);
    validate(name, args);

    const image = new ImageRef(
      `${name}-image`,
      { image: args.image, version: args.version },
      { parent: this },
    );
    const env = new k8s.core.v1.Secret(
      `${name}-env`,
      {
        metadata: { name: envSecretName(args.service), namespace: args.namespace },
        // stringData is stored as a secret in the state, whatever the caller passed.
        stringData: pulumi.secret(pulumi.output(args.env ?? {})),
      },
      { parent: this },
    );
    const workload = pulumi
      .output({
        namespace: args.namespace,
        stackId: args.stackId ?? `${pulumi.getProject()}/${pulumi.getStack()}`,
        ref: image.ref,
        version: image.version,
        replicas: args.replicas ?? 1,
        port: args.port,
        command: args.command,
        health: args.health ?? {},
        envVersion: env.metadata.resourceVersion,
      })
      .apply(({ command, health, ...w }): Workload => ({
        ...w,
        service: args.service,
        ...(command === undefined ? {} : { command }),
        health: withHealthDefaults(health),
        envSecret: envSecretName(args.service),
      }));
    const deploymentSpec = workload.apply(deploymentManifest);
    const deployment = new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      { metadata: deploymentSpec.metadata, spec: deploymentSpec.spec },
      { parent: this, protect: args.protect ?? false, dependsOn: [env] },
    );
    const serviceSpec = workload.apply(serviceManifest);
    const service = new k8s.core.v1.Service(
      `${name}-service`,
      { metadata: serviceSpec.metadata, spec: serviceSpec.spec },
      { parent: this },
    );

    // From the Deployment as applied, not the ImageRef: they say what the cluster was told to run.
    this.ref = deployment.spec.template.spec.containers[0].image;
    this.digest = this.ref.apply((ref) => ref.slice(ref.lastIndexOf("@") + 1));
    this.version = image.version;
    this.url = pulumi.interpolate`http://${service.spec.clusterIP}:${args.port}`;
    this.registerOutputs({
      digest: this.digest,
      ref: this.ref,
      url: this.url,
      version: this.version,
    });
  }
}
