import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { AppService } from "./appService";
import { BackupSnapshot } from "./backupSnapshot";
import { RewindConfig } from "../domain/config";
import { InternalError } from "../domain/errors";
import { HealthGate } from "./healthGate";
import { ImageRef } from "./imageRef";
import { KubernetesService } from "./kubernetesService";
import { Migration, MigrationArgs } from "./migration";
import { Plan } from "../domain/planner";
import { predecessors, releaseOrder, Role } from "../domain/releaseOrder";
import { Restore } from "./restore";
import { BASE, Revision } from "../domain/revision";
import { migrationJobManifest } from "../domain/kubernetesManifest";
import { alembicArgv } from "../adapters/alembic";
import { mountBinds, withMountItems } from "../domain/mounts";
import { DEFAULT_VOLUMES_ROOT } from "../domain/backupItem";

/** Arguments of a Release: the validated pins, what runs now, and the plan between them. */
export interface ReleaseArgs {
  /** The stack's validated config. */
  config: RewindConfig;
  /** `rewind:database.url`; the Release makes it a secret if it is not one already. */
  databaseUrl: pulumi.Input<string>;
  /** The database's name (from the URL), for snapshots and policies. */
  database: string;
  /** The revision the database reports now ("base" when never migrated). */
  currentRevision: Revision;
  /** The app version running now, if any. */
  currentAppVersion?: string;
  /** The revision the pinned restore snapshot was taken at, when a restore is pinned. */
  restoreRevision?: Revision;
  /** The plan from `planRelease`; its steps decide the order of the children. */
  plan: Plan;
  /** Absolute path of the migrations directory. */
  migrationsDir: string;
  /** Absolute path of the backup store. */
  storePath: string;
  /** `<project>/<stack>`, so two stacks never touch each other's containers. */
  stackId: string;
}

/** What the gate and the Release's outputs read of the app, whichever the target. */
interface DeployedApp {
  readonly digest: pulumi.Output<string>;
  /** `repo@sha256:…`: the gate's command checks run in this image. */
  readonly ref: pulumi.Output<string>;
  readonly url: pulumi.Output<string>;
}

/**
 * One app's release: the app and its further services (workers from the same image), its
 * database's revision, the backup before a schema change, an optional restore, and the health
 * gate, wired in the order the plan's direction needs
 * (upgrade: backup → migrate → app → gate; downgrade: app → backup → migrate → gate;
 * restore: restore → app → gate). The target (`rewind:target`) decides only what runs the app:
 * AppServices on a Docker Engine, or KubernetesServices through one Kubernetes provider
 * (`<name>-kubernetes`); the order, the database's steps and the gate are the same.
 */
export class Release extends pulumi.ComponentResource {
  public readonly appVersion: pulumi.Output<string>;
  public readonly digest: pulumi.Output<string>;
  public readonly url: pulumi.Output<string>;
  public readonly revision: pulumi.Output<string>;
  public readonly snapshotId: pulumi.Output<string | null>;

  constructor(name: string, args: ReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("rewind:index:Release", name, {}, opts);
    const { config, plan } = args;
    const order = releaseOrder(plan.steps, config.gate.enabled);
    const before = predecessors(order);
    // What each role declared: the app role declares the app and one AppService per further
    // service, and the next role waits for all of them.
    const built = new Map<Role, pulumi.Resource[]>();
    const after = (role: Role): pulumi.ResourceOptions => {
      const previous = before.get(role);
      return { parent: this, dependsOn: previous ? built.get(previous)! : [] };
    };
    const storePath = args.storePath;
    const restoreSnapshot = plan.direction === "restore" ? config.restore.snapshot : null;
    // A secret whatever the caller passed: additionalSecretOutputs hides the children's outputs,
    // not the inputs the state also records, so a plain URL would be stored in the clear.
    const databaseUrl = pulumi.secret(args.databaseUrl);
    const services = config.app.services ?? [];
    // The files the app uses: every process binds them, and snapshots hold exactly them.
    const mounts = config.app.mounts ?? [];
    const volumesRoot = config.backup.volumesRoot ?? DEFAULT_VOLUMES_ROOT;

    const cluster = config.kubernetes;
    if ((config.target === "kubernetes") !== (cluster !== undefined)) {
      throw new InternalError("the config has rewind:kubernetes exactly for the kubernetes target");
    }
    const kubeconfig = cluster ? pulumi.secret(cluster.kubeconfig) : undefined;
    const provider =
      cluster && kubeconfig
        ? new k8s.Provider(
            `${name}-kubernetes`,
            { kubeconfig, namespace: cluster.namespace },
            { parent: this },
          )
        : undefined;

    let backup: BackupSnapshot | undefined;
    let restore: Restore | undefined;
    let migration: Migration | undefined;
    let app: DeployedApp | undefined;
    let gate: HealthGate | undefined;
    for (const role of order) {
      switch (role) {
        case "restore":
          restore = new Restore(
            `${name}-restore`,
            {
              databaseUrl,
              database: args.database,
              storePath,
              snapshotId: restoreSnapshot!,
              // Every process stops: a worker left running would write during the restore.
              services: [config.app.name, ...services.map((s) => s.name)],
              stackId: args.stackId,
              appVersion: config.app.version,
              lockTimeoutSeconds: config.database.lockTimeoutSeconds,
              // On Kubernetes the Deployments of those services are scaled to 0 and back.
              ...(cluster ? { kubeconfig, namespace: cluster.namespace } : {}),
            },
            after(role),
          );
          built.set(role, [restore]);
          break;
        case "backup":
          backup = new BackupSnapshot(
            `${name}-backup`,
            {
              databaseUrl,
              database: args.database,
              revision: args.currentRevision,
              appVersion: args.currentAppVersion ?? "none",
              storePath,
              include: withMountItems(config.backup.include, mounts),
              ...(config.backup.volumesRoot === undefined ? {} : { volumesRoot }),
              retain: config.backup.retain,
              reason: `migrate ${args.currentRevision}->${config.database.revision}`,
              // The snapshot the config pins for restore is never pruned (issue 11).
              keep: config.restore.snapshot === null ? [] : [config.restore.snapshot],
              lockTimeoutSeconds: config.database.lockTimeoutSeconds,
            },
            after(role),
          );
          built.set(role, [backup]);
          break;
        case "migration": {
          // After a restore the database is at the snapshot's revision, not the one read now.
          const from = restore ? args.restoreRevision! : args.currentRevision;
          const tool = this.toolInputs(name, args, databaseUrl, after(role), provider);
          const opts = after(role);
          migration = new Migration(
            `${name}-migration`,
            {
              databaseUrl,
              database: args.database,
              tool: config.database.migrations.tool,
              migrationsDir: args.migrationsDir,
              fromRevision: from,
              revision: config.database.revision,
              snapshotId: backup ? backup.snapshotId : "",
              snapshotDatabase: args.database,
              snapshotRevision: backup ? args.currentRevision : "",
              storePath,
              lockTimeoutSeconds: config.database.lockTimeoutSeconds,
              // The maintenance order: every process stops before the migration (a worker on
              // the other schema breaks as the app does); the app step then starts the pinned
              // version, or, when the version does not change, the stopped ones start again.
              ...((plan.maintenance ?? []).length > 0
                ? {
                    stopServices: [config.app.name, ...services.map((s) => s.name)],
                    stackId: args.stackId,
                    restartStopped: !plan.steps.includes("app"),
                  }
                : {}),
              ...tool.inputs,
            },
            { ...opts, dependsOn: [...(opts.dependsOn as pulumi.Resource[]), ...tool.runs] },
          );
          built.set(role, [migration]);
          break;
        }
        case "app": {
          // The app finds its database as twelve-factor apps do, unless the config says
          // otherwise; the URL stays a secret in the deployments' state.
          const env = databaseUrl.apply((url): Record<string, string> => ({
            DATABASE_URL: url,
            ...config.app.env,
          }));
          const deployed = provider
            ? this.kubernetesServices(name, args, env, cluster!.namespace, {
                ...after(role),
                providers: [provider],
              })
            : this.dockerServices(name, args, env, after(role));
          app = deployed[0];
          built.set(role, deployed);
          break;
        }
        case "gate":
          if (!app || !migration) throw new InternalError("the gate needs the app and migration");
          gate = new HealthGate(
            `${name}-gate`,
            {
              baseUrl: app.url,
              live: config.app.health.live,
              ready: config.app.health.ready,
              startup: config.app.health.startup,
              timeoutSeconds: config.app.health.timeoutSeconds,
              smoke: config.gate.smoke,
              sql: config.gate.sql,
              ...(config.gate.tcp === undefined ? {} : { tcp: config.gate.tcp }),
              ...(config.gate.command === undefined
                ? {}
                : { command: config.gate.command, image: app.ref }),
              databaseUrl,
              enabled: config.gate.enabled,
              trigger: pulumi.interpolate`${app.digest}@${migration.revision}`,
            },
            after(role),
          );
          built.set(role, [gate]);
          break;
        default: {
          const unexpected: never = role;
          throw new InternalError(`unknown release role ${String(unexpected)}`);
        }
      }
    }
    if (!app || !migration) throw new InternalError("a release always has an app and a migration");

    this.appVersion = pulumi.output(config.app.version);
    this.digest = app.digest;
    this.url = app.url;
    this.revision = migration.revision;
    this.snapshotId = backup ? backup.snapshotId : pulumi.output(restoreSnapshot ?? null);
    this.registerOutputs({
      appVersion: this.appVersion,
      digest: this.digest,
      url: this.url,
      revision: this.revision,
      snapshotId: this.snapshotId,
    });
  }

  /**
   * The app (`<name>-app`) and one AppService per further service (`<name>-service-<service>`),
   * on the Docker Engine: further processes of the same image and version (a worker beside the
   * API), each with its own command, replicas and port (or none: a worker without HTTP, ready by
   * its `readiness`), health-gated the same way.
   */
  private dockerServices(
    name: string,
    args: ReleaseArgs,
    env: pulumi.Output<Record<string, string>>,
    opts: pulumi.ComponentResourceOptions,
  ): AppService[] {
    const { app, backup } = args.config;
    // The files the app uses: every process binds them (snapshots hold exactly them).
    const mounts = app.mounts ?? [];
    const binds =
      mounts.length === 0
        ? {}
        : { mounts: mountBinds(mounts, backup.volumesRoot ?? DEFAULT_VOLUMES_ROOT) };
    // The password a secret whatever the config held: it reaches the deployments' state.
    const registry =
      app.registry === undefined
        ? undefined
        : { username: app.registry.username, password: pulumi.secret(app.registry.password) };
    return [
      new AppService(
        `${name}-app`,
        {
          service: app.name,
          image: app.image,
          version: app.version,
          replicas: app.replicas,
          port: app.port,
          env,
          health: app.health,
          stackId: args.stackId,
          protect: app.protect,
          drainSeconds: app.drainSeconds,
          registry,
          ...binds,
        },
        opts,
      ),
      ...(app.services ?? []).map(
        (service) =>
          new AppService(
            `${name}-service-${service.name}`,
            {
              service: service.name,
              image: app.image,
              version: app.version,
              replicas: service.replicas,
              port: service.port,
              command: service.command,
              env,
              // A worker without HTTP is ready by its own kind (issue 11).
              health: { ...app.health, ...(service.readiness ?? {}) },
              stackId: args.stackId,
              drainSeconds: app.drainSeconds,
              registry,
              ...binds,
            },
            opts,
          ),
      ),
    ];
  }

  /** The same services as Deployments and Services in the cluster, named as on Docker. */
  private kubernetesServices(
    name: string,
    args: ReleaseArgs,
    env: pulumi.Output<Record<string, string>>,
    namespace: string,
    opts: pulumi.ComponentResourceOptions,
  ): KubernetesService[] {
    const { app } = args.config;
    return [
      new KubernetesService(
        `${name}-app`,
        {
          service: app.name,
          image: app.image,
          version: app.version,
          namespace,
          replicas: app.replicas,
          port: app.port,
          env,
          health: app.health,
          stackId: args.stackId,
          protect: app.protect,
        },
        opts,
      ),
      ...(app.services ?? []).map((service) => {
        if (service.port === undefined) {
          throw new InternalError("the config refuses a service without a port on kubernetes");
        }
        return new KubernetesService(
          `${name}-service-${service.name}`,
          {
            service: service.name,
            image: app.image,
            version: app.version,
            namespace,
            replicas: service.replicas,
            port: service.port,
            command: service.command,
            env,
            health: app.health,
            stackId: args.stackId,
          },
          opts,
        );
      }),
    ];
  }

  /**
   * The alembic tool's inputs: the revision history, where Alembic runs in the image, and the
   * image itself, resolved to a digest by an ImageRef `<name>-migration-image`. A downgrade runs
   * in the image of the version that runs now: only its migrations know the revisions to undo.
   * On the Kubernetes target Alembic runs as a Job in that image (`<name>-migration-job`, its env
   * in Secret `<name>-migration-env`), awaited by @pulumi/kubernetes before the Migration reads
   * the revision back; `runs` lists what the Migration must wait for.
   * The sql tool needs none of these (its scripts are read from migrationsDir).
   */
  private toolInputs(
    name: string,
    args: ReleaseArgs,
    databaseUrl: pulumi.Output<string>,
    opts: pulumi.ResourceOptions,
    provider: k8s.Provider | undefined,
  ): { inputs: Partial<MigrationArgs>; runs: pulumi.Resource[] } {
    const { config, plan } = args;
    const migrations = config.database.migrations;
    switch (migrations.tool) {
      case "sql":
        return { inputs: {}, runs: [] };
      case "alembic": {
        const version =
          plan.direction === "downgrade"
            ? (args.currentAppVersion ?? config.app.version)
            : config.app.version;
        const image = new ImageRef(
          `${name}-migration-image`,
          { image: config.app.image, version },
          { parent: this },
        );
        const inputs = {
          image: image.ref,
          revisions: migrations.revisions,
          alembicDir: migrations.dir ?? "",
          alembicConfig: migrations.config ?? "",
          env: config.app.env,
        };
        if (provider === undefined) {
          return { inputs, runs: [] };
        }
        const namespace = config.kubernetes!.namespace;
        const current = args.restoreRevision ?? args.currentRevision;
        const known = [BASE, ...migrations.revisions];
        const up = known.indexOf(config.database.revision) >= known.indexOf(current);
        const env = new k8s.core.v1.Secret(
          `${name}-migration-env`,
          {
            metadata: { namespace },
            stringData: databaseUrl.apply((url): Record<string, string> => ({
              ...config.app.env,
              DATABASE_URL: url,
            })),
          },
          { parent: this, provider },
        );
        const job = pulumi.all([image.ref, env.metadata.name]).apply(([ref, envSecret]) =>
          migrationJobManifest({
            namespace,
            stackId: args.stackId,
            ref,
            argv: alembicArgv(up, config.database.revision, migrations.config ?? ""),
            workingDir: migrations.dir ?? "",
            envSecret,
            timeoutSeconds: config.database.lockTimeoutSeconds ?? 600,
          }),
        );
        const run = new k8s.batch.v1.Job(
          `${name}-migration-job`,
          { metadata: job.metadata, spec: job.spec },
          { ...opts, parent: this, provider },
        );
        return { inputs: { ...inputs, runner: "kubernetes-job" }, runs: [run] };
      }
      case "command":
        throw new InternalError("the program refuses the command tool before any release");
      default: {
        const unexpected: never = migrations;
        throw new InternalError(`unknown migration tool ${String(unexpected)}`);
      }
    }
  }
}
