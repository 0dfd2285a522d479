// `rewind:kubernetes`: the cluster the Kubernetes target deploys to, and what that target
// cannot do yet (refused here, naming the key, rather than half-done at `pulumi up`).
import { z } from "zod";
import { ConfigIssue } from "../errors";
import { BackupConfig } from "./backup";
import { AppConfig, serviceNameSchema } from "./app";
import { nonEmpty, strictObject } from "./fields";
import { Target } from "./target";

const KUBECONFIG_ALLOWED =
  "a kubeconfig's contents (YAML or JSON, with its credentials inline or as paths), set as a " +
  `secret: pulumi config set --secret --path rewind:kubernetes.kubeconfig "$(kubectl config ` +
  'view --raw --flatten)"';

/** `rewind:kubernetes`: where the Kubernetes target deploys. */
export const kubernetesSchema = strictObject({
  /** The kubeconfig's contents; its current context is used. A Pulumi secret, masked in errors. */
  kubeconfig: nonEmpty(KUBECONFIG_ALLOWED),
  /**
   * The namespace of the Deployments, Services and Jobs; it must exist (Rewind never deletes a
   * namespace it did not create, so it creates none).
   * @default "default"
   */
  namespace: serviceNameSchema.default("default"),
});

export type KubernetesConfig = z.infer<typeof kubernetesSchema>;

/**
 * What the chosen target needs of the other namespaces: `rewind:kubernetes` exactly when the
 * target is kubernetes, and on that target only what it can do.
 */
export function targetIssues(
  target: Target,
  kubernetes: unknown,
  backup: BackupConfig | undefined,
  app?: Pick<AppConfig, "registry" | "mounts" | "services">,
): ConfigIssue[] {
  if (target === "docker") {
    return kubernetes === undefined
      ? []
      : [
          {
            key: "rewind:kubernetes",
            kind: "invalid",
            value: "[secret]",
            allowed: `no value while rewind:target is "docker" (set rewind:target: kubernetes)`,
          },
        ];
  }
  const issues: ConfigIssue[] = [];
  if (kubernetes === undefined) {
    issues.push({
      key: "rewind:kubernetes",
      kind: "missing",
      allowed: `{ kubeconfig, namespace } while rewind:target is "kubernetes"`,
    });
  }
  // Backups run on the machine that runs `pulumi up`; a Docker volume or a host path there is
  // not what the pods see, so a snapshot of it would restore nothing the app uses.
  (backup?.include ?? []).forEach((item, i) => {
    if (item !== "database") {
      issues.push({
        key: `rewind:backup.include[${i}]`,
        kind: "invalid",
        value: JSON.stringify(item),
        allowed: `"database" only while rewind:target is "kubernetes" (volumes and paths are Docker-target items)`,
      });
    }
  });
  // The cluster pulls with its own image pull secrets; Rewind does not create them yet.
  if (app?.registry !== undefined) {
    issues.push({
      key: "rewind:app.registry",
      kind: "invalid",
      value: "[credentials]",
      allowed: `no value while rewind:target is "kubernetes" (give the namespace's service account an imagePullSecret instead)`,
    });
  }
  // Mounts are host binds of the Docker engine; a worker's readiness kinds are probed there too.
  if (app?.mounts !== undefined && app.mounts.length > 0) {
    issues.push({
      key: "rewind:app.mounts",
      kind: "invalid",
      value: JSON.stringify(app.mounts),
      allowed: `no value while rewind:target is "kubernetes" (declare volumes in the cluster)`,
    });
  }
  (app?.services ?? []).forEach((service, i) => {
    // A Service and the HTTP probes need a port there; a worker without one is Docker-only.
    if (service.port === undefined) {
      issues.push({
        key: `rewind:app.services[${i}].port`,
        kind: "missing",
        allowed: `an integer from 1024 to 65535 while rewind:target is "kubernetes" (its Service and probes need a port)`,
      });
    }
    if (service.readiness !== undefined) {
      issues.push({
        key: `rewind:app.services[${i}].readiness`,
        kind: "invalid",
        value: JSON.stringify(service.readiness),
        allowed: `no value while rewind:target is "kubernetes" (its pods use rewind:app.health's HTTP probes)`,
      });
    }
  });
  return issues;
}
