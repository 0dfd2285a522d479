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
import { BASE, isRevision, REVISION_FORMAT } from "../domain/revision";
import type { MigrationTool } from "../provider/migration";

/** Arguments of a Migration: which database, from where to which revision, and its guard. */
export interface MigrationArgs {
  /** Connection URL; a secret, kept secret in the state. */
  databaseUrl: pulumi.Input<string>;
  /** The database's name (the one in the URL), read by policies. */
  database: pulumi.Input<string>;
  /** `sql` (NNNN_name.up/down.sql files), `alembic`, or `command`. */
  tool: pulumi.Input<MigrationTool>;
  /** `sql`: the migrations directory (absolute, or relative to the program's directory). */
  migrationsDir: pulumi.Input<string>;
  /** The revision the program read before planning; the policy pack reads it. */
  fromRevision: pulumi.Input<string>;
  /** The pinned target revision, `"base"` allowed. */
  revision: pulumi.Input<string>;
  /**
   * The verified BackupSnapshot taken right before; required (non-empty) whenever
   * `fromRevision != revision`, which the provider enforces too.
   * @default ""
   */
  snapshotId?: pulumi.Input<string>;
  /** The snapshot's database, for the policy. @default "" (the manifest's is checked) */
  snapshotDatabase?: pulumi.Input<string>;
  /** The snapshot's revision, for the policy. @default "" (the manifest's is checked) */
  snapshotRevision?: pulumi.Input<string>;
  /**
   * The backup store: where the guard snapshot's manifest is checked and, when a downgrade is
   * refused, where the snapshot to restore instead is looked up.
   * @default "" (no store: the snapshot inputs are trusted as given)
   */
  storePath?: pulumi.Input<string>;
  /**
   * How long to wait for another migration (holding Rewind's advisory lock) before failing.
   * @default 60
   */
  lockTimeoutSeconds?: pulumi.Input<number>;
  /** `command`/`alembic`: the digest-pinned image the command runs in. @default "" */
  image?: pulumi.Input<string>;
  /** `command`: upgrade command; the target revision is appended. @default [] */
  commandUp?: pulumi.Input<pulumi.Input<string>[]>;
  /** `command`: downgrade command; the target revision is appended. @default [] */
  commandDown?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * `command`/`alembic`: every revision oldest first, since their ids carry no order.
   * @default []
   */
  revisions?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * `command`/`alembic`: environment of the command's container; DATABASE_URL is added. A
   * secret in the state.
   * @default {}
   */
  env?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** `command`/`alembic`: the Docker Engine. @default "" (DOCKER_HOST) */
  dockerHost?: pulumi.Input<string>;
  /**
   * `alembic`: absolute directory inside the image to run Alembic in.
   * @default "" (the image's working directory)
   */
  alembicDir?: pulumi.Input<string>;
  /**
   * `alembic`: path of `alembic.ini` inside the image, passed as `alembic -c <config>`.
   * @default "" (Alembic's own default, `alembic.ini` in the directory it runs in)
   */
  alembicConfig?: pulumi.Input<string>;
  /**
   * `alembic`: who runs Alembic. `container`: the provider, in a container of `image` on the
   * Docker Engine, under the migration lock. `kubernetes-job`: a Kubernetes Job in the cluster
   * ran it before this resource (the Kubernetes target); the Migration then only reads back and
   * checks the revision the Job left.
   * @default "container"
   */
  runner?: pulumi.Input<"container" | "kubernetes-job">;
  /**
   * The maintenance order (`rewind:database.migrations.maintenance`): the app containers of these
   * services are stopped before the first step runs, and started again if the migration fails.
   * @default [] (nothing is stopped)
   */
  stopServices?: pulumi.Input<pulumi.Input<string>[]>;
  /** `<project>/<stack>` of the containers `stopServices` names. @default "" (any stack's) */
  stackId?: pulumi.Input<string>;
  /**
   * Start the stopped containers again after a migration that succeeded (no app step follows
   * to start the pinned version).
   * @default false
   */
  restartStopped?: pulumi.Input<boolean>;
}

const TOOLS: readonly unknown[] = ["sql", "alembic", "command"] satisfies MigrationTool[];

// Plain values are checked before anything is registered (argumentChecks.ts); the URL and env
// are not: they hold secrets, and a message must not print them.
function check(name: string, args: MigrationArgs): void {
  const checks = new ArgumentChecks("Migration", name);
  checks.check("database", args.database, isNonEmpty, "the database's name, as in the URL");
  checks.check("tool", args.tool, (t) => TOOLS.includes(t), `"sql", "alembic" or "command"`);
  if (args.tool === "sql") {
    checks.check(
      "migrationsDir",
      args.migrationsDir,
      isNonEmpty,
      "the directory of the NNNN_name.up.sql / .down.sql files",
    );
    const sqlRevision = `${REVISION_FORMAT} (the sql tool's numbering)`;
    checks.check("fromRevision", args.fromRevision, isRevision, sqlRevision);
    checks.check("revision", args.revision, isRevision, sqlRevision);
  } else if (args.tool === "alembic" || args.tool === "command") {
    // Absent, they default to [], which only the sql tool can do without.
    const revisions = args.revisions ?? [];
    if (isPlain(revisions) && revisions.every((r) => isPlain(r))) {
      checkListedRevision(checks, args.tool, args.revision, revisions as string[]);
    }
  }
  checks.check(
    "snapshotId",
    args.snapshotId,
    (id) => id === "" || isSnapshotId(id),
    `"" (no snapshot) or ${SNAPSHOT_ID_ALLOWED}`,
  );
  checks.check(
    "storePath",
    args.storePath,
    (p) => p === "" || isAbsolutePath(p),
    `"" (no store) or an absolute path: the backup store's directory`,
  );
  checks.check("lockTimeoutSeconds", args.lockTimeoutSeconds, isSeconds, SECONDS_ALLOWED);
  checks.check(
    "alembicDir",
    args.alembicDir,
    (d) => d === "" || isAbsolutePath(d),
    `"" (the image's working directory) or an absolute directory inside the image`,
  );
  checks.throwIfAny();
}

// The alembic and command tools' ids carry no order: the pin must be in their list.
function checkListedRevision(
  checks: ArgumentChecks,
  tool: MigrationTool,
  revision: pulumi.Input<string>,
  revisions: readonly string[],
): void {
  if (revisions.length === 0) {
    checks.invalid(
      "revisions",
      revisions,
      `every revision id, oldest first: the ${tool} tool's ids carry no order`,
    );
    return;
  }
  const known = [BASE, ...revisions.filter((r) => r !== BASE)];
  checks.check(
    "revision",
    revision,
    (r) => known.includes(r as string),
    `"base" or one of revisions (${revisions.join(", ")})`,
  );
}

/**
 * Brings one database to the pinned revision, up or down, under a PostgreSQL advisory lock,
 * each step in a transaction with its version-table row. Its `revision` output is what the
 * database reports, so `pulumi refresh` shows a migration someone ran by hand. A downgrade
 * through a step without a down script is refused, naming the snapshot to restore instead.
 * Deleting the resource leaves the schema as it is.
 */
export class Migration extends pulumi.CustomResource {
  static readonly __pulumiType = token("Migration");

  static isInstance(obj: unknown): obj is Migration {
    return (
      pulumi.CustomResource.isInstance(obj) &&
      (obj as { __pulumiType?: string }).__pulumiType === Migration.__pulumiType
    );
  }

  /** The revision the version table reports, read back after migrating (or on refresh). */
  declare public readonly revision: pulumi.Output<string>;
  /** The scripts or commands the last create/update ran, in order. */
  declare public readonly appliedSteps: pulumi.Output<string[]>;
  declare public readonly database: pulumi.Output<string>;
  declare public readonly fromRevision: pulumi.Output<string>;
  declare public readonly snapshotId: pulumi.Output<string>;

  constructor(name: string, args: MigrationArgs, opts?: pulumi.CustomResourceOptions) {
    check(name, args);
    super(
      Migration.__pulumiType,
      name,
      {
        ...args,
        snapshotId: args.snapshotId ?? "",
        snapshotDatabase: args.snapshotDatabase ?? "",
        snapshotRevision: args.snapshotRevision ?? "",
        storePath: args.storePath ?? "",
        lockTimeoutSeconds: args.lockTimeoutSeconds ?? 60,
        image: args.image ?? "",
        commandUp: args.commandUp ?? [],
        commandDown: args.commandDown ?? [],
        revisions: args.revisions ?? [],
        env: args.env ?? {},
        dockerHost: args.dockerHost ?? "",
        alembicDir: args.alembicDir ?? "",
        alembicConfig: args.alembicConfig ?? "",
        runner: args.runner ?? "container",
        // Registered only for the maintenance order, so other releases' inputs stay as they were.
        ...(args.stopServices === undefined
          ? {}
          : {
              stopServices: args.stopServices,
              stackId: args.stackId ?? "",
              restartStopped: args.restartStopped ?? false,
            }),
        appliedSteps: undefined,
      },
      resourceOptions("Migration", opts, {
        secretOutputs: ["databaseUrl", "env"],
        retainOnDelete: true,
      }),
    );
  }
}
