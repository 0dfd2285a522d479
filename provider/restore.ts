// Restores a pinned snapshot: verify, stop the app, restore the database (emptied first, then
// the dump, in one transaction: see RESET_SQL in pgTools.ts) and files, check the revision,
// start the app again if it runs the pinned version (otherwise the Release's app step starts
// that version next). Runbook: "docker-compose stop app; psql < backup.sql; cp -r
// sessions; docker-compose up -d", with a checksum first and the revision checked after.
//
// Runs in the provider plugin: plain functions calling adapters.
import * as path from "node:path";
import { CheckFailure, ResourceHandler, UNKNOWN } from "./resourceHandler";
import { snapshotDir, verifySnapshot } from "../adapters/backupStore";
import { restorePath } from "../adapters/tar";
import { DATABASE_FILE, SnapshotManifest } from "../domain/snapshotManifest";
import { UserError } from "../domain/errors";
import {
  describeDatabase,
  locateDatabase,
  readRevision,
  recordRestore,
  withClient,
  withMigrationLock,
} from "../adapters/postgres";
import { restoreDatabase } from "../adapters/pgTools";
import { engine, startContainers, stopAppContainers } from "../adapters/docker";
import {
  deploymentReplicas,
  deploymentVersion,
  kubernetesApi,
  scaleDeployment,
  waitForNoPods,
  waitForReady,
} from "../adapters/kubernetes";
import { LABELS } from "../domain/dockerLabels";

/** What a restore pin may name. */
const RESTORABLE =
  "a snapshot of this database in the backup store whose files pass their checksums " +
  "(rewind status names the newest)";

/** A Restore's inputs as the provider receives them (secrets unwrapped). */
export interface RestoreInputs {
  databaseUrl: string;
  database: string;
  storePath: string;
  snapshotId: string;
  /** Whose app containers are stopped during the restore; none when empty. */
  services: string[];
  /** Only this stack's containers (`rewind.stack` label); any stack's when empty. */
  stackId: string;
  /**
   * The pinned app version. Once the restore has committed, only stopped containers of this
   * version are started again; the others stay stopped for the app step to replace. Empty (a
   * state written before this input): every stopped container is started again.
   */
  appVersion?: string;
  dockerHost: string;
  /** Kubernetes target: the kubeconfig whose cluster runs `services` as Deployments; "" for Docker. */
  kubeconfig?: string;
  /** Kubernetes target: the Deployments' namespace. */
  namespace?: string;
  lockTimeoutSeconds: number;
}

/** What the state records about a restore. */
export interface RestoreOutputs extends RestoreInputs {
  /** The revision the version table reports after the restore (equals the manifest's). */
  restoredRevision: string;
  /** The snapshot's overall sha256, as verified before restoring. */
  sha256: string;
  restoredAt: string;
  /** How many app containers were stopped. */
  stoppedContainers: number;
  /** Stopped containers of another version than the pin, left stopped for the app step. */
  leftStopped: string[];
  /** Kubernetes target: each Deployment scaled to 0, with the replicas it was given back. */
  scaledDeployments: { name: string; replicas: number }[];
}

/** A process of the app stopped for the restore: a container, or a Deployment at 0 replicas. */
interface Stopped {
  readonly id: string;
  /** The version it ran ("" when unknown). */
  readonly version: string;
  /** Kubernetes: the replicas to give back. */
  readonly replicas?: number;
}

/** How the app is stopped around a restore, per target. */
interface AppStop {
  /** Stops every process; when one cannot be stopped, restarts those already stopped first. */
  stop(): Promise<Stopped[]>;
  /** Starts these again. */
  start(stopped: readonly Stopped[]): Promise<void>;
}

/**
 * Restores snapshot `inputs.snapshotId` into the database (and its files to where they were
 * taken from). Nothing is touched when the snapshot fails verification, when it is of another
 * database, or when the database or Docker cannot be reached.
 */
export async function restoreSnapshot(inputs: RestoreInputs): Promise<RestoreOutputs> {
  // Checked again although `check` did: the store may have changed since the preview.
  const { manifest, problem } = await judgeSnapshot(inputs);
  if (manifest === undefined || problem !== undefined) {
    throw new UserError(`${problem}. Nothing was restored or stopped.`);
  }
  const dir = snapshotDir(inputs.storePath, manifest.id);

  // The lock session keeps migrations out for the whole restore; connecting first also proves
  // the database is reachable before the app is stopped.
  const restoredRevision = await withClient(
    inputs.databaseUrl,
    (client) =>
      withMigrationLock(
        client,
        async () => {
          const app = inputs.kubeconfig ? kubernetesStop(inputs) : dockerStop(inputs);
          const stopped = await app.stop();
          const leftStopped = stopped
            .filter((c) => !!inputs.appVersion && c.version !== inputs.appVersion)
            .map((c) => c.id);
          let committed = false;
          try {
            for (const entry of manifest.items) {
              if (entry.item === "database") {
                await restoreDatabase(inputs.databaseUrl, path.join(dir, DATABASE_FILE), {
                  lockTimeoutMs: inputs.lockTimeoutSeconds * 1000,
                });
                committed = true;
              } else if (entry.source !== undefined) {
                await restorePath(
                  path.join(dir, entry.file),
                  entry.source,
                  entry.sourceKind ?? "directory",
                );
              }
            }
            const revision = await readRevision(client);
            if (revision !== manifest.revision) {
              throw new UserError(
                `after restoring snapshot ${manifest.id}, ${describeDatabase(inputs.databaseUrl)} ` +
                  `reports revision ${revision}, but the snapshot was taken at ` +
                  `${manifest.revision}; the snapshot does not hold the version table it should.`,
              );
            }
            // The program reads this to know the pin is done (a pin stays in the config).
            await recordRestore(client, { snapshotId: manifest.id, revision, leftStopped });
            return { revision, stopped, leftStopped };
          } finally {
            // Before the commit the data is what the stopped processes ran on: all come back.
            // After it, another version than the pin must not start on the restored schema
            // (issue 10, defect 4): the Release's app step starts the pinned one next.
            await app.start(stopped.filter((c) => !committed || !leftStopped.includes(c.id)));
          }
        },
        {
          timeoutMs: inputs.lockTimeoutSeconds * 1000,
          purpose: `restoring snapshot ${manifest.id}`,
        },
      ),
    { applicationName: "rewind-restore" },
  );

  return {
    ...inputs,
    restoredRevision: restoredRevision.revision,
    sha256: manifest.sha256,
    restoredAt: new Date().toISOString(),
    stoppedContainers: inputs.kubeconfig ? 0 : restoredRevision.stopped.length,
    leftStopped: restoredRevision.leftStopped,
    scaledDeployments: inputs.kubeconfig
      ? restoredRevision.stopped.map((d) => ({
          name: d.id,
          replicas: restoredRevision.leftStopped.includes(d.id) ? 0 : (d.replicas ?? 0),
        }))
      : [],
  };
}

/**
 * Docker: stops the app containers of every service, in order, and returns them with the
 * version each runs; when one cannot be stopped, those already stopped are started again before
 * the error goes on (nothing was restored yet).
 */
function dockerStop(inputs: RestoreInputs): AppStop {
  return {
    async stop() {
      const stopped: string[] = [];
      try {
        for (const service of inputs.services) {
          stopped.push(
            ...(await stopAppContainers({
              service,
              stackId: inputs.stackId,
              dockerHost: inputs.dockerHost,
            })),
          );
        }
        return await Promise.all(
          stopped.map(async (id) => ({
            id,
            version: await containerVersion(id, inputs.dockerHost),
          })),
        );
      } catch (error) {
        await startContainers(stopped, inputs.dockerHost).catch(() => undefined);
        throw error;
      }
    },
    start: (stopped) =>
      startContainers(
        stopped.map((c) => c.id),
        inputs.dockerHost,
      ),
  };
}

/**
 * Kubernetes: scales each service's Deployment to 0 and waits until its pods are gone (a pod
 * still terminating could write during the restore); back to its replicas afterwards, waiting
 * until they are ready. A service without a Deployment yet has nothing to stop.
 */
function kubernetesStop(inputs: RestoreInputs): AppStop {
  const api = kubernetesApi(inputs.kubeconfig!);
  const namespace = inputs.namespace || "default";
  const timeoutMs = inputs.lockTimeoutSeconds * 1000;
  // Ready again before the update goes on: the gate does not rerun for a restore of the same
  // version, and the Release's url must answer when `pulumi up` returns.
  const start = async (stopped: readonly Stopped[]) => {
    for (const d of stopped) {
      await scaleDeployment(api, namespace, d.id, d.replicas ?? 1);
    }
    for (const d of stopped) {
      await waitForReady(api, namespace, d.id, d.replicas ?? 1, timeoutMs);
    }
  };
  return {
    async stop() {
      const stopped: Stopped[] = [];
      try {
        for (const service of inputs.services) {
          const replicas = await deploymentReplicas(api, namespace, service);
          if (replicas === undefined) continue;
          const version = (await deploymentVersion(api, namespace, service)) ?? "";
          stopped.push({ id: service, version, replicas });
          await scaleDeployment(api, namespace, service, 0);
        }
        for (const d of stopped) {
          await waitForNoPods(api, namespace, d.id, timeoutMs);
        }
        return stopped;
      } catch (error) {
        await start(stopped).catch(() => undefined);
        throw error;
      }
    },
    start,
  };
}

/** The `rewind.version` label of container `id` ("" when it has none). */
async function containerVersion(id: string, dockerHost: string): Promise<string> {
  const info = await engine(dockerHost || undefined)
    .getContainer(id)
    .inspect();
  return info.Config.Labels?.[LABELS.version] ?? "";
}

/**
 * Whether the pinned snapshot may be restored into this database: it exists, every file has
 * the size and sha256 its manifest records, and it is of this database. Reads only.
 */
async function judgeSnapshot(
  inputs: Pick<RestoreInputs, "databaseUrl" | "database" | "storePath" | "snapshotId">,
): Promise<{ manifest?: SnapshotManifest; problem?: string }> {
  const result = await verifySnapshot(inputs.storePath, inputs.snapshotId);
  if (result.manifest === undefined) {
    return { problem: result.problems.join("; ") };
  }
  if (!result.ok) {
    return {
      problem:
        `snapshot ${JSON.stringify(inputs.snapshotId)} in ${inputs.storePath} failed ` +
        `verification: ${result.problems.join("; ")}`,
    };
  }
  const urlDatabase = locateDatabase(inputs.databaseUrl).database;
  if (result.manifest.database !== inputs.database || urlDatabase !== inputs.database) {
    return {
      problem:
        `snapshot ${result.manifest.id} is of database ${JSON.stringify(result.manifest.database)}; ` +
        `it cannot be restored into ${describeDatabase(inputs.databaseUrl)}`,
    };
  }
  return { manifest: result.manifest };
}

export const restoreHandler: ResourceHandler<RestoreInputs, RestoreOutputs> = {
  // The pin is judged at preview, before anything is stopped (issue 10, defect 5): a missing,
  // damaged or other database's snapshot is the config's mistake, named on snapshotId.
  async check(_olds, news) {
    const known = [news.databaseUrl, news.database, news.storePath, news.snapshotId];
    if (known.some((v) => typeof v !== "string" || v === UNKNOWN)) {
      return { inputs: news }; // checked once known, at `up`
    }
    const { problem } = await judgeSnapshot(news);
    const failures: CheckFailure[] =
      problem === undefined
        ? []
        : [{ property: "snapshotId", reason: `${problem}; allowed: ${RESTORABLE}` }];
    return { inputs: news, failures };
  },

  async create(inputs) {
    const outs = await restoreSnapshot(inputs);
    return { id: `${inputs.snapshotId}@${outs.restoredAt}`, outs };
  },

  // A restore is an event: a new snapshot id restores again; the same id never does, however
  // often `pulumi up` runs with the pin still in place (it would throw away newer writes).
  async diff(_id, olds, news) {
    const replaces = (["snapshotId", "database"] as const).filter((k) => olds[k] !== news[k]);
    return { changes: replaces.length > 0, replaces };
  },

  // Removing the pin does not un-restore.
  async delete() {
    return;
  },
};
