// What the Kubernetes target declares for one service, as plain objects: a Deployment whose
// rollout never lowers the ready replicas (start new, wait for readiness, only then stop old),
// and a Service in front of it. No I/O; components/kubernetesService.ts hands these to
// @pulumi/kubernetes, whose await logic waits for the rollout.
import { HealthConfig } from "./config";

/** Labels and annotations Rewind puts on what it declares; public contract, like type tokens. */
export const KUBERNETES_LABELS = {
  /** Selects a service's pods; the Deployment's selector (immutable, so never renamed). */
  name: "app.kubernetes.io/name",
  managedBy: "app.kubernetes.io/managed-by",
} as const;
export const KUBERNETES_ANNOTATIONS = {
  /** The pinned version the pods run (a digest is no valid label value, so an annotation). */
  version: "rewind.dev/version",
  /** `<project>/<stack>` that declared it. */
  stack: "rewind.dev/stack",
  /** Changes with the env Secret, so a changed env rolls the pods (envFrom is read at start). */
  envVersion: "rewind.dev/env-version",
  /** How long @pulumi/kubernetes waits for the rollout before the update fails. */
  timeout: "pulumi.com/timeoutSeconds",
  /**
   * The stack is the source of truth: a field someone changed by hand (`kubectl set image`,
   * `kubectl scale`) is taken back by the next `up` instead of failing it with an apply conflict.
   */
  force: "pulumi.com/patchForce",
} as const;

/**
 * Seconds an old pod keeps serving after it is taken out of the Service, so kube-proxy has
 * removed it from every node's rules before it stops (no request lands on a closed port).
 */
export const DRAIN_SECONDS = 3;

/** One service of the app on the Kubernetes target. */
export interface Workload {
  /** The service's name (a DNS label): names the Deployment, the Service and the container. */
  readonly service: string;
  readonly namespace: string;
  /** `<project>/<stack>`. */
  readonly stackId: string;
  /** The image by digest, `repo@sha256:…`. */
  readonly ref: string;
  /** The version `ref` was resolved from. */
  readonly version: string;
  readonly replicas: number;
  /** The port the container listens on (passed as `PORT`) and the Service's port. */
  readonly port: number;
  /** The container's arguments (Docker's CMD); the image's own when absent. */
  readonly command?: readonly string[];
  readonly health: HealthConfig;
  /** The Secret holding the environment (DATABASE_URL and rewind:app.env). */
  readonly envSecret: string;
  /** The env Secret's resourceVersion: a change restarts the pods with the new env. */
  readonly envVersion: string;
}

/** The labels selecting a service's pods. */
export function selectorLabels(service: string): Record<string, string> {
  return { [KUBERNETES_LABELS.name]: service };
}

function httpProbe(path: string, port: number, periodSeconds: number, failureThreshold: number) {
  return { httpGet: { path, port }, periodSeconds, timeoutSeconds: 1, failureThreshold };
}

/** The Deployment's metadata and spec. */
export function deploymentManifest(w: Workload) {
  const labels = { ...selectorLabels(w.service), [KUBERNETES_LABELS.managedBy]: "rewind" };
  const { live, ready, startup, timeoutSeconds } = w.health;
  return {
    metadata: {
      name: w.service,
      namespace: w.namespace,
      labels,
      annotations: {
        [KUBERNETES_ANNOTATIONS.version]: w.version,
        [KUBERNETES_ANNOTATIONS.stack]: w.stackId,
        [KUBERNETES_ANNOTATIONS.timeout]: String(timeoutSeconds),
        [KUBERNETES_ANNOTATIONS.force]: "true",
      },
    },
    spec: {
      replicas: w.replicas,
      selector: { matchLabels: selectorLabels(w.service) },
      // The rollout fails (and the update with it) when new pods are not ready in time; the old
      // ones keep serving meanwhile, since none is taken down before a new one is ready.
      progressDeadlineSeconds: timeoutSeconds,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: {
            [KUBERNETES_ANNOTATIONS.version]: w.version,
            [KUBERNETES_ANNOTATIONS.envVersion]: w.envVersion,
          },
        },
        spec: {
          terminationGracePeriodSeconds: DRAIN_SECONDS + 10,
          containers: [
            {
              name: w.service,
              image: w.ref,
              imagePullPolicy: "IfNotPresent",
              ...(w.command === undefined ? {} : { args: [...w.command] }),
              ports: [{ name: "http", containerPort: w.port }],
              env: [{ name: "PORT", value: String(w.port) }],
              envFrom: [{ secretRef: { name: w.envSecret } }],
              // Startup gates the others, so a slow start is not killed by liveness; it may take
              // the whole readiness timeout.
              startupProbe: httpProbe(startup ?? live, w.port, 1, timeoutSeconds),
              readinessProbe: httpProbe(ready, w.port, 1, 2),
              livenessProbe: httpProbe(live, w.port, 5, 3),
              lifecycle: { preStop: { sleep: { seconds: DRAIN_SECONDS } } },
            },
          ],
        },
      },
    },
  };
}

/** The Service in front of the Deployment's ready pods, on the same port. */
export function serviceManifest(w: Pick<Workload, "service" | "namespace" | "stackId" | "port">) {
  return {
    metadata: {
      name: w.service,
      namespace: w.namespace,
      labels: { ...selectorLabels(w.service), [KUBERNETES_LABELS.managedBy]: "rewind" },
      annotations: {
        [KUBERNETES_ANNOTATIONS.stack]: w.stackId,
        [KUBERNETES_ANNOTATIONS.force]: "true",
      },
    },
    spec: {
      type: "ClusterIP",
      selector: selectorLabels(w.service),
      ports: [{ name: "http", port: w.port, targetPort: w.port, protocol: "TCP" }],
    },
  };
}

/** The name of a service's env Secret. */
export function envSecretName(service: string): string {
  return `${service}-env`;
}

/** A migration run once in the app's image, as a Job (Alembic on the Kubernetes target). */
export interface MigrationRun {
  readonly namespace: string;
  readonly stackId: string;
  /** The image by digest (for a downgrade, the running version's: it knows the revisions). */
  readonly ref: string;
  /** The argument array, e.g. `["alembic", "upgrade", "27c6a30d7c24"]`. */
  readonly argv: readonly string[];
  /** Where it runs in the image; the image's working directory when "". */
  readonly workingDir: string;
  /** The Secret holding DATABASE_URL and rewind:app.env. */
  readonly envSecret: string;
  /** How long the Job may take before the update fails. */
  readonly timeoutSeconds: number;
}

/**
 * The Job's metadata and spec. Its name is left to Pulumi (auto-named), so a new pin replaces it
 * create-before-delete; one try only (a migration is not retried blindly), and a failed Job is
 * replaced by the next `up` instead of being kept as done.
 */
export function migrationJobManifest(run: MigrationRun) {
  return {
    metadata: {
      namespace: run.namespace,
      labels: { [KUBERNETES_LABELS.managedBy]: "rewind" },
      annotations: {
        [KUBERNETES_ANNOTATIONS.stack]: run.stackId,
        [KUBERNETES_ANNOTATIONS.timeout]: String(run.timeoutSeconds),
        "pulumi.com/replaceUnready": "true",
      },
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels: { [KUBERNETES_LABELS.managedBy]: "rewind" } },
        spec: {
          restartPolicy: "Never",
          containers: [
            {
              name: "migration",
              image: run.ref,
              imagePullPolicy: "IfNotPresent",
              command: [...run.argv],
              ...(run.workingDir === "" ? {} : { workingDir: run.workingDir }),
              envFrom: [{ secretRef: { name: run.envSecret } }],
            },
          ],
        },
      },
    },
  };
}
