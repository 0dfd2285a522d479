import * as pulumi from "@pulumi/pulumi";
import { resourceOptions, token } from "./resourceOptions";
import {
  ArgumentChecks,
  isAbsolutePath,
  isNonEmpty,
  isSeconds,
  SECONDS_ALLOWED,
} from "../domain/argumentChecks";
import { SNAPSHOT_ID_ALLOWED, isSnapshotId } from "../domain/snapshotId";

/** Arguments of a Restore: which snapshot, into which database, whose app to stop. */
export interface RestoreArgs {
  /** Connection URL of the database to restore into; a secret, kept secret in the state. */
  databaseUrl: pulumi.Input<string>;
  /** The database's name; must equal the snapshot's. */
  database: pulumi.Input<string>;
  /** The filesystem backup store's directory. */
  storePath: pulumi.Input<string>;
  /** The pinned snapshot (`rewind:restore.snapshot`). A new id restores; the same id never again. */
  snapshotId: pulumi.Input<string>;
  /**
   * The services whose app containers (labels `rewind.service=<service>`, `rewind.role=app`)
   * are stopped during the restore and started after it: the API and every worker, since any
   * of them could write while the database is being replaced.
   * @default [] (no containers are touched)
   */
  services?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Limits the stop to containers labelled `rewind.stack=<stackId>` (`<project>/<stack>`).
   * @default "" (every stack's containers of the service)
   */
  stackId?: pulumi.Input<string>;
  /**
   * The pinned app version. After the restore commits, only stopped containers of this version
   * start again; the others stay stopped and the Release's app step starts this version.
   * @default "" (every stopped container starts again)
   */
  appVersion?: pulumi.Input<string>;
  /** The Docker Engine. @default "" (DOCKER_HOST) */
  dockerHost?: pulumi.Input<string>;
  /**
   * On the Kubernetes target: the kubeconfig (a secret) whose cluster runs `services` as
   * Deployments of those names in `namespace`. They are scaled to 0 (and their pods gone) before
   * the restore and back to their replicas after it, instead of stopping containers.
   * @default "" (the Docker target)
   */
  kubeconfig?: pulumi.Input<string>;
  /** The namespace of those Deployments. @default "" */
  namespace?: pulumi.Input<string>;
  /**
   * How long to wait for a running migration, and how long the restore's DROPs may wait for
   * other sessions' locks, before failing.
   * @default 60
   */
  lockTimeoutSeconds?: pulumi.Input<number>;
}

// Plain values are checked before anything is registered (argumentChecks.ts); the URL is not:
// it is a secret, and a message must not print it.
function check(name: string, args: RestoreArgs): void {
  const checks = new ArgumentChecks("Restore", name);
  checks.check("database", args.database, isNonEmpty, "the database's name, as in the URL");
  checks.check(
    "storePath",
    args.storePath,
    isAbsolutePath,
    "an absolute path: the backup store's directory",
  );
  checks.check("snapshotId", args.snapshotId, isSnapshotId, SNAPSHOT_ID_ALLOWED);
  checks.check("lockTimeoutSeconds", args.lockTimeoutSeconds, isSeconds, SECONDS_ALLOWED);
  checks.throwIfAny();
}

/**
 * Restores a verified snapshot: checksums first (a mismatch touches nothing), then the app's
 * containers are stopped, the database restored in one transaction (pg_restore --clean) and
 * the files put back, the revision checked against the manifest, and the containers started.
 */
export class Restore extends pulumi.CustomResource {
  static readonly __pulumiType = token("Restore");

  static isInstance(obj: unknown): obj is Restore {
    return (
      pulumi.CustomResource.isInstance(obj) &&
      (obj as { __pulumiType?: string }).__pulumiType === Restore.__pulumiType
    );
  }

  /** The revision the database reports after the restore (the snapshot's). */
  declare public readonly restoredRevision: pulumi.Output<string>;
  /** The snapshot's overall sha256, as verified before restoring. */
  declare public readonly sha256: pulumi.Output<string>;
  /** ISO 8601, UTC. */
  declare public readonly restoredAt: pulumi.Output<string>;
  declare public readonly snapshotId: pulumi.Output<string>;
  /** On Kubernetes: each Deployment scaled to 0 for the restore, and the replicas it got back. */
  declare public readonly scaledDeployments: pulumi.Output<{ name: string; replicas: number }[]>;

  constructor(name: string, args: RestoreArgs, opts?: pulumi.CustomResourceOptions) {
    check(name, args);
    super(
      Restore.__pulumiType,
      name,
      {
        ...args,
        services: args.services ?? [],
        stackId: args.stackId ?? "",
        appVersion: args.appVersion ?? "",
        dockerHost: args.dockerHost ?? "",
        kubeconfig: args.kubeconfig ?? "",
        namespace: args.namespace ?? "",
        lockTimeoutSeconds: args.lockTimeoutSeconds ?? 60,
        restoredRevision: undefined,
        sha256: undefined,
        restoredAt: undefined,
        stoppedContainers: undefined,
        scaledDeployments: undefined,
      },
      resourceOptions("Restore", opts, {
        secretOutputs: ["databaseUrl", "kubeconfig"],
        retainOnDelete: true,
      }),
    );
  }
}
