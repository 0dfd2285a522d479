import * as pulumi from "@pulumi/pulumi";
import { resourceOptions, token } from "./resourceOptions";
import {
  ArgumentChecks,
  isAbsolutePath,
  isNonEmpty,
  isPlain,
  isSeconds,
  SECONDS_ALLOWED,
} from "../domain/argumentChecks";
import { SNAPSHOT_ID_ALLOWED, isSnapshotId } from "../domain/snapshotId";
import { backupSchema } from "../domain/config";
import { DEFAULT_VOLUMES_ROOT } from "../domain/backupItem";

/** Arguments of a BackupSnapshot: which database, at which revision, into which store. */
export interface BackupSnapshotArgs {
  /** Connection URL of the database to dump; a secret, kept secret in the state. */
  databaseUrl: pulumi.Input<string>;
  /** The database's name (the one in the URL); written to the manifest and read by policies. */
  database: pulumi.Input<string>;
  /**
   * The revision the database is at when the snapshot is taken. The provider reads the real
   * one and refuses a mismatch, so the manifest never mislabels a dump.
   */
  revision: pulumi.Input<string>;
  /** The app version running when the snapshot is taken, for the manifest. */
  appVersion: pulumi.Input<string>;
  /** The filesystem backup store's directory (`rewind:backup.store.path`). */
  storePath: pulumi.Input<string>;
  /**
   * What the snapshot holds: `database`, `volume:<name>` (the directory
   * `<volumesRoot>/<name>`) and `path:<absolute path>` (a file or directory, e.g. the env file).
   * @default ["database"]
   */
  include?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Retention, applied to this database's snapshots after this one is verified: older than
   * `days` are pruned, except the newest `keepAtLeast` and this one.
   * @default { days: 30, keepAtLeast: 5 }
   */
  retain?: pulumi.Input<{ days: number; keepAtLeast: number }>;
  /**
   * Why the snapshot is taken, e.g. `migrate 0001->0002`; recorded in the manifest.
   * @default "manual"
   */
  reason?: pulumi.Input<string>;
  /**
   * The host directory under which `volume:<name>` items live, one directory per volume
   * (`<volumesRoot>/<name>`): the directory the app's containers bind-mount as that volume.
   * @default "/var/lib/rewind/volumes"
   */
  volumesRoot?: pulumi.Input<string>;
  /**
   * Snapshot ids retention must never prune (e.g. the one pinned in `rewind:restore`).
   * Changing it does not take a new snapshot.
   * @default []
   */
  keep?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * How long to wait for a running migration (which holds Rewind's lock) before failing.
   * @default 60
   */
  lockTimeoutSeconds?: pulumi.Input<number>;
  /**
   * When the snapshot was asked for (Pulumi's `replacementTrigger`): a change takes a new
   * snapshot, so by default each program run that registers a BackupSnapshot takes a fresh one: a migration
   * retried a day after it failed is not guarded by a day-old copy. Pass a fixed value to keep
   * one snapshot across runs.
   * @default the time of the program run
   */
  requestedAt?: pulumi.Input<string>;
}

// The rules of rewind:backup.include items and rewind:backup.retain, as the config states them.
const BACKUP_ITEM = backupSchema.shape.include.unwrap().element;
const RETAIN = backupSchema.shape.retain;

// Plain values are checked before anything is registered (argumentChecks.ts); the URL is not:
// it is a secret, and a message must not print it.
function check(name: string, args: BackupSnapshotArgs): void {
  const checks = new ArgumentChecks("BackupSnapshot", name);
  checks.check("database", args.database, isNonEmpty, "the database's name, as in the URL");
  checks.check(
    "revision",
    args.revision,
    isNonEmpty,
    `the revision the database is at, e.g. "0002" or "base"`,
  );
  checks.check(
    "storePath",
    args.storePath,
    isAbsolutePath,
    "an absolute path: the backup store's directory",
  );
  if (isPlain(args.include)) {
    args.include.forEach((item, i) => checks.schema(`include[${i}]`, item, BACKUP_ITEM));
  }
  checks.schema("retain", args.retain, RETAIN);
  checks.check(
    "volumesRoot",
    args.volumesRoot,
    isAbsolutePath,
    "an absolute path: the directory holding one directory per volume",
  );
  if (isPlain(args.keep)) {
    args.keep.forEach((id, i) => checks.check(`keep[${i}]`, id, isSnapshotId, SNAPSHOT_ID_ALLOWED));
  }
  checks.check("lockTimeoutSeconds", args.lockTimeoutSeconds, isSeconds, SECONDS_ALLOWED);
  checks.throwIfAny();
}

/**
 * A verified copy of the database (pg_dump custom format) and of declared volumes and files,
 * in the backup store with a manifest. Any change of its inputs takes a new snapshot (and each
 * program run that registers one, see `requestedAt`); deleting the resource keeps the snapshot
 * (`retainOnDelete`; retention prunes), because a rollback needs it later.
 */
export class BackupSnapshot extends pulumi.CustomResource {
  static readonly __pulumiType = token("BackupSnapshot");

  static isInstance(obj: unknown): obj is BackupSnapshot {
    return (
      pulumi.CustomResource.isInstance(obj) &&
      (obj as { __pulumiType?: string }).__pulumiType === BackupSnapshot.__pulumiType
    );
  }

  /** `<UTC time>-<database>-<revision>-<random>`, the snapshot's directory in the store. */
  declare public readonly snapshotId: pulumi.Output<string>;
  /** Overall sha256 of the snapshot's files (see domain/snapshotManifest.ts). */
  declare public readonly sha256: pulumi.Output<string>;
  /** Total bytes. */
  declare public readonly size: pulumi.Output<number>;
  /** True once the snapshot was re-read and checksummed; a refresh re-verifies. */
  declare public readonly verified: pulumi.Output<boolean>;
  /** ISO 8601, UTC. */
  declare public readonly takenAt: pulumi.Output<string>;
  declare public readonly manifestPath: pulumi.Output<string>;
  /** Ids retention removed when this snapshot was taken. */
  declare public readonly pruned: pulumi.Output<string[]>;
  /** Why retention failed, if it did (the snapshot is fine); empty otherwise. */
  declare public readonly pruneError: pulumi.Output<string>;
  declare public readonly database: pulumi.Output<string>;
  declare public readonly revision: pulumi.Output<string>;

  constructor(name: string, args: BackupSnapshotArgs, opts?: pulumi.CustomResourceOptions) {
    check(name, args);
    const { requestedAt, ...inputs } = args;
    super(
      BackupSnapshot.__pulumiType,
      name,
      {
        ...inputs,
        include: args.include ?? ["database"],
        retain: args.retain ?? { days: 30, keepAtLeast: 5 },
        reason: args.reason ?? "manual",
        volumesRoot: args.volumesRoot ?? DEFAULT_VOLUMES_ROOT,
        keep: args.keep ?? [],
        lockTimeoutSeconds: args.lockTimeoutSeconds ?? 60,
        snapshotId: undefined,
        sha256: undefined,
        size: undefined,
        verified: undefined,
        takenAt: undefined,
        manifestPath: undefined,
        pruned: undefined,
        pruneError: undefined,
      },
      resourceOptions("BackupSnapshot", opts, {
        secretOutputs: ["databaseUrl"],
        retainOnDelete: true,
        replacementTrigger: requestedAt ?? new Date().toISOString(),
      }),
    );
  }
}
