// The plugin's package schema: each resource's inputs and outputs by name and type, so
// `pulumi package get-schema` and the engine see typed resources, not opaque dynamic ones.
import { GET_CURRENT_RELEASE, PACKAGE, ResourceType, token } from "../domain/resourceTypes";

type Kind = "string" | "integer" | "boolean" | "array" | "object";

interface Shape {
  readonly description: string;
  readonly inputs: Record<string, Kind>;
  /** What the state adds to the inputs. */
  readonly outputs: Record<string, Kind>;
  readonly secret?: readonly string[];
  /** Inputs a resource may be registered without. */
  readonly optional?: readonly string[];
}

const SHAPES: Record<ResourceType, Shape> = {
  ImageRef: {
    description: "A pinned image version resolved to its manifest digest.",
    inputs: {
      image: "string",
      version: "string",
      registryUsername: "string",
      registryPassword: "string",
    },
    outputs: { digest: "string", ref: "string" },
    secret: ["registryPassword"],
  },
  DockerDeployment: {
    description:
      "A service's replicas behind HAProxy on a Docker Engine (none without a port), swapped health-gated.",
    inputs: {
      service: "string",
      stackId: "string",
      ref: "string",
      version: "string",
      replicas: "integer",
      port: "integer",
      env: "object",
      command: "array",
      health: "object",
      proxyRef: "string",
      drainSeconds: "integer",
      registryUsername: "string",
      registryPassword: "string",
      mounts: "array",
    },
    outputs: {
      url: "string",
      proxyId: "string",
      proxyDir: "string",
      containers: "array",
    },
    secret: ["env", "registryPassword"],
    // A worker without HTTP has no port and so no proxy; mounts only when declared.
    optional: ["port", "proxyRef", "mounts"],
  },
  BackupSnapshot: {
    description: "A verified copy of the database and declared files in the backup store.",
    inputs: {
      databaseUrl: "string",
      database: "string",
      revision: "string",
      appVersion: "string",
      storePath: "string",
      include: "array",
      retain: "object",
      reason: "string",
      volumesRoot: "string",
      keep: "array",
      lockTimeoutSeconds: "integer",
    },
    outputs: {
      snapshotId: "string",
      sha256: "string",
      size: "integer",
      verified: "boolean",
      takenAt: "string",
      manifestPath: "string",
      pruned: "array",
      pruneError: "string",
    },
    secret: ["databaseUrl"],
  },
  Migration: {
    description: "One database at its pinned schema revision, migrated up or down under a lock.",
    inputs: {
      databaseUrl: "string",
      database: "string",
      tool: "string",
      migrationsDir: "string",
      fromRevision: "string",
      revision: "string",
      snapshotId: "string",
      snapshotDatabase: "string",
      snapshotRevision: "string",
      storePath: "string",
      lockTimeoutSeconds: "integer",
      image: "string",
      commandUp: "array",
      commandDown: "array",
      revisions: "array",
      env: "object",
      dockerHost: "string",
      alembicDir: "string",
      alembicConfig: "string",
      runner: "string",
      stopServices: "array",
      stackId: "string",
      restartStopped: "boolean",
    },
    outputs: { appliedSteps: "array" },
    secret: ["databaseUrl", "env"],
  },
  Restore: {
    description: "A verified snapshot restored with every process of the app stopped.",
    inputs: {
      databaseUrl: "string",
      database: "string",
      storePath: "string",
      snapshotId: "string",
      services: "array",
      stackId: "string",
      appVersion: "string",
      dockerHost: "string",
      kubeconfig: "string",
      namespace: "string",
      lockTimeoutSeconds: "integer",
    },
    outputs: {
      restoredRevision: "string",
      sha256: "string",
      restoredAt: "string",
      scaledDeployments: "array",
    },
    secret: ["databaseUrl", "kubeconfig"],
  },
  HealthGate: {
    description: "Probes, smoke requests and SQL checks after the app changed; fails the update.",
    inputs: {
      baseUrl: "string",
      live: "string",
      ready: "string",
      startup: "string",
      timeoutSeconds: "integer",
      smoke: "array",
      sql: "array",
      databaseUrl: "string",
      enabled: "boolean",
      tcp: "array",
      command: "array",
      image: "string",
    },
    outputs: { passed: "boolean", checkedAt: "string", results: "array" },
    secret: ["databaseUrl"],
  },
};

function properties(kinds: Record<string, Kind>, secret: readonly string[] = []) {
  return Object.fromEntries(
    Object.entries(kinds).map(([name, type]) => [
      name,
      {
        type,
        ...(type === "array" ? { items: { $ref: "pulumi.json#/Any" } } : {}),
        ...(type === "object" ? { additionalProperties: { $ref: "pulumi.json#/Any" } } : {}),
        ...(secret.includes(name) ? { secret: true } : {}),
      },
    ]),
  );
}

/** The schema document `GetSchema` returns. */
export function schema(version: string): Record<string, unknown> {
  const resources = Object.fromEntries(
    (Object.entries(SHAPES) as [ResourceType, Shape][]).map(([type, shape]) => [
      token(type),
      {
        description: shape.description,
        inputProperties: properties(shape.inputs, shape.secret),
        requiredInputs: Object.keys(shape.inputs).filter((k) => !shape.optional?.includes(k)),
        properties: properties({ ...shape.inputs, ...shape.outputs }, shape.secret),
        required: Object.keys({ ...shape.inputs, ...shape.outputs }).filter(
          (k) => !shape.optional?.includes(k),
        ),
      },
    ]),
  );
  return {
    name: PACKAGE,
    version,
    description: "Rewind: a service and its database, released and rolled back as desired state.",
    resources,
    functions: {
      [GET_CURRENT_RELEASE]: {
        description: "What runs now: the database's revision, the app version, the last restore.",
        inputs: {
          properties: properties({
            databaseUrl: "string",
            tool: "string",
            service: "string",
            stackId: "string",
            storePath: "string",
            restoreSnapshot: "string",
          }),
        },
        outputs: {
          properties: properties({
            deployed: "boolean",
            database: "string",
            revision: "string",
            appVersion: "string",
            restoredSnapshot: "string",
            restoreRevision: "string",
            error: "string",
            input: "string",
          }),
        },
      },
    },
  };
}
