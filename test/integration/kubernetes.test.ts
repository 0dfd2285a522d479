// The release and rollback journey of release.test.ts, on the Kubernetes target (#12): the real
// program through the real Pulumi CLI and @pulumi/kubernetes, on the cluster of scripts/cluster,
// pods pulling the hunter images from the local registry, PostgreSQL of scripts/services. Each
// step asserts what an operator checks: the version the Service serves, the schema revision, the
// rows and their checksum, the Deployments as the cluster reports them.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { readDatabaseRevision } from "../../adapters/postgres";
import { readManifest } from "../../adapters/backupStore";
import { countPods, deploymentReplicas, kubernetesApi } from "../../adapters/kubernetes";
import {
  DRAIN_SECONDS,
  KUBERNETES_ANNOTATIONS,
  KUBERNETES_LABELS,
} from "../../domain/kubernetesManifest";
import { TestDatabase, columnsOfItems, createDatabase, itemsChecksum, sql } from "./postgres";
import { expectCode, rewind } from "./rewindCli";
import {
  hunterStackConfig,
  repoRoot,
  requireToolchainEnv,
  timed,
  uniqueStackName,
} from "./workspace";
import {
  clusterEnv,
  createNamespace,
  forwardToLoopback,
  hostAddress,
  inlineKubeconfig,
  kubectl,
  viaForwarder,
} from "../support/cluster";
import { Poller } from "../../bench/lib";

const quiet = { onOutput: () => undefined };
const ITEM_COLUMNS = ["id", "name"] as const;
const PORT = 8000;
const WORKER_PORT = 8001;

interface DeploymentJson {
  metadata: { annotations: Record<string, string> };
  spec: {
    replicas: number;
    strategy: { rollingUpdate: { maxUnavailable: number } };
    template: { spec: { containers: { image: string; readinessProbe?: unknown }[] } };
  };
  status: { readyReplicas?: number; updatedReplicas?: number };
}

describe("a release's life on the Kubernetes target", () => {
  let stack: Stack;
  let env: Record<string, string>;
  let namespace: { name: string; remove: () => void };
  let forwarder: { port: number; close: () => Promise<void> };
  let dbUrl: string;
  let appUrl: string;
  let store: string;
  let db: TestDatabase;
  let checksum0001: { count: number; md5: string };
  let snapshotAt0001: string;
  let digest100: string;
  let digest110: string;

  const pin = (values: Record<string, string>) =>
    stack.setAllConfig(
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])),
      true,
    );
  const deployment = (name = "hunter") =>
    JSON.parse(
      kubectl(env, ["-n", namespace.name, "get", "deployment", name, "-o", "json"]),
    ) as DeploymentJson;
  const served = async () =>
    ((await (await fetch(`${appUrl}/version`)).json()) as { version: string }).version;
  const image = (digest: string) => `${process.env.REWIND_REGISTRY}/hunter@${digest}`;
  /**
   * Waits until every hunter pod runs `version`. A rollout returns once the new pods are ready;
   * the old ones still answer through their preStop sleep and SIGTERM, so the next step's client
   * could meet them.
   */
  const drained = async (version: string) => {
    const boundMs = (DRAIN_SECONDS + 10 + 30) * 1000;
    const deadline = Date.now() + boundMs;
    for (;;) {
      const pods = JSON.parse(
        kubectl(env, [
          "-n",
          namespace.name,
          "get",
          "pods",
          "-l",
          `${KUBERNETES_LABELS.name}=hunter`,
          "-o",
          "json",
        ]),
      ) as { items: { metadata: { name: string; annotations?: Record<string, string> } }[] };
      const others = pods.items.filter(
        (p) => p.metadata.annotations?.[KUBERNETES_ANNOTATIONS.version] !== version,
      );
      if (others.length === 0) return;
      if (Date.now() >= deadline) {
        assert.fail(
          `hunter pods not on ${version} after ${boundMs / 1000}s: ` +
            others.map((p) => p.metadata.name).join(", "),
        );
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  /** Polls the Service every 20 ms, a fresh connection each time, from the host. */
  const watch = () => {
    const poller = new Poller(`${appUrl}/version`);
    const seen: string[] = [];
    const record = setInterval(() => {
      const v = poller.lastBody && (JSON.parse(poller.lastBody) as { version: string }).version;
      if (v && seen.at(-1) !== v) seen.push(v);
    }, 5);
    poller.start();
    return async () => {
      const counts = await poller.stop();
      clearInterval(record);
      return { ...counts, seen };
    };
  };

  before(async () => {
    requireToolchainEnv();
    env = clusterEnv();
    namespace = createNamespace(env, "it-k8s");
    store = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-k8s-store-"));
    db = await createDatabase();
    const host = hostAddress();
    forwarder = await forwardToLoopback(host, Number(new URL(db.url).port));
    dbUrl = viaForwarder(db.url, host, forwarder.port);
    stack = await LocalWorkspace.createStack({
      stackName: uniqueStackName("it-k8s"),
      workDir: repoRoot,
    });
    await stack.setAllConfig(
      {
        ...hunterStackConfig({ registry: process.env.REWIND_REGISTRY!, port: PORT, dbUrl, store }),
        "rewind:app.health.timeoutSeconds": { value: "40" },
        "rewind:app.services[0].name": { value: "worker" },
        "rewind:app.services[0].port": { value: String(WORKER_PORT) },
        "rewind:target": { value: "kubernetes" },
        "rewind:kubernetes.kubeconfig": { value: inlineKubeconfig(env), secret: true },
        "rewind:kubernetes.namespace": { value: namespace.name },
      },
      true,
    );
  });

  after(async () => {
    try {
      await stack?.destroy(quiet);
      await stack?.workspace.removeStack(stack.name);
    } finally {
      namespace?.remove();
      await forwarder?.close();
      await db?.drop();
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  test("1. release 1.0.0 at 0001: a Deployment per service, pinned by digest, probed", async () => {
    await pin({ "rewind:app.version": "1.0.0", "rewind:database.revision": "0001" });
    const result = await timed("up 1.0.0 (first)", () => stack.up(quiet));
    assert.equal(result.outputs.appVersion.value, "1.0.0");
    digest100 = result.outputs.digest.value as string;
    assert.match(digest100, /^sha256:[0-9a-f]{64}$/);
    appUrl = result.outputs.url.value as string;
    assert.match(appUrl, new RegExp(`^http://10\\.96\\.\\d+\\.\\d+:${PORT}$`));
    assert.equal(await served(), "1.0.0");
    assert.equal(await readDatabaseRevision(dbUrl), "0001");
    checksum0001 = await itemsChecksum(dbUrl, ITEM_COLUMNS);
    assert.equal(checksum0001.count, 100);

    const d = deployment();
    assert.equal(d.spec.template.spec.containers[0].image, image(digest100));
    assert.ok(d.spec.template.spec.containers[0].readinessProbe, "a readiness probe");
    assert.equal(d.spec.strategy.rollingUpdate.maxUnavailable, 0);
    assert.equal(d.status.readyReplicas, 2);
    assert.equal(d.metadata.annotations["rewind.dev/version"], "1.0.0");
    assert.equal(deployment("worker").status.readyReplicas, 1);
    // The database URL is in a Secret, not in the Deployment's spec.
    assert.ok(!JSON.stringify(d.spec).includes(new URL(dbUrl).password));
  });

  test("2. upgrade to 1.1.0 at 0002: a verified snapshot first, then the migration", async () => {
    await pin({ "rewind:app.version": "1.1.0", "rewind:database.revision": "0002" });
    const result = await timed("up 1.1.0 (backup, migrate, roll out)", () => stack.up(quiet));
    assert.equal(result.outputs.direction.value, "upgrade");
    digest110 = result.outputs.digest.value as string;
    assert.notEqual(digest110, digest100);
    snapshotAt0001 = result.outputs.snapshotId.value as string;
    const manifest = readManifest(store, snapshotAt0001);
    assert.equal(manifest.revision, "0001");
    assert.equal(manifest.appVersion, "1.0.0");
    assert.equal(await served(), "1.1.0");
    assert.equal(await readDatabaseRevision(dbUrl), "0002");
    assert.equal(deployment().spec.template.spec.containers[0].image, image(digest110));
    await drained("1.1.0");
  });

  test("3. roll back by pin: 0 failed requests on the Service, then the migration down", async () => {
    await pin({ "rewind:app.version": "1.0.0", "rewind:database.revision": "0001" });
    const stop = watch();
    const result = await timed("up 1.0.0 (rollback by pin)", () => stack.up(quiet));
    const traffic = await stop();
    assert.equal(result.outputs.direction.value, "downgrade");
    assert.equal(traffic.failed, 0, `${traffic.failed} of ${traffic.ok + traffic.failed} failed`);
    assert.ok(traffic.ok > 50, `the client kept asking (${traffic.ok} answers)`);
    // A rolling update serves both versions for a while (the Service balances over old and new
    // ready pods); it starts on 1.1.0 and ends on 1.0.0.
    assert.equal(traffic.seen[0], "1.1.0");
    assert.equal(traffic.seen.at(-1), "1.0.0");
    assert.deepEqual([...new Set(traffic.seen)].sort(), ["1.0.0", "1.1.0"]);
    assert.equal(await readDatabaseRevision(dbUrl), "0001");
    assert.ok(!(await columnsOfItems(dbUrl)).includes("slug"));
    assert.deepEqual(await itemsChecksum(dbUrl, ITEM_COLUMNS), checksum0001);
    assert.equal(deployment().spec.template.spec.containers[0].image, image(digest100));
    await drained("1.0.0");
  });

  test("4. a bad version is rolled back by itself, and 1.0.0 serves throughout", async () => {
    const stop = watch();
    const bad = await timed("rewind release 1.2.0-bad (fails, rolls back)", () =>
      rewind(repoRoot, stack.name, "release", "--set", "rewind:app.version=1.2.0-bad"),
    );
    const traffic = await stop();
    expectCode(bad, 1, "release 1.2.0-bad");
    assert.match(bad.stdout, /^Release failed and was rolled back to update \d+ \(app-only\)/m);
    assert.equal(traffic.failed, 0, `${traffic.failed} failed while 1.2.0-bad was tried`);
    assert.deepEqual(traffic.seen, ["1.0.0"]);
    assert.equal(await served(), "1.0.0");
    const d = deployment();
    assert.equal(d.spec.template.spec.containers[0].image, image(digest100));
    assert.equal(d.status.readyReplicas, 2);
    assert.equal((await stack.getConfig("rewind:app.version", true)).value, "1.0.0");
  });

  test("5. drift: a Deployment edited by hand shows in refresh, and up heals it", async () => {
    kubectl(env, [
      "-n",
      namespace.name,
      "set",
      "image",
      "deployment/hunter",
      `hunter=${image(digest110)}`,
    ]);
    kubectl(env, ["-n", namespace.name, "rollout", "status", "deployment/hunter", "--timeout=90s"]);
    const refreshed = await timed("refresh", () => stack.refresh(quiet));
    assert.ok((refreshed.summary.resourceChanges?.update ?? 0) >= 1, "refresh saw a change");
    const state = await stack.exportStack();
    const recorded = state.deployment.resources.find(
      (r: { type: string; urn: string }) =>
        r.type === "kubernetes:apps/v1:Deployment" && r.urn.endsWith("hunter-app-deployment"),
    );
    assert.equal(
      recorded.outputs.spec.template.spec.containers[0].image,
      image(digest110),
      "the state records what the cluster runs",
    );
    const preview = await stack.preview(quiet);
    assert.ok((preview.changeSummary.update ?? 0) >= 1, "the next up will change it back");
    await timed("up (heals the drift)", () => stack.up(quiet));
    assert.equal(deployment().spec.template.spec.containers[0].image, image(digest100));
    assert.equal(await served(), "1.0.0");
  });

  test("6. restore by pin: every Deployment at 0 replicas while the database is replaced", async () => {
    await sql(dbUrl, "delete from items where id > 90");
    assert.equal((await itemsChecksum(dbUrl, ITEM_COLUMNS)).count, 90);
    // Watches the cluster through the API while the update runs: each service's replicas and pods.
    const api = kubernetesApi(inlineKubeconfig(env));
    const lowest = { hunter: Infinity, worker: Infinity, pods: Infinity };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const [h, w, ph, pw] = await Promise.all([
          deploymentReplicas(api, namespace.name, "hunter"),
          deploymentReplicas(api, namespace.name, "worker"),
          countPods(api, namespace.name, "hunter"),
          countPods(api, namespace.name, "worker"),
        ]);
        lowest.hunter = Math.min(lowest.hunter, h ?? Infinity);
        lowest.worker = Math.min(lowest.worker, w ?? Infinity);
        lowest.pods = Math.min(lowest.pods, ph + pw);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await pin({ "rewind:restore.snapshot": snapshotAt0001 });
    let result;
    try {
      result = await timed("up (restore)", () => stack.up(quiet));
    } finally {
      watching = false;
      await watcher;
    }
    assert.equal(result.outputs.direction.value, "restore");
    assert.deepEqual(lowest, { hunter: 0, worker: 0, pods: 0 });
    assert.deepEqual(await itemsChecksum(dbUrl, ITEM_COLUMNS), checksum0001);
    assert.equal(await readDatabaseRevision(dbUrl), "0001");
    const state = await stack.exportStack();
    const restore = state.deployment.resources.find(
      (r: { type: string }) => r.type === "rewind:index:Restore",
    );
    assert.deepEqual(restore.outputs.scaledDeployments, [
      { name: "hunter", replicas: 2 },
      { name: "worker", replicas: 1 },
    ]);
    // Back to their replicas, serving the pinned version on the restored data.
    assert.equal(deployment().spec.replicas, 2);
    assert.equal(deployment("worker").spec.replicas, 1);
    assert.equal(await served(), "1.0.0");
  });
});
