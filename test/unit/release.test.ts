// Release under Pulumi's mocks, for each direction of the plan: exactly which children it
// declares (type, name, parent), the order `dependsOn` gives them, and what each receives. Mocks
// are set before the component is imported; any registration or call they do not expect fails.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { MIGRATION_DEFAULTS } from "./migrationDefaults";
import { recordingMocks, secret, value, typedInputs } from "./mocks";
import * as states from "./mockStates";
import { DIGEST, PROXY_DIGEST } from "./mockStates";

const URL = "postgres://rewind:pw@127.0.0.1:5432/hunter";
const SNAPSHOT = "20261126T010203Z-hunter-0001-3f9a";
const PINNED = "20261101T000000Z-hunter-0001-77aa";

const APP = "rewind:app:AppService";
const RELEASE = "rewind:index:Release";
const IMAGE = "rewind:index:ImageRef";
const DEPLOYMENT = "rewind:index:DockerDeployment";
const BACKUP = "rewind:index:BackupSnapshot";
const MIGRATION = "rewind:index:Migration";
const RESTORE = "rewind:index:Restore";
const GATE = "rewind:index:HealthGate";

const registrations = recordingMocks({
  [RELEASE]: states.component,
  [APP]: states.component,
  [IMAGE]: states.imageRef(),
  [DEPLOYMENT]: states.dockerDeployment,
  [BACKUP]: states.backupSnapshot(SNAPSHOT),
  [MIGRATION]: states.migration,
  [RESTORE]: states.restore(),
  [GATE]: states.healthGate,
});

// Imported after setMocks, as the SDK requires (a static import would be hoisted above it).
/* eslint-disable @typescript-eslint/no-require-imports */
const { Release } =
  require("../../components/release") as typeof import("../../components/release");
const { parseConfig } = require("../../domain/config") as typeof import("../../domain/config");
const { planRelease } = require("../../domain/planner") as typeof import("../../domain/planner");
/* eslint-enable @typescript-eslint/no-require-imports */
type ReleaseArgs = import("../../components/release").ReleaseArgs;
type Plan = import("../../domain/planner").Plan;

interface Pins {
  version: string;
  revision: string;
  snapshot?: string;
  gate?: boolean;
  beforeMigration?: boolean;
  env?: Record<string, string>;
  services?: {
    name: string;
    command?: string[];
    replicas?: number;
    port?: number;
    readiness?: { upSeconds: number } | { command: string[] };
  }[];
}

function config(pins: Pins) {
  return parseConfig("unit", {
    "rewind:app": {
      name: "hunter",
      image: "127.0.0.1:5000/hunter",
      version: pins.version,
      replicas: 2,
      port: 8000,
      env: pins.env ?? { LOG_LEVEL: "debug" },
      health: { startup: "/healthz/startup", timeoutSeconds: 30 },
      ...(pins.services ? { services: pins.services } : {}),
    },
    "rewind:database": {
      url: URL,
      migrations: { tool: "sql", dir: "migrations" },
      revision: pins.revision,
    },
    "rewind:backup": {
      store: { kind: "fs", path: "/srv/backups" },
      beforeMigration: pins.beforeMigration ?? true,
      include: ["database", "volume:sessions"],
      retain: { days: 7, keepAtLeast: 3 },
    },
    "rewind:restore": { snapshot: pins.snapshot ?? null },
    "rewind:gate": {
      enabled: pins.gate ?? true,
      smoke: [{ path: "/items" }],
      sql: [{ query: "SELECT 1 FROM items", minRows: 2 }],
    },
  });
}

interface Scenario {
  /** What runs now; undefined on the first deploy. */
  current?: { appVersion?: string; revision: string; restoredSnapshot?: string };
  pins: Pins;
  restoreRevision?: string;
  databaseUrl?: pulumi.Input<string>;
}

/** One row per constructed resource: type, name, parent's name, names it dependsOn. */
type Row = [type: string, name: string, parent: string | undefined, dependsOn: string[]];

interface Built {
  release: InstanceType<typeof Release>;
  plan: Plan;
  rows: Row[];
  /** Registered inputs by resource name, the serialized dynamic provider removed. */
  inputs: Map<string, Record<string, unknown>>;
  /** additionalSecretOutputs by resource name. */
  secretOutputs: Map<string, string[] | undefined>;
  /** Each resource's replacementTrigger option. */
  triggers: Map<string, pulumi.Input<unknown> | undefined>;
  /** Whether each child's parent is the Release itself (not merely one of the same name). */
  parentIsRelease: Map<string, boolean>;
}

async function nameOf(resource: pulumi.Resource): Promise<string> {
  return (await value(resource.urn)).split("::").pop()!;
}

async function build(name: string, scenario: Scenario): Promise<Built> {
  registrations.length = 0;
  const cfg = config(scenario.pins);
  const currentRevision = scenario.current?.revision ?? "base";
  const plan = planRelease({
    current: scenario.current,
    desired: {
      appVersion: cfg.app.version,
      revision: cfg.database.revision,
      restoreSnapshot: cfg.restore.snapshot,
    },
    irreversible: [],
    backupBeforeMigration: cfg.backup.beforeMigration,
    gateEnabled: cfg.gate.enabled,
  });
  const constructed: {
    type: string;
    name: string;
    parent?: pulumi.Resource;
    dependsOn: pulumi.Resource[];
    additionalSecretOutputs?: string[];
    replacementTrigger?: pulumi.Input<unknown>;
  }[] = [];
  const args: ReleaseArgs = {
    config: cfg,
    databaseUrl: scenario.databaseUrl ?? pulumi.secret(URL),
    database: "hunter",
    currentRevision,
    currentAppVersion: scenario.current?.appVersion,
    restoreRevision: scenario.restoreRevision,
    plan,
    migrationsDir: "/srv/hunter/migrations",
    storePath: "/srv/backups",
    stackId: "rewind/unit",
  };
  const release = new Release(name, args, {
    // Transformations run synchronously in each constructor, children included: by the time
    // `new Release` returns, every resource it declares is listed, with its options.
    transformations: [
      (t) => {
        constructed.push({
          type: t.type,
          name: t.name,
          parent: t.opts.parent,
          dependsOn: (t.opts.dependsOn ?? []) as pulumi.Resource[],
          additionalSecretOutputs: (t.opts as pulumi.CustomResourceOptions).additionalSecretOutputs,
          replacementTrigger: (t.opts as pulumi.CustomResourceOptions).replacementTrigger,
        });
        return undefined;
      },
    ],
  });
  // Registrations follow once each resource's inputs resolve.
  for (let waited = 0; registrations.length < constructed.length; waited += 10) {
    if (waited > 10_000) throw new Error(`only ${registrations.length} registrations`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.deepEqual(
    registrations.map((r) => `${r.type}::${r.name}`).sort(),
    constructed.map((c) => `${c.type}::${c.name}`).sort(),
    "every constructed resource registered once, nothing else",
  );
  const rows: Row[] = [];
  for (const c of constructed) {
    rows.push([
      c.type,
      c.name,
      c.parent === undefined ? undefined : await nameOf(c.parent),
      await Promise.all(c.dependsOn.map(nameOf)),
    ]);
  }
  const inputs = new Map(
    registrations.map((r) => [
      r.name,
      r.type.startsWith("rewind:index:") ? typedInputs(r) : r.inputs,
    ]),
  );
  return {
    release,
    plan,
    rows,
    inputs,
    secretOutputs: new Map(constructed.map((c) => [c.name, c.additionalSecretOutputs])),
    triggers: new Map(constructed.map((c) => [c.name, c.replacementTrigger])),
    parentIsRelease: new Map(constructed.map((c) => [c.name, c.parent === release])),
  };
}

/** The AppService's own children, which every direction declares the same way. */
function appChildren(release: string): Row[] {
  return [
    [IMAGE, `${release}-app-image`, `${release}-app`, []],
    [IMAGE, `${release}-app-proxy-image`, `${release}-app`, []],
    [DEPLOYMENT, `${release}-app-deployment`, `${release}-app`, []],
  ];
}

async function outputs(release: InstanceType<typeof Release>) {
  return {
    appVersion: await value(release.appVersion),
    digest: await value(release.digest),
    url: await value(release.url),
    revision: await value(release.revision),
    snapshotId: await value(release.snapshotId),
  };
}

/** The inputs, checked free of requestedAt: it is the snapshot's replacementTrigger. */
function withoutRequestedAt(inputs: Record<string, unknown>, _since: number) {
  assert.ok(!("requestedAt" in inputs), "requestedAt is a replacementTrigger, not an input");
  return inputs;
}

const GATE_INPUTS = {
  baseUrl: "http://127.0.0.1:8000",
  live: "/healthz/live",
  ready: "/healthz/ready",
  startup: "/healthz/startup",
  timeoutSeconds: 30,
  smoke: [{ path: "/items", expectStatus: 200 }],
  sql: [{ query: "SELECT 1 FROM items", minRows: 2 }],
  databaseUrl: secret(URL),
  enabled: true,
};

describe("Release", () => {
  test("upgrade: backup → migration → app → gate, each child's inputs exact", async () => {
    const since = Date.now();
    const built = await build("upgrade", {
      current: { appVersion: "1.0.0", revision: "0001" },
      pins: { version: "1.1.0", revision: "0002" },
    });
    assert.deepEqual(built.plan.steps, ["backup", "migrate", "app", "gate"]);
    assert.deepEqual(built.rows, [
      [RELEASE, "upgrade", undefined, []],
      [BACKUP, "upgrade-backup", "upgrade", []],
      [MIGRATION, "upgrade-migration", "upgrade", ["upgrade-backup"]],
      [APP, "upgrade-app", "upgrade", ["upgrade-migration"]],
      ...appChildren("upgrade"),
      [GATE, "upgrade-gate", "upgrade", ["upgrade-app"]],
    ]);
    for (const child of ["upgrade-backup", "upgrade-migration", "upgrade-app", "upgrade-gate"]) {
      assert.equal(built.parentIsRelease.get(child), true, `${child}: parent is the Release`);
    }

    assert.deepEqual(built.inputs.get("upgrade"), {});
    assert.deepEqual(withoutRequestedAt(built.inputs.get("upgrade-backup")!, since), {
      databaseUrl: secret(URL),
      database: "hunter",
      revision: "0001",
      appVersion: "1.0.0",
      storePath: "/srv/backups",
      include: ["database", "volume:sessions"],
      retain: { days: 7, keepAtLeast: 3 },
      reason: "migrate 0001->0002",
      volumesRoot: "/var/lib/rewind/volumes",
      keep: [],
      lockTimeoutSeconds: 60,
    });
    assert.deepEqual(built.inputs.get("upgrade-migration"), {
      databaseUrl: secret(URL),
      database: "hunter",
      tool: "sql",
      migrationsDir: "/srv/hunter/migrations",
      fromRevision: "0001",
      revision: "0002",
      // The BackupSnapshot's id, as its provider returned it: the migration is guarded by it.
      snapshotId: SNAPSHOT,
      snapshotDatabase: "hunter",
      snapshotRevision: "0001",
      storePath: "/srv/backups",
      ...MIGRATION_DEFAULTS,
    });
    assert.deepEqual(built.inputs.get("upgrade-app-deployment"), {
      service: "hunter",
      stackId: "rewind/unit",
      ref: `127.0.0.1:5000/hunter@${DIGEST}`,
      version: "1.1.0",
      replicas: 2,
      port: 8000,
      env: secret({ DATABASE_URL: URL, LOG_LEVEL: "debug" }),
      command: [],
      health: {
        live: "/healthz/live",
        ready: "/healthz/ready",
        startup: "/healthz/startup",
        timeoutSeconds: 30,
      },
      proxyRef: `127.0.0.1:5000/rewind-haproxy@${PROXY_DIGEST}`,
      drainSeconds: 30,
      registryUsername: "",
      registryPassword: secret(""),
    });
    assert.deepEqual(built.inputs.get("upgrade-app-image"), {
      image: "127.0.0.1:5000/hunter",
      version: "1.1.0",
      registryUsername: "",
      registryPassword: secret(""),
    });
    assert.deepEqual(built.inputs.get("upgrade-gate"), GATE_INPUTS);
    // The gate reruns when the app's digest or the schema's revision changes (replacementTrigger).
    assert.equal(await value(pulumi.output(built.triggers.get("upgrade-gate"))), `${DIGEST}@0002`);
    assert.deepEqual(built.secretOutputs.get("upgrade-backup"), ["databaseUrl"]);
    assert.deepEqual(built.secretOutputs.get("upgrade-migration"), ["databaseUrl", "env"]);
    assert.deepEqual(built.secretOutputs.get("upgrade-gate"), ["databaseUrl"]);
    assert.deepEqual(await outputs(built.release), {
      appVersion: "1.1.0",
      digest: DIGEST,
      url: "http://127.0.0.1:8000",
      revision: "0002",
      snapshotId: SNAPSHOT,
    });
  });

  test("downgrade: app → backup → migration → gate, the backup at the revision left", async () => {
    const since = Date.now();
    const built = await build("downgrade", {
      current: { appVersion: "1.1.0", revision: "0002" },
      pins: { version: "1.0.0", revision: "0001" },
    });
    assert.deepEqual(built.plan.steps, ["app", "backup", "migrate", "gate"]);
    assert.deepEqual(built.rows, [
      [RELEASE, "downgrade", undefined, []],
      [APP, "downgrade-app", "downgrade", []],
      ...appChildren("downgrade"),
      [BACKUP, "downgrade-backup", "downgrade", ["downgrade-app"]],
      [MIGRATION, "downgrade-migration", "downgrade", ["downgrade-backup"]],
      [GATE, "downgrade-gate", "downgrade", ["downgrade-migration"]],
    ]);
    const backup = withoutRequestedAt(built.inputs.get("downgrade-backup")!, since);
    assert.equal(backup.revision, "0002");
    assert.equal(backup.appVersion, "1.1.0");
    assert.equal(backup.reason, "migrate 0002->0001");
    const migration = built.inputs.get("downgrade-migration")!;
    assert.deepEqual(
      [
        migration.fromRevision,
        migration.revision,
        migration.snapshotId,
        migration.snapshotRevision,
      ],
      ["0002", "0001", SNAPSHOT, "0002"],
    );
    assert.deepEqual(built.inputs.get("downgrade-gate"), GATE_INPUTS);
    // The gate reruns when the app's digest or the schema's revision changes (replacementTrigger).
    assert.equal(
      await value(pulumi.output(built.triggers.get("downgrade-gate"))),
      `${DIGEST}@0001`,
    );
    assert.equal(built.inputs.get("downgrade-app-deployment")!.version, "1.0.0");
    assert.deepEqual(await outputs(built.release), {
      appVersion: "1.0.0",
      digest: DIGEST,
      url: "http://127.0.0.1:8000",
      revision: "0001",
      snapshotId: SNAPSHOT,
    });
  });

  test("restore: restore (it stops the app) → migration → app → gate, no backup", async () => {
    const built = await build("restore", {
      current: { appVersion: "1.1.0", revision: "0002" },
      pins: { version: "1.0.0", revision: "0001", snapshot: PINNED },
      restoreRevision: "0001",
    });
    assert.deepEqual(built.plan.steps, ["stop-app", "restore", "app", "gate"]);
    assert.deepEqual(built.rows, [
      [RELEASE, "restore", undefined, []],
      [RESTORE, "restore-restore", "restore", []],
      [MIGRATION, "restore-migration", "restore", ["restore-restore"]],
      [APP, "restore-app", "restore", ["restore-migration"]],
      ...appChildren("restore"),
      [GATE, "restore-gate", "restore", ["restore-app"]],
    ]);
    assert.deepEqual(built.inputs.get("restore-restore"), {
      databaseUrl: secret(URL),
      database: "hunter",
      storePath: "/srv/backups",
      snapshotId: PINNED,
      services: ["hunter"],
      stackId: "rewind/unit",
      // After the restore only this version may start on the restored schema (defect 4).
      appVersion: "1.0.0",
      dockerHost: "",
      kubeconfig: "",
      namespace: "",
      lockTimeoutSeconds: 60,
    });
    assert.deepEqual(built.secretOutputs.get("restore-restore"), ["databaseUrl", "kubeconfig"]);
    const migration = built.inputs.get("restore-migration")!;
    // After the restore the schema is at the snapshot's revision: the migration only confirms
    // it, so it needs no snapshot of its own.
    assert.deepEqual(
      [
        migration.fromRevision,
        migration.revision,
        migration.snapshotId,
        migration.snapshotRevision,
      ],
      ["0001", "0001", "", ""],
    );
    assert.deepEqual(migration.databaseUrl, secret(URL));
    assert.deepEqual(await outputs(built.release), {
      appVersion: "1.0.0",
      digest: DIGEST,
      url: "http://127.0.0.1:8000",
      revision: "0001",
      snapshotId: PINNED,
    });
  });

  test("a worker beside the API: its own AppService in the app's step; the gate waits for both, a restore stops both", async () => {
    const worker = { name: "worker", command: ["node", "worker.js"], replicas: 3, port: 8100 };
    const built = await build("workers", {
      current: { appVersion: "1.1.0", revision: "0002" },
      pins: { version: "1.0.0", revision: "0002", services: [worker] },
    });
    assert.deepEqual(built.rows, [
      [RELEASE, "workers", undefined, []],
      [MIGRATION, "workers-migration", "workers", []],
      [APP, "workers-app", "workers", ["workers-migration"]],
      ...appChildren("workers"),
      [APP, "workers-service-worker", "workers", ["workers-migration"]],
      [IMAGE, "workers-service-worker-image", "workers-service-worker", []],
      [IMAGE, "workers-service-worker-proxy-image", "workers-service-worker", []],
      [DEPLOYMENT, "workers-service-worker-deployment", "workers-service-worker", []],
      [GATE, "workers-gate", "workers", ["workers-app", "workers-service-worker"]],
    ]);
    const api = built.inputs.get("workers-app-deployment")!;
    assert.deepEqual(built.inputs.get("workers-service-worker-deployment"), {
      ...api,
      service: "worker",
      command: ["node", "worker.js"],
      replicas: 3,
      port: 8100,
    });
    assert.deepEqual(api.env, secret({ DATABASE_URL: URL, LOG_LEVEL: "debug" }));

    const restored = await build("restoreworkers", {
      current: { appVersion: "1.1.0", revision: "0002" },
      pins: { version: "1.0.0", revision: "0001", snapshot: PINNED, services: [worker] },
      restoreRevision: "0001",
    });
    assert.deepEqual(restored.inputs.get("restoreworkers-restore")!.services, ["hunter", "worker"]);
  });

  test("a worker without a port: no proxy image, no port or proxy; ready by its readiness, the gate waits for it", async () => {
    const worker = { name: "celery", command: ["celery", "worker"], readiness: { upSeconds: 5 } };
    const built = await build("celery", {
      current: { appVersion: "1.1.0", revision: "0002" },
      pins: { version: "1.0.0", revision: "0002", services: [worker] },
    });
    assert.deepEqual(built.rows, [
      [RELEASE, "celery", undefined, []],
      [MIGRATION, "celery-migration", "celery", []],
      [APP, "celery-app", "celery", ["celery-migration"]],
      ...appChildren("celery"),
      [APP, "celery-service-celery", "celery", ["celery-migration"]],
      [IMAGE, "celery-service-celery-image", "celery-service-celery", []],
      [DEPLOYMENT, "celery-service-celery-deployment", "celery-service-celery", []],
      [GATE, "celery-gate", "celery", ["celery-app", "celery-service-celery"]],
    ]);
    const withoutFrontDoor = ({
      port: _port,
      proxyRef: _proxyRef,
      ...rest
    }: Record<string, unknown>) => rest;
    const api = withoutFrontDoor(built.inputs.get("celery-app-deployment")!);
    assert.deepEqual(built.inputs.get("celery-service-celery-deployment"), {
      ...api,
      service: "celery",
      command: ["celery", "worker"],
      replicas: 1,
      health: { ...(api.health as object), upSeconds: 5 },
    });
  });

  test("app-only: the unchanged migration first, then app → gate, no backup", async () => {
    const built = await build("apponly", {
      current: { appVersion: "1.1.0", revision: "0002" },
      pins: { version: "1.0.0", revision: "0002" },
    });
    assert.deepEqual(built.plan.steps, ["app", "gate"]);
    assert.deepEqual(built.rows, [
      [RELEASE, "apponly", undefined, []],
      [MIGRATION, "apponly-migration", "apponly", []],
      [APP, "apponly-app", "apponly", ["apponly-migration"]],
      ...appChildren("apponly"),
      [GATE, "apponly-gate", "apponly", ["apponly-app"]],
    ]);
    const migration = built.inputs.get("apponly-migration")!;
    assert.deepEqual(
      [migration.fromRevision, migration.revision, migration.snapshotId],
      ["0002", "0002", ""],
    );
    assert.deepEqual(await outputs(built.release), {
      appVersion: "1.0.0",
      digest: DIGEST,
      url: "http://127.0.0.1:8000",
      revision: "0002",
      snapshotId: null,
    });
  });

  test("initial: backup of the empty database → migration → app → gate", async () => {
    const since = Date.now();
    const built = await build("initial", { pins: { version: "1.0.0", revision: "0001" } });
    assert.equal(built.plan.direction, "initial");
    assert.deepEqual(built.rows, [
      [RELEASE, "initial", undefined, []],
      [BACKUP, "initial-backup", "initial", []],
      [MIGRATION, "initial-migration", "initial", ["initial-backup"]],
      [APP, "initial-app", "initial", ["initial-migration"]],
      ...appChildren("initial"),
      [GATE, "initial-gate", "initial", ["initial-app"]],
    ]);
    const backup = withoutRequestedAt(built.inputs.get("initial-backup")!, since);
    assert.deepEqual(
      [backup.revision, backup.appVersion, backup.reason],
      ["base", "none", "migrate base->0001"],
    );
    const migration = built.inputs.get("initial-migration")!;
    assert.deepEqual(
      [migration.fromRevision, migration.revision, migration.snapshotId],
      ["base", "0001", SNAPSHOT],
    );
  });

  test("initial at base: no backup, the migration then app → gate", async () => {
    const built = await build("empty", { pins: { version: "1.0.0", revision: "base" } });
    assert.deepEqual(built.plan.steps, ["app", "gate"]);
    assert.deepEqual(
      built.rows.filter((r) => r[2] === "empty"),
      [
        [MIGRATION, "empty-migration", "empty", []],
        [APP, "empty-app", "empty", ["empty-migration"]],
        [GATE, "empty-gate", "empty", ["empty-app"]],
      ],
    );
  });

  test("gate disabled: no HealthGate is declared", async () => {
    const built = await build("nogate", {
      current: { appVersion: "1.0.0", revision: "0001" },
      pins: { version: "1.1.0", revision: "0002", gate: false },
    });
    assert.deepEqual(
      built.rows.filter((r) => r[2] === "nogate"),
      [
        [BACKUP, "nogate-backup", "nogate", []],
        [MIGRATION, "nogate-migration", "nogate", ["nogate-backup"]],
        [APP, "nogate-app", "nogate", ["nogate-migration"]],
      ],
    );
  });

  test("backup.beforeMigration false: no backup, the migration's snapshotId is empty", async () => {
    const built = await build("nobackup", {
      current: { appVersion: "1.0.0", revision: "0001" },
      pins: { version: "1.1.0", revision: "0002", beforeMigration: false, env: {} },
    });
    assert.deepEqual(
      built.rows.filter((r) => r[2] === "nobackup"),
      [
        [MIGRATION, "nobackup-migration", "nobackup", []],
        [APP, "nobackup-app", "nobackup", ["nobackup-migration"]],
        [GATE, "nobackup-gate", "nobackup", ["nobackup-app"]],
      ],
    );
    const migration = built.inputs.get("nobackup-migration")!;
    assert.deepEqual([migration.snapshotId, migration.snapshotRevision], ["", ""]);
  });

  test("rewind:app.env may set its own DATABASE_URL; the env stays a secret", async () => {
    const built = await build("ownurl", {
      current: { appVersion: "1.0.0", revision: "0001" },
      pins: {
        version: "1.0.1",
        revision: "0001",
        env: { DATABASE_URL: "postgres://app:pw@pgbouncer:6432/hunter" },
      },
    });
    assert.deepEqual(
      built.inputs.get("ownurl-app-deployment")!.env,
      secret({ DATABASE_URL: "postgres://app:pw@pgbouncer:6432/hunter" }),
    );
  });

  test("a plain database URL still reaches every child as a secret", async () => {
    const built = await build("plainurl", {
      current: { appVersion: "1.0.0", revision: "0001" },
      pins: { version: "1.1.0", revision: "0002" },
      databaseUrl: URL,
    });
    for (const child of ["plainurl-backup", "plainurl-migration", "plainurl-gate"]) {
      assert.deepEqual(built.inputs.get(child)!.databaseUrl, secret(URL), child);
    }
    assert.deepEqual(
      built.inputs.get("plainurl-app-deployment")!.env,
      secret({ DATABASE_URL: URL, LOG_LEVEL: "debug" }),
    );
  });
});
