// What runs now, read before the graph is built: the program needs it to know the release's
// direction (DESIGN: "it can read the current revision before it builds the graph").
import * as path from "node:path";
import { engine, listContainers } from "../adapters/docker";
import { readAlembicRevision } from "../adapters/alembic";
import {
  locateDatabase,
  readDatabaseRevision,
  readLastRestore,
  withClient,
} from "../adapters/postgres";
import { readManifest } from "../adapters/backupStore";
import { deploymentVersion, kubernetesApi } from "../adapters/kubernetes";
import { LABELS, serviceSelector } from "../domain/dockerLabels";
import { InputError, UserError } from "../domain/errors";
import { Revision } from "../domain/revision";

/** What runs now. */
export interface CurrentRelease {
  /** Whether anything was ever released: an app runs or the schema has moved from base. */
  readonly deployed: boolean;
  /** The database's name, from its URL. */
  readonly database: string;
  /**
   * The revision the database reports ("base" when never migrated): Rewind's version table for
   * sql migrations, Alembic's own `alembic_version` for alembic (an `alembic downgrade` run by
   * hand changes only that table).
   */
  readonly revision: Revision;
  /** The version the service's running replicas were started from, if any run. */
  readonly appVersion?: string;
  /** The snapshot restored last into the database (Restore records it), if any. */
  readonly restoredSnapshot?: string;
  /** The revision of the pinned restore snapshot, from its manifest, while its restore is due. */
  readonly restoreRevision?: Revision;
}

export interface CurrentReleaseQuery {
  databaseUrl: string;
  /** The migration tool, which says where the revision is recorded. */
  tool: "sql" | "alembic";
  service: string;
  stackId: string;
  storePath: string;
  restoreSnapshot: string | null;
  /** Kubernetes target: the kubeconfig whose cluster runs the app; absent for Docker. */
  kubeconfig?: string;
  /** Kubernetes target: the app's namespace. */
  namespace?: string;
}

/**
 * Reads the database's revision and last restore, the running app version and, when a pinned
 * snapshot is still to be restored, its revision.
 */
export async function readCurrentRelease(query: CurrentReleaseQuery): Promise<CurrentRelease> {
  const database = locateDatabase(query.databaseUrl).database;
  const revision =
    query.tool === "alembic"
      ? await withClient(query.databaseUrl, readAlembicRevision, { applicationName: "rewind-plan" })
      : await readDatabaseRevision(query.databaseUrl);
  const restoredSnapshot = await readLastRestore(query.databaseUrl);
  const appVersion = query.kubeconfig
    ? await deploymentVersion(
        kubernetesApi(query.kubeconfig),
        query.namespace || "default",
        query.service,
      )
    : await runningAppVersion(query.stackId, query.service);
  const restoreRevision =
    query.restoreSnapshot === null || query.restoreSnapshot === restoredSnapshot
      ? undefined
      : pinnedRevision(query.storePath, query.restoreSnapshot);
  return {
    deployed: appVersion !== undefined || revision !== "base",
    database,
    revision,
    appVersion,
    restoredSnapshot,
    restoreRevision,
  };
}

function pinnedRevision(storePath: string, snapshot: string): Revision {
  try {
    return readManifest(path.resolve(storePath), snapshot).revision;
  } catch (err) {
    // The pin is the caller's mistake, not the store's: say which input it was.
    throw new InputError("restoreSnapshot", (err as Error).message, { cause: err });
  }
}

async function runningAppVersion(stackId: string, service: string): Promise<string | undefined> {
  let replicas;
  try {
    replicas = await listContainers(engine(), {
      ...serviceSelector(stackId, service),
      [LABELS.role]: "app",
    });
  } catch (err) {
    throw new UserError(
      `cannot reach the Docker Engine at ${process.env.DOCKER_HOST ?? "the default socket"} ` +
        `to read what runs now: ${(err as Error).message}; start it (scripts/services start)`,
      { cause: err },
    );
  }
  // The newest running replica: during a swap both versions run, and the newer is the target.
  const running = replicas.filter((c) => c.state === "running");
  running.sort((a, b) => b.created - a.created);
  return running[0]?.labels[LABELS.version];
}

/** Why what runs now could not be read, and which input of the query was at fault, if one. */
export interface CurrentReleaseRefusal {
  readonly error: string;
  /** The query's field at fault (`restoreSnapshot`), when one is. */
  readonly input?: string;
}

/**
 * `rewind:index:getCurrentRelease`: what runs now, or the error a person can act on (as
 * `error`, so the program can report it as the user's, not as a failed call).
 */
export async function currentReleaseInvoke(
  query: CurrentReleaseQuery,
): Promise<CurrentRelease | CurrentReleaseRefusal> {
  try {
    // The wire has no `undefined`: absent fields are left out.
    return JSON.parse(JSON.stringify(await readCurrentRelease(query))) as CurrentRelease;
  } catch (err) {
    if (err instanceof InputError) {
      return { error: err.message, input: err.input };
    }
    if (err instanceof UserError) {
      return { error: err.message };
    }
    throw err;
  }
}
