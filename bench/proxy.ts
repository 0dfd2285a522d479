// Throughput through the front door against a direct connection to a replica, with wrk (Debian's
// package) on loopback: requests per second for BENCH_PROXY_SECONDS (10) each, and the ratio.
// The replica is the sample app (hunter:1.0.0, GET /healthz/live) in a container on the host
// network; the front doors are HAProxy (rewind-haproxy, through adapters/haproxy.ts) and, for
// comparison, Rewind's own router (rewind-router) it replaces.
//   . scripts/env.sh && npx tsc -p bench/tsconfig.json && node dist/bench/proxy.js
// Knobs: BENCH_PROXY_SECONDS (10), BENCH_PROXY_ROUNDS (3), BENCH_PROXY_CONNECTIONS (32),
// BENCH_PROXY_THREADS (1), BENCH_PROXY_JSON (a file for the samples).
// Everything shares this machine's cores (wrk, the proxy, the replica): the ratio is what a
// proxy costs when it competes with the app for CPU. The targets take turns, round after round,
// and the median of each is compared, so a burst of load from another process hits all of them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import {
  haproxyImage,
  proxyContainer,
  setUpstreams,
  waitProxyReady,
  writeProxyConfig,
} from "../adapters/haproxy";
import { engine, runContainer, stopAndRemove, waitHttpReady } from "../adapters/docker";
import { freePort } from "../adapters/ports";
import { ROUTER_VERSION, writeUpstreamList } from "../images/router/router";
import { run } from "./lib";

const num = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};

interface WrkResult {
  readonly requestsPerSecond: number;
  readonly latencyAvg: string;
  readonly requests: number;
  /** Socket errors and non-2xx answers: a proxy that drops requests is not fast. */
  readonly errors: number;
}

/** Parses wrk's summary. */
export function parseWrk(out: string): WrkResult {
  const rps = /^Requests\/sec:\s+([0-9.]+)/m.exec(out);
  const latency = /^\s+Latency\s+(\S+)/m.exec(out);
  const total = /^\s+([0-9]+) requests in/m.exec(out);
  if (rps === null || total === null) throw new Error(`wrk printed no summary:\n${out}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errors =
    (socket === null ? 0 : socket.slice(1).reduce((a, b) => a + Number(b), 0)) +
    (non2xx === null ? 0 : Number(non2xx[1]));
  return {
    requestsPerSecond: Number(rps[1]),
    latencyAvg: latency?.[1] ?? "?",
    requests: Number(total[1]),
    errors,
  };
}

async function wrk(url: string, seconds: number, connections: number, threads: number) {
  const { stdout } = await run("wrk", [
    `-t${threads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    url,
  ]);
  return parseWrk(stdout);
}

/** One target's requests per second, round after round. */
export interface ThroughputRow {
  readonly name: string;
  readonly rps: readonly number[];
  readonly median: number;
  readonly errors: number;
}

/** What `benchProxyThroughput` measured, and how. */
export interface ThroughputResult {
  /** The wrk command and the machine's state, one line. */
  readonly how: string;
  /** Direct to the replica first, then through HAProxy, then through rewind-router. */
  readonly rows: readonly ThroughputRow[];
}

/**
 * wrk against a replica directly, through HAProxy and through rewind-router, the targets taking
 * turns round after round (knobs: BENCH_PROXY_SECONDS, _ROUNDS, _CONNECTIONS, _THREADS).
 */
export async function benchProxyThroughput(): Promise<ThroughputResult> {
  const registry = process.env.REWIND_REGISTRY;
  if (!process.env.DOCKER_HOST || !registry) {
    throw new Error(
      "DOCKER_HOST or REWIND_REGISTRY is not set: . scripts/env.sh (scripts/services start)",
    );
  }
  const seconds = num("BENCH_PROXY_SECONDS", 10);
  const connections = num("BENCH_PROXY_CONNECTIONS", 32);
  const threads = num("BENCH_PROXY_THREADS", 1);
  const rounds = num("BENCH_PROXY_ROUNDS", 3);
  const docker = engine();
  const tag = randomBytes(3).toString("hex");
  const containers: string[] = [];
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-bench-proxy-"));
  try {
    const appPort = await freePort();
    const app = await runContainer(docker, {
      name: `rewind-bench-replica-${tag}`,
      image: `${registry}/hunter:1.0.0`,
      labels: { "rewind.bench": "proxy" },
      env: { PORT: String(appPort), APP_VERSION: "1.0.0" },
      command: [],
    });
    containers.push(app);
    const live = "/healthz/live";
    const problem = await waitHttpReady(docker, app, `http://127.0.0.1:${appPort}`, [live], 20_000);
    if (problem !== undefined) throw new Error(`the replica did not start: ${problem}`);

    const haproxyPort = await freePort(new Set([appPort]));
    const files = writeProxyConfig(path.join(stateDir, "haproxy"), {
      service: "bench",
      port: haproxyPort,
      slots: 2,
      readyPath: live,
    });
    const container = proxyContainer(files.stateDir);
    containers.push(
      await runContainer(docker, {
        name: `rewind-bench-haproxy-${tag}`,
        image: haproxyImage(registry),
        labels: { "rewind.bench": "proxy" },
        env: {},
        command: container.command,
        binds: container.binds,
      }),
    );
    await waitProxyReady(files.socketPath);
    await setUpstreams(files.socketPath, [`127.0.0.1:${appPort}`]);

    const routerPort = await freePort(new Set([appPort, haproxyPort]));
    const routerDir = path.join(stateDir, "router");
    writeUpstreamList(routerDir, { generation: 1, upstreams: [`127.0.0.1:${appPort}`] });
    fs.chmodSync(stateDir, 0o755);
    const router = await runContainer(docker, {
      name: `rewind-bench-router-${tag}`,
      image: `${registry}/rewind-router:${ROUTER_VERSION}`,
      labels: { "rewind.bench": "proxy" },
      env: { ROUTER_PORT: String(routerPort), ROUTER_STATE_DIR: "/state" },
      command: [],
      binds: [`${routerDir}:/state:ro`],
    });
    containers.push(router);
    const routerProblem = await waitHttpReady(
      docker,
      router,
      `http://127.0.0.1:${routerPort}`,
      [live],
      20_000,
    );
    if (routerProblem !== undefined) throw new Error(`the router did not start: ${routerProblem}`);

    const targets = [
      { name: "direct to the replica", port: appPort },
      { name: "through HAProxy", port: haproxyPort },
      { name: "through rewind-router", port: routerPort },
    ];
    // A short warm-up each, so no target pays for a cold JIT or an empty connection pool.
    for (const t of targets)
      await wrk(`http://127.0.0.1:${t.port}${live}`, 2, connections, threads);
    const samples = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const t of targets) {
        const r = await wrk(`http://127.0.0.1:${t.port}${live}`, seconds, connections, threads);
        samples.get(t.name)?.push(r);
      }
    }
    const median = (values: number[]): number => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    };
    const rows = targets.map((t) => {
      const runs = samples.get(t.name) ?? [];
      return {
        name: t.name,
        rps: runs.map((r) => r.requestsPerSecond),
        median: median(runs.map((r) => r.requestsPerSecond)),
        errors: runs.reduce((sum, r) => sum + r.errors, 0),
      };
    });
    return {
      how:
        `wrk -t${threads} -c${connections} -d${seconds}s GET ${live} on loopback, ${rounds} ` +
        `rounds, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`,
      rows,
    };
  } finally {
    await Promise.all(containers.map((id) => stopAndRemove(docker, id, 2)));
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { how, rows } = await benchProxyThroughput();
  const direct = rows[0].median;
  console.log(how);
  console.log("target                  median req/s   ratio   errors   each round (req/s)");
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(22)} ${r.median.toFixed(0).padStart(13)}   ` +
        `${(r.median / direct).toFixed(2).padStart(5)}   ${String(r.errors).padStart(6)}   ` +
        r.rps.map((v) => v.toFixed(0)).join(", "),
    );
  }
  const out = process.env.BENCH_PROXY_JSON;
  if (out) {
    fs.writeFileSync(out, JSON.stringify({ how, rows }, null, 2));
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
  });
}
