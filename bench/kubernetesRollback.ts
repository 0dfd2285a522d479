// Benchmark K: app rollback 1.1.0 -> 1.0.0 on the Kubernetes target (#12), on the cluster of
// scripts/cluster, wall time and failed requests of a client polling the Service every 20 ms:
//   rewind   `pulumi up` with 1.0.0 pinned (the Release's Deployment, awaited by
//            @pulumi/kubernetes)
//   undo     `kubectl rollout undo` of the same Deployment, then `kubectl rollout status`
//   set      `kubectl set image` back to 1.0.0's digest, then `kubectl rollout status`
// All three roll the same Deployment (maxUnavailable 0, readiness probes) behind the same
// Service; the kubectl ones start from 1.1.0 set by kubectl too (not timed). Also the time for
// `scripts/cluster start` when this run starts the cluster.
import * as path from "node:path";
import { Cleanup, Env, Poller, dbUrl, freshDatabase, run, waitFor } from "./lib";
import { BenchStack } from "./stack";
import {
  clusterEnv,
  createNamespace,
  forwardToLoopback,
  hostAddress,
  inlineKubeconfig,
  viaForwarder,
} from "../test/support/cluster";

/** One rep: wall time and what the client saw. */
export interface KubernetesSample {
  readonly ms: number;
  readonly ok: number;
  readonly failed: number;
}

export interface KubernetesRollback {
  /** `scripts/cluster start`'s wall time, when this run started the cluster. */
  readonly clusterStartMs: number | undefined;
  readonly rewind: KubernetesSample[];
  readonly undo: KubernetesSample[];
  readonly setImage: KubernetesSample[];
}

/** Starts the cluster unless it runs (timed), and stops it at cleanup if this run started it. */
async function ensureCluster(env: Env, cleanup: Cleanup): Promise<number | undefined> {
  const script = path.join(env.root, "scripts", "cluster");
  const running = await run(script, ["status"]).then(
    () => true,
    () => false,
  );
  if (running) return undefined;
  const started = await run(script, ["start"]);
  cleanup.add("stop the cluster this run started", () => run(script, ["stop"]));
  return started.ms;
}

/** Times `op` while the client polls; done when op is and the client sees 1.0.0. */
async function observe(poller: Poller, op: () => Promise<unknown>): Promise<KubernetesSample> {
  poller.ok = 0;
  poller.failed = 0;
  const started = performance.now();
  poller.start();
  try {
    await op();
    await waitFor(poller.url, "1.0.0", 60_000);
  } finally {
    await poller.stop();
  }
  return { ms: performance.now() - started, ok: poller.ok, failed: poller.failed };
}

export async function benchKubernetesRollback(
  env: Env,
  cleanup: Cleanup,
  reps: number,
  tag: string,
): Promise<KubernetesRollback> {
  const clusterStartMs = await ensureCluster(env, cleanup);
  const cluster = clusterEnv(env.home);
  const namespace = createNamespace(cluster, "bench-k8s");
  cleanup.add(`delete namespace ${namespace.name}`, async () => namespace.remove());
  const db = `bench_k8s_${tag}`;
  await freshDatabase(env, cleanup, db);
  const host = hostAddress();
  const forwarder = await forwardToLoopback(host, Number(env.pgPort));
  cleanup.add("close the database forwarder", () => forwarder.close());

  const stack = new BenchStack(env, `bench-k8s-${tag}`);
  await stack.create(cleanup);
  await stack.set({
    "app.name": "hunter",
    "app.image": `${env.registry}/hunter`,
    "app.replicas": "2",
    "app.port": "8000",
    "app.health.timeoutSeconds": "60",
    "database.migrations.tool": "sql",
    "database.migrations.dir": "examples/hunter/migrations",
    "database.revision": "0002",
    "backup.store.kind": "fs",
    "backup.store.path": stack.storePath(),
    "gate.sql[0].query": "select 1 from items limit 100",
    "gate.sql[0].minRows": "100",
    target: "kubernetes",
    "kubernetes.namespace": namespace.name,
  });
  await stack.setSecret("database.url", viaForwarder(dbUrl(env, db), host, forwarder.port));
  await stack.setSecret("kubernetes.kubeconfig", inlineKubeconfig(cluster));
  await stack.set({ "app.version": "1.1.0" });
  await stack.up("bench: release 1.1.0 on kubernetes");
  const outputs = JSON.parse((await stack.pulumi(["stack", "output", "--json"])).stdout) as {
    url: string;
    digest: string;
  };
  const url = `${outputs.url}/version`;
  const digest110 = outputs.digest;
  // Asynchronous, so the client keeps polling while kubectl runs.
  const kubectl = (args: string[]) =>
    run(cluster.REWIND_KUBECTL, [
      "--kubeconfig",
      cluster.KUBECONFIG,
      "-n",
      namespace.name,
      ...args,
    ]);
  const rollout = () => kubectl(["rollout", "status", "deployment/hunter", "--timeout=120s"]);

  const rewind: KubernetesSample[] = [];
  for (let i = 0; i < reps; i++) {
    await stack.set({ "app.version": "1.0.0" });
    rewind.push(await observe(new Poller(url), () => stack.up("bench: k8s rollback to 1.0.0")));
    await stack.set({ "app.version": "1.1.0" });
    await stack.up("bench: k8s release 1.1.0 again");
  }
  // The 1.0.0 digest, as Rewind pins it: what `kubectl set image` goes back to.
  await stack.set({ "app.version": "1.0.0" });
  await stack.up("bench: k8s 1.0.0, to read its digest");
  const digest100 = (
    JSON.parse((await stack.pulumi(["stack", "output", "--json"])).stdout) as { digest: string }
  ).digest;
  const ref = (digest: string) => `hunter=${env.registry}/hunter@${digest}`;
  const to110 = async () => {
    await kubectl(["set", "image", "deployment/hunter", ref(digest110)]);
    await rollout();
  };

  const undo: KubernetesSample[] = [];
  const setImage: KubernetesSample[] = [];
  for (let i = 0; i < reps; i++) {
    await to110();
    undo.push(
      await observe(new Poller(url), async () => {
        await kubectl(["rollout", "undo", "deployment/hunter"]);
        await rollout();
      }),
    );
    await to110();
    setImage.push(
      await observe(new Poller(url), async () => {
        await kubectl(["set", "image", "deployment/hunter", ref(digest100)]);
        await rollout();
      }),
    );
  }
  return { clusterStartMs, rewind, undo, setImage };
}
