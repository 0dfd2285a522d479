// @serial: stops and restarts the cluster and checks the host iptables, which are host-wide
// The single-node cluster of scripts/cluster (#12): a real pod, from an image in the local
// registry, answers through a Service; then `stop` leaves the host exactly as it found it
// (sysctls, iptables, mounts, kubepods cgroups, links, paths). A cluster that was running
// before the test is stopped first (the fingerprint is of a host without one) and started again.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { repoRoot, timed } from "./workspace";

const clusterScript = path.join(repoRoot, "scripts", "cluster");
const rewindHome = process.env.REWIND_HOME ?? path.join(repoRoot, ".rewind");

/** Runs a command and returns its stdout; a failure carries the command's stderr. */
function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const res = spawnSync(cmd, args, {
    encoding: "utf8",
    input: opts.input,
    env: opts.env ?? process.env,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0) {
    const out = `${res.stdout ?? ""}\n${res.stderr ?? ""}`.trim().split("\n").slice(-25).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} exited with ${res.status}:\n${out}`);
  }
  return res.stdout;
}

function clusterRunning(): boolean {
  return spawnSync(clusterScript, ["status"], { stdio: "ignore" }).status === 0;
}

/** `export NAME='value'` lines of cluster.env, as scripts/cluster writes them. */
function readClusterEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  const text = fs.readFileSync(path.join(rewindHome, "cluster.env"), "utf8");
  for (const m of text.matchAll(/^export ([A-Z_]+)=(?:'([^']*)'|(\S*))$/gm)) {
    env[m[1]] = m[2] ?? m[3];
  }
  return env;
}

// ---------------------------------------------------------------- host fingerprint

/** What the cluster could change on the host, in a form two snapshots compare by value. */
interface HostFingerprint {
  sysctls: Record<string, string>;
  iptables: string[];
  ip6tables: string[];
  nftTables: string[];
  mounts: string[];
  cgroups: string[];
  links: string[];
  paths: string[];
}

// Counters, not settings.
const VOLATILE_SYSCTL = /nf_conntrack_count$|^net\.netfilter\.nf_conntrack_expect_count/;

function readSysctls(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of run("sysctl", ["-a"]).split("\n")) {
    const i = line.indexOf(" = ");
    if (i < 0) continue;
    const key = line.slice(0, i);
    if (!/^(vm\.|net\.|kernel\.panic|kernel\.keys\.)/.test(key) || VOLATILE_SYSCTL.test(key))
      continue;
    out[key] = line.slice(i + 3).replace(/\s+/g, " ");
  }
  return out;
}

/** iptables-save without comments and packet counters. */
function iptablesRules(cmd: string): string[] {
  return run(cmd, [])
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.replace(/ \[\d+:\d+\]$/, ""));
}

// Other programs on this machine mount and unmount all the time, none of them in the cluster's
// paths: the Docker engines of scripts/services (ours and other checkouts') and scratch
// directories in /tmp (debootstrap's chroot in scripts/images mounts proc there).
const FOREIGN_MOUNT = /\/docker\/(overlay2|containers)\/|\/run\/d\/|^\/tmp\//;

function mounts(): string[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const f = l.split(" ");
      const fsType = l.split(" - ")[1]?.split(" ")[0] ?? "?";
      return `${f[4]} ${fsType}`;
    })
    .filter((m) => !FOREIGN_MOUNT.test(m))
    .sort();
}

function kubepodsCgroups(): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (e.name.includes("kubepods")) found.push(p);
      else if (depth < 2) walk(p, depth + 1);
    }
  };
  walk("/sys/fs/cgroup", 0);
  return found.sort();
}

function links(): string[] {
  return run("ip", ["-o", "link", "show"])
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split(": ")[1].replace(/@.*/, ""))
    .sort();
}

const HOST_PATHS = [
  "/var/lib/cni",
  "/var/log/pods",
  "/var/log/containers",
  "/var/lib/kubelet",
  "/etc/kubernetes",
  "/etc/cni",
  "/opt/containerd",
  "/run/netns",
];

function fingerprint(): HostFingerprint {
  // Two reads of the sysctls: a value that changes on its own between them is not a setting.
  const first = readSysctls();
  const sysctls = readSysctls();
  for (const k of Object.keys(sysctls)) if (first[k] !== sysctls[k]) delete sysctls[k];
  return {
    sysctls,
    iptables: iptablesRules("iptables-save"),
    ip6tables: iptablesRules("ip6tables-save"),
    nftTables: run("nft", ["list", "tables"])
      .split("\n")
      .filter((l) => l !== "")
      .sort(),
    mounts: mounts(),
    cgroups: kubepodsCgroups(),
    links: links(),
    paths: HOST_PATHS.filter((p) => fs.existsSync(p)),
  };
}

/** The differences, one line each, so a failure says what the cluster left behind. */
function diff(before: HostFingerprint, after: HostFingerprint): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(before.sysctls), ...Object.keys(after.sysctls)]);
  for (const k of keys) {
    // A key only one read saw as stable is not compared.
    if (!(k in before.sysctls) || !(k in after.sysctls)) continue;
    if (before.sysctls[k] !== after.sysctls[k]) {
      out.push(`sysctl ${k}: ${before.sysctls[k]} -> ${after.sysctls[k]}`);
    }
  }
  for (const field of [
    "iptables",
    "ip6tables",
    "nftTables",
    "mounts",
    "cgroups",
    "links",
    "paths",
  ] as const) {
    const b = new Set(before[field]);
    const a = new Set(after[field]);
    for (const x of a) if (!b.has(x)) out.push(`${field}: added ${x}`);
    for (const x of b) if (!a.has(x)) out.push(`${field}: removed ${x}`);
  }
  return out;
}

/**
 * The parts of a fingerprint that scripts/cluster recorded in its host snapshot at start.
 * A running cluster's first stop is checked against it: a stop that restores nothing would
 * otherwise hand the test a dirty host as its "before".
 */
function snapshotFingerprint(dir: string): Partial<HostFingerprint> {
  const lines = (file: string) =>
    fs
      .readFileSync(path.join(dir, file), "utf8")
      .split("\n")
      .filter((l) => l !== "");
  const sysctls: Record<string, string> = {};
  for (const l of lines("sysctls")) {
    const i = l.indexOf("=");
    sysctls[l.slice(0, i)] = l.slice(i + 1).replace(/\s+/g, " ");
  }
  const rules = (file: string) =>
    lines(file)
      .filter((l) => !l.startsWith("#"))
      .map((l) => l.replace(/ \[\d+:\d+\]$/, ""));
  return {
    sysctls,
    iptables: rules("iptables"),
    ip6tables: rules("ip6tables"),
    nftTables: lines("nft-tables").sort(),
    cgroups: lines("cgroups").sort(),
    links: lines("links").sort(),
    paths: lines("paths").filter((p) => HOST_PATHS.includes(p)),
  };
}

/** What differs between a snapshot's parts and the same parts of a fingerprint. */
function diffSnapshot(snap: Partial<HostFingerprint>, now: HostFingerprint): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(snap.sysctls ?? {})) {
    if (k in now.sysctls && now.sysctls[k] !== v)
      out.push(`sysctl ${k}: ${v} -> ${now.sysctls[k]}`);
  }
  for (const field of [
    "iptables",
    "ip6tables",
    "nftTables",
    "cgroups",
    "links",
    "paths",
  ] as const) {
    const b = new Set(snap[field]);
    const a = new Set(now[field]);
    for (const x of a) if (!b.has(x)) out.push(`${field}: added ${x}`);
    for (const x of b) if (!a.has(x)) out.push(`${field}: removed ${x}`);
  }
  return out;
}

// ---------------------------------------------------------------- the pod

/** A tiny HTTP server image on scripts/images' node base, pushed to the local registry. */
function buildEchoImage(registry: string): string {
  const base = `rewind/node-base:${process.version.slice(1)}`;
  const env = { ...process.env, DOCKER_BUILDKIT: "0" };
  const found = spawnSync("docker", ["image", "inspect", base], { stdio: "ignore", env });
  assert.equal(found.status, 0, `${base} is not in the local engine: run scripts/images`);
  const ctx = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-cluster-image-"));
  try {
    fs.writeFileSync(
      path.join(ctx, "server.js"),
      [
        'const http = require("node:http");',
        'const os = require("node:os");',
        "http.createServer((req, res) => {",
        "  res.end(`${process.env.TOKEN} from ${os.hostname()}\\n`);",
        "}).listen(8080);",
        "",
      ].join("\n"),
    );
    fs.writeFileSync(
      path.join(ctx, "Dockerfile"),
      `FROM ${base}\nCOPY server.js /app/server.js\nUSER 1000:1000\nCMD ["node", "/app/server.js"]\n`,
    );
    // One tag, the same content each run: the registry does not grow with test runs.
    const image = `${registry}/rewind-cluster-echo:1`;
    run("docker", ["build", "-q", "-t", image, ctx], { env });
    run("docker", ["push", image], { env });
    run("docker", ["rmi", image], { env });
    return image;
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
  }
}

/** A namespace, a 2-replica Deployment whose pods answer "<token> from <pod name>", a Service. */
function manifest(ns: string, image: string, token: string): string {
  const labels = { app: "echo" };
  const items = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "echo", namespace: ns },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: "echo",
                image,
                env: [{ name: "TOKEN", value: token }],
                ports: [{ containerPort: 8080 }],
                readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "echo", namespace: ns },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ];
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/** One GET on a new connection (no keep-alive: each request is balanced by kube-proxy anew). */
function getOnce(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 2_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out after 2s")));
    req.on("error", reject);
  });
}

async function getUntil(url: string, want: RegExp, seconds: number): Promise<string> {
  const deadline = Date.now() + seconds * 1000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await getOnce(url);
      last = `${res.status} ${res.body}`;
      if (res.status === 200 && want.test(res.body)) return res.body;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`GET ${url} did not answer ${want} within ${seconds}s; last: ${last}`);
}

/** kubectl with the cluster's KUBECONFIG (cluster.env is rewritten by each start). */
function kubectl(args: string[], input?: string): string {
  const env = { ...process.env, ...readClusterEnv() };
  assert.ok(env.REWIND_KUBECTL, "cluster.env has no REWIND_KUBECTL");
  return run(env.REWIND_KUBECTL, args, { env, input });
}

/** Waits for the Deployment, then GETs its Service until every pod has answered. */
async function servedByEveryPod(ns: string, token: string): Promise<void> {
  kubectl(["-n", ns, "rollout", "status", "deployment/echo", "--timeout=120s"]);
  const clusterIp = kubectl([
    "-n",
    ns,
    "get",
    "service",
    "echo",
    "-o",
    "jsonpath={.spec.clusterIP}",
  ]);
  assert.match(clusterIp, /^10\.96\./);
  const pods = kubectl(["-n", ns, "get", "pods", "-o", "jsonpath={.items[*].metadata.name}"]);
  const want = new Set(pods.split(" "));
  assert.equal(want.size, 2, `two pods, got: ${pods}`);
  const seen = new Set<string>();
  const deadline = Date.now() + 30_000;
  while (seen.size < want.size && Date.now() < deadline) {
    const body = await getUntil(`http://${clusterIp}/`, new RegExp(`^${token} from `), 30);
    seen.add(body.replace(/^.* from /, "").trim());
  }
  assert.deepEqual([...seen].sort(), [...want].sort(), "every pod answered through the Service");
}

test(
  "a pod from the local registry answers through a Service; stop restores the host",
  { timeout: 15 * 60_000 },
  async () => {
    const registry = process.env.REWIND_REGISTRY;
    assert.ok(
      registry && process.env.DOCKER_HOST,
      "REWIND_REGISTRY or DOCKER_HOST is not set: run scripts/test",
    );
    const wasRunning = clusterRunning();
    if (wasRunning) {
      const snap = snapshotFingerprint(path.join(rewindHome, "cluster", "host-snapshot"));
      await timed("cluster stop (it was running)", async () => run(clusterScript, ["stop"]));
      assert.deepEqual(diffSnapshot(snap, fingerprint()), [], "stop did not restore its snapshot");
    }
    const before = fingerprint();
    const token = `t${randomBytes(4).toString("hex")}`;
    const ns = `rewind-cluster-${token}`;
    let applied = false;
    try {
      await timed("cluster start", async () => run(clusterScript, ["start"]));
      const image = await timed("echo image built and pushed", async () =>
        buildEchoImage(registry),
      );
      kubectl(["apply", "-f", "-"], manifest(ns, image, token));
      applied = true;
      await timed("2 pods ready and answering through the Service", () =>
        servedByEveryPod(ns, token),
      );
      // The pods run the image pulled from the local registry.
      const imageIds = kubectl([
        "-n",
        ns,
        "get",
        "pods",
        "-o",
        "jsonpath={.items[*].status.containerStatuses[*].imageID}",
      ]);
      const fromRegistry = `${registry}/rewind-cluster-echo@sha256:`;
      for (const id of imageIds.split(" ")) assert.ok(id.startsWith(fromRegistry), id);

      // Stopped with the pods running, as the other tests leave it: their network, mounts and
      // cgroups must go too.
      await timed("cluster stop with 2 pods running", async () => run(clusterScript, ["stop"]));
      assert.deepEqual(diff(before, fingerprint()), [], "the host changed across start and stop");

      // A warm start brings the workload back from etcd, and it serves again.
      await timed("cluster start with the deployment in place", async () =>
        run(clusterScript, ["start"]),
      );
      await timed("the same pods' Service answering again", () => servedByEveryPod(ns, token));
    } finally {
      // Leave the cluster as it was found, without the test's namespace.
      if ((applied || wasRunning) && !clusterRunning()) {
        await timed("cluster start (cleanup)", async () => run(clusterScript, ["start"]));
      }
      if (applied) kubectl(["delete", "namespace", ns, "--wait=true", "--timeout=120s"]);
      // Also after a start that failed half way: stop is idempotent.
      if (!wasRunning)
        await timed("cluster stop (cleanup)", async () => run(clusterScript, ["stop"]));
    }
  },
);

test(
  "a cluster killed without stop: the next start removes its chains and bridge, stop restores the host",
  { timeout: 10 * 60_000 },
  async () => {
    const wasRunning = clusterRunning();
    if (wasRunning)
      await timed("cluster stop (it was running)", async () => run(clusterScript, ["stop"]));
    const before = fingerprint();
    // What a killed kube-proxy and CNI leave: a KUBE-* chain with a jump into it, and the bridge.
    const chain = `KUBE-LEFTOVER-${randomBytes(3).toString("hex").toUpperCase()}`;
    run("iptables", ["-N", chain]);
    run("iptables", ["-A", "FORWARD", "-j", chain]);
    run("ip", ["link", "add", "rewind0", "type", "bridge"]);
    // A start from another checkout has no host snapshot of this one's.
    fs.rmSync(path.join(rewindHome, "cluster", "host-snapshot"), { recursive: true, force: true });
    try {
      await timed("cluster start beside the leftovers", async () => run(clusterScript, ["start"]));
      const chains = run("iptables-save", []);
      assert.doesNotMatch(chains, new RegExp(chain), "the leftover chain was not removed");
      await timed("cluster stop", async () => run(clusterScript, ["stop"]));
      assert.deepEqual(diff(before, fingerprint()), [], "the host changed across start and stop");
    } finally {
      spawnSync("iptables", ["-D", "FORWARD", "-j", chain], { stdio: "ignore" });
      spawnSync("iptables", ["-X", chain], { stdio: "ignore" });
      spawnSync("ip", ["link", "del", "rewind0"], { stdio: "ignore" });
      if (wasRunning)
        await timed("cluster start (cleanup)", async () => run(clusterScript, ["start"]));
    }
  },
);
