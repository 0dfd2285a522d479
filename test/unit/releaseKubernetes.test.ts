// Release on the Kubernetes target under Pulumi's mocks: the same order and database steps as on
// Docker, the app as KubernetesServices (ImageRef, env Secret, Deployment, Service) through one
// Kubernetes provider, and a restore that names the cluster. Mocks are set before the component
// is imported; any registration or call they do not expect fails.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { recordingMocks, secret, value } from "./mocks";
import * as states from "./mockStates";
import { DIGEST } from "./mockStates";

const URL = "postgres://rewind:pw@10.0.0.5:5432/hunter";
const KUBECONFIG = "apiVersion: v1\nkind: Config\n";
const SNAPSHOT = "20261126T010203Z-hunter-0001-3f9a";
const PINNED = "20261101T000000Z-hunter-0001-77aa";

const RELEASE = "rewind:index:Release";
const SERVICE = "rewind:app:KubernetesService";
const PROVIDER = "pulumi:providers:kubernetes";
const IMAGE = "rewind:index:ImageRef";
const SECRET = "kubernetes:core/v1:Secret";
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const K8S_SERVICE = "kubernetes:core/v1:Service";
const BACKUP = "rewind:index:BackupSnapshot";
const MIGRATION = "rewind:index:Migration";
const RESTORE = "rewind:index:Restore";
const GATE = "rewind:index:HealthGate";
const JOB = "kubernetes:batch/v1:Job";

const registrations = recordingMocks({
  [RELEASE]: states.component,
  [SERVICE]: states.component,
  [PROVIDER]: (inputs) => ({ id: "k8s-provider", state: inputs }),
  [IMAGE]: states.imageRef(),
  [SECRET]: (inputs) => ({
    id: "hunter/hunter-env",
    state: { ...inputs, metadata: { ...(inputs.metadata as object), resourceVersion: "7" } },
  }),
  [DEPLOYMENT]: (inputs) => ({ id: "hunter/hunter", state: inputs }),
  [K8S_SERVICE]: (inputs) => ({
    id: "hunter/hunter",
    state: { ...inputs, spec: { ...(inputs.spec as object), clusterIP: "10.96.0.42" } },
  }),
  [BACKUP]: states.backupSnapshot(SNAPSHOT),
  [MIGRATION]: states.migration,
  [RESTORE]: states.restore(),
  [GATE]: states.healthGate,
  [JOB]: (inputs) => ({ id: "hunter/up-migration-job-1", state: inputs }),
});

/* eslint-disable @typescript-eslint/no-require-imports */
const { Release } =
  require("../../components/release") as typeof import("../../components/release");
const { parseConfig } = require("../../domain/config") as typeof import("../../domain/config");
const { planRelease } = require("../../domain/planner") as typeof import("../../domain/planner");
/* eslint-enable @typescript-eslint/no-require-imports */

function config(
  version: string,
  revision: string,
  snapshot: string | null = null,
  migrations: Record<string, unknown> = { tool: "sql", dir: "migrations" },
) {
  return parseConfig("unit", {
    "rewind:app": {
      name: "hunter",
      image: "127.0.0.1:5000/hunter",
      version,
      replicas: 2,
      port: 8000,
      env: { LOG_LEVEL: "debug" },
      health: { timeoutSeconds: 30 },
      services: [{ name: "worker", port: 8001, command: ["node", "worker.js"] }],
    },
    "rewind:database": { url: URL, migrations, revision },
    "rewind:backup": { store: { kind: "fs", path: "/srv/backups" } },
    "rewind:restore": { snapshot },
    "rewind:target": "kubernetes",
    "rewind:kubernetes": { kubeconfig: KUBECONFIG, namespace: "hunter" },
  });
}

async function build(
  name: string,
  current: { appVersion: string; revision: string },
  cfg: ReturnType<typeof config>,
  restoreRevision?: string,
) {
  registrations.length = 0;
  const plan = planRelease({
    current,
    desired: {
      appVersion: cfg.app.version,
      revision: cfg.database.revision,
      restoreSnapshot: cfg.restore.snapshot,
    },
    irreversible: [],
    order:
      cfg.database.migrations.tool === "alembic" ? cfg.database.migrations.revisions : undefined,
    backupBeforeMigration: cfg.backup.beforeMigration,
    gateEnabled: cfg.gate.enabled,
  });
  const constructed: { type: string; name: string; dependsOn: pulumi.Resource[] }[] = [];
  const release = new Release(
    name,
    {
      config: cfg,
      databaseUrl: URL,
      database: "hunter",
      currentRevision: current.revision,
      currentAppVersion: current.appVersion,
      restoreRevision,
      plan,
      migrationsDir: "/srv/hunter/migrations",
      storePath: "/srv/backups",
      stackId: "rewind/unit",
    },
    {
      transformations: [
        (t) => {
          constructed.push({
            type: t.type,
            name: t.name,
            dependsOn: (t.opts.dependsOn ?? []) as pulumi.Resource[],
          });
          return undefined;
        },
      ],
    },
  );
  for (let waited = 0; registrations.length < constructed.length; waited += 10) {
    if (waited > 10_000) throw new Error(`only ${registrations.length} registrations`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const names = async (deps: pulumi.Resource[]) =>
    Promise.all(deps.map(async (d) => (await value(d.urn)).split("::").pop()!));
  const rows: [string, string, string[]][] = [];
  for (const c of constructed) rows.push([c.type, c.name, await names(c.dependsOn)]);
  const inputs = new Map(registrations.map((r) => [r.name, r.inputs]));
  return { release, plan, rows, inputs };
}

/** A KubernetesService's children. */
function serviceChildren(name: string): [string, string, string[]][] {
  return [
    [IMAGE, `${name}-image`, []],
    [SECRET, `${name}-env`, []],
    [DEPLOYMENT, `${name}-deployment`, [`${name}-env`]],
    [K8S_SERVICE, `${name}-service`, []],
  ];
}

describe("Release on the kubernetes target", () => {
  test("upgrade: backup → migration → a Deployment and Service per service → gate", async () => {
    const built = await build(
      "up",
      { appVersion: "1.0.0", revision: "0001" },
      config("1.1.0", "0002"),
    );
    assert.deepEqual(built.rows, [
      [RELEASE, "up", []],
      [PROVIDER, "up-kubernetes", []],
      [BACKUP, "up-backup", []],
      [MIGRATION, "up-migration", ["up-backup"]],
      [SERVICE, "up-app", ["up-migration"]],
      ...serviceChildren("up-app"),
      [SERVICE, "up-service-worker", ["up-migration"]],
      ...serviceChildren("up-service-worker"),
      [GATE, "up-gate", ["up-app", "up-service-worker"]],
    ]);
    // The kubeconfig is a secret in the provider's state.
    assert.deepEqual(built.inputs.get("up-kubernetes")!.kubeconfig, secret(KUBECONFIG));
    assert.equal(built.inputs.get("up-kubernetes")!.namespace, "hunter");
    // The env, with the database URL, only in a Secret, and secret in the state.
    assert.deepEqual(
      built.inputs.get("up-app-env")!.stringData,
      secret({ DATABASE_URL: URL, LOG_LEVEL: "debug" }),
    );
    const deployment = built.inputs.get("up-app-deployment") as {
      metadata: Record<string, unknown>;
      spec: {
        replicas: number;
        strategy: unknown;
        template: {
          metadata: { annotations: Record<string, string> };
          spec: { containers: Record<string, unknown>[] };
        };
      };
    };
    assert.deepEqual(deployment.metadata.name, "hunter");
    assert.deepEqual(deployment.metadata.namespace, "hunter");
    assert.equal(deployment.spec.replicas, 2);
    assert.deepEqual(deployment.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    assert.equal(deployment.spec.template.metadata.annotations["rewind.dev/env-version"], "7");
    const [container] = deployment.spec.template.spec.containers;
    assert.equal(container.image, `127.0.0.1:5000/hunter@${DIGEST}`);
    assert.deepEqual(container.readinessProbe, {
      httpGet: { path: "/healthz/ready", port: 8000 },
      periodSeconds: 1,
      timeoutSeconds: 1,
      failureThreshold: 2,
    });
    assert.equal(JSON.stringify(container).includes("pw@"), false, "no credentials in the spec");
    const worker = built.inputs.get("up-service-worker-deployment") as typeof deployment;
    assert.deepEqual(worker.spec.template.spec.containers[0].args, ["node", "worker.js"]);
    assert.equal(worker.metadata.name, "worker");
    // The gate probes the Service through its cluster IP.
    assert.equal(built.inputs.get("up-gate")!.baseUrl, "http://10.96.0.42:8000");
    assert.equal(await value(built.release.url), "http://10.96.0.42:8000");
    assert.equal(await value(built.release.digest), DIGEST);
  });

  test("restore: the Restore scales every service's Deployment in the namespace", async () => {
    const built = await build(
      "re",
      { appVersion: "1.0.0", revision: "0001" },
      config("1.0.0", "0001", PINNED),
      "0001",
    );
    assert.deepEqual(built.plan.direction, "restore");
    assert.deepEqual(built.rows.slice(0, 3), [
      [RELEASE, "re", []],
      [PROVIDER, "re-kubernetes", []],
      [RESTORE, "re-restore", []],
    ]);
    const restore = built.inputs.get("re-restore")!;
    assert.deepEqual(restore.services, ["hunter", "worker"]);
    assert.deepEqual(restore.kubeconfig, secret(KUBECONFIG));
    assert.equal(restore.namespace, "hunter");
  });

  test("alembic: a Job in the image migrates, then the Migration reads the revision back", async () => {
    const alembic = { tool: "alembic", dir: "/app", revisions: ["a1", "b2"] };
    const built = await build(
      "al",
      { appVersion: "1.0.0", revision: "a1" },
      config("1.1.0", "b2", null, alembic),
    );
    assert.deepEqual(built.rows.slice(0, 7), [
      [RELEASE, "al", []],
      [PROVIDER, "al-kubernetes", []],
      [BACKUP, "al-backup", []],
      [IMAGE, "al-migration-image", []],
      [SECRET, "al-migration-env", []],
      [JOB, "al-migration-job", ["al-backup"]],
      [MIGRATION, "al-migration", ["al-backup", "al-migration-job"]],
    ]);
    assert.deepEqual(
      built.inputs.get("al-migration-env")!.stringData,
      secret({ DATABASE_URL: URL, LOG_LEVEL: "debug" }),
    );
    const job = built.inputs.get("al-migration-job") as {
      metadata: { namespace: string; annotations: Record<string, string> };
      spec: { backoffLimit: number; template: { spec: { containers: Record<string, unknown>[] } } };
    };
    assert.equal(job.metadata.namespace, "hunter");
    assert.equal(job.metadata.annotations["pulumi.com/replaceUnready"], "true");
    assert.equal(job.spec.backoffLimit, 0);
    const [container] = job.spec.template.spec.containers;
    assert.equal(container.image, `127.0.0.1:5000/hunter@${DIGEST}`);
    assert.deepEqual(container.command, ["alembic", "upgrade", "b2"]);
    assert.equal(container.workingDir, "/app");
    assert.equal(built.inputs.get("al-migration")!.runner, "kubernetes-job");
  });
});
