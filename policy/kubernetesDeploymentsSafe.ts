// On Kubernetes the rollout itself is the health gate: a pod without a readiness probe counts as
// ready the moment it starts, so a broken version would take traffic and the rollout (and the
// update) would succeed. And a rollback by pin only brings back the same bytes if the pod's
// image is a digest, not a tag that can move.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { Props, UNKNOWN, readProps, show } from "./resources";

/** The type token of @pulumi/kubernetes' Deployment. */
export const KUBERNETES_DEPLOYMENT = "kubernetes:apps/v1:Deployment";

const DIGEST = /@sha256:[a-f0-9]{64}$/;

function entries(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null)
    : [];
}

// An unknown object makes everything inside it unknown.
function field(value: unknown, key: string): unknown {
  if (value === UNKNOWN) return UNKNOWN;
  return typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/**
 * Checks a Deployment's `spec`: every container has a readiness probe and runs its image by
 * digest. Values unknown during preview (the digest before the ImageRef resolves it) are not
 * judged; the same check runs again with them during `pulumi up`.
 */
export function checkKubernetesDeployment(deployment: Props): string[] {
  const containers = field(field(field(deployment.spec, "template"), "spec"), "containers");
  if (containers === UNKNOWN) return [];
  const problems: string[] = [];
  for (const container of entries(containers)) {
    const name = show(container.name);
    const probe = container.readinessProbe;
    if (probe !== UNKNOWN && (typeof probe !== "object" || probe === null)) {
      problems.push(
        `Container ${name} has no readinessProbe; a pod would take traffic before it is ready ` +
          `and a broken version would roll out. Give it rewind:app.health.ready.`,
      );
    }
    const image = container.image;
    if (image !== UNKNOWN && (typeof image !== "string" || !DIGEST.test(image))) {
      problems.push(
        `Container ${name} runs ${show(image)}, not an image by digest; a rollback by pin could ` +
          `bring back other bytes. Run the ImageRef's ref (image@sha256:…).`,
      );
    }
  }
  return problems;
}

/** `kubernetes-deployments-safe`. Resource checks: they run before anything is applied. */
export const kubernetesDeploymentsSafe: ResourceValidationPolicy = {
  name: "kubernetes-deployments-safe",
  description:
    "Every Kubernetes Deployment must give each container a readiness probe and run its image " +
    "by digest, so a rollout waits for ready pods and a rollback brings back the same bytes.",
  enforcementLevel: "mandatory",
  severity: "high",
  validateResource: (args, reportViolation) => {
    if (args.type !== KUBERNETES_DEPLOYMENT) {
      return;
    }
    for (const message of checkKubernetesDeployment(readProps(args.props, ["spec"]))) {
      reportViolation(message);
    }
  },
};
