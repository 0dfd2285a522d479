// The front-door proxy (HAProxy in its offline-built image, on the real engine, host network)
// driven through adapters/haproxy.ts the way a release drives it: start the new replica, wait
// until ready, setUpstreams (switch + confirm), drainUpstreams, stop the old. What is asserted
// is what a user of the service sees: an upload arrives intact, a WebSocket opens, a slow
// request started before the switch completes, a polling client sees no failure.
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  HAPROXY_IMAGE_VERSION,
  haproxyImage,
  currentUpstreams,
  drainUpstreams,
  proxyContainer,
  setUpstreams,
  showSlots,
  waitProxyReady,
  writeProxyConfig,
} from "../../adapters/haproxy";
import {
  containerStatus,
  engine,
  logTail,
  runContainer,
  stopAndRemove,
} from "../../adapters/docker";
import { freePort } from "../../adapters/ports";
import { listTags } from "../../adapters/registry";
import { readFrames, websocketAccept } from "../support/proxyUpstream";
import { timed } from "./workspace";

const UPSTREAM_JS = path.join(__dirname, "..", "support", "proxyUpstream.js");

/** A replica: the test upstream as its own process on a loopback port. */
interface Replica {
  readonly id: string;
  readonly upstream: string;
  readonly process: ChildProcess;
  /** SIGTERM, then wait for the exit (it finishes what is in flight first). */
  stop(): Promise<void>;
}

const replicas = new Set<Replica>();

async function startReplica(id: string): Promise<Replica> {
  const port = await freePort();
  const child = spawn(process.execPath, [UPSTREAM_JS], {
    env: { PORT: String(port), UPSTREAM_ID: id },
    stdio: "ignore",
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const replica: Replica = {
    id,
    upstream: `127.0.0.1:${port}`,
    process: child,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
      replicas.delete(replica);
    },
  };
  replicas.add(replica);
  // "wait until ready": the replica's own readiness path, directly.
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const res = await fetch(`http://${replica.upstream}/ready`);
      if (res.ok) return replica;
    } catch {
      // not listening yet
    }
    assert.ok(Date.now() < deadline, `replica ${id} did not answer /ready within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The release order for one replica replacing another. */
async function swap(
  socketPath: string,
  from: Replica,
  to: Replica,
  drainSeconds: number,
): Promise<{ status: string; sessions: number; waitedMs: number }> {
  const switched = await setUpstreams(socketPath, [to.upstream]);
  assert.deepEqual(switched.serving, [to.upstream]);
  assert.deepEqual(switched.draining, [from.upstream]);
  const [report] = await drainUpstreams(socketPath, [from.upstream], drainSeconds);
  await from.stop();
  return report;
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(20_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("HAProxy at the front door (adapters/haproxy.ts, real engine)", () => {
  const docker = engine();
  let stateDir = "";
  let socketPath = "";
  let containerId = "";
  let port = 0;
  let url = "";

  before(async () => {
    const registry = process.env.REWIND_REGISTRY;
    if (!process.env.DOCKER_HOST || !registry) {
      throw new Error("DOCKER_HOST or REWIND_REGISTRY is not set: run scripts/test");
    }
    const tags = (await listTags(`${registry}/rewind-haproxy`)) ?? [];
    assert.ok(
      tags.includes(HAPROXY_IMAGE_VERSION),
      `rewind-haproxy:${HAPROXY_IMAGE_VERSION} is not in ${registry}: run scripts/images`,
    );
    // Short: the admin socket's path must fit a unix socket address (107 bytes).
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-haproxy-"));
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const files = writeProxyConfig(stateDir, {
      service: "proxy-test",
      port,
      slots: 4,
      readyPath: "/ready",
    });
    socketPath = files.socketPath;
    const container = proxyContainer(stateDir);
    containerId = await runContainer(docker, {
      name: `rewind-haproxy-test-${randomBytes(3).toString("hex")}`,
      image: haproxyImage(registry),
      labels: { "rewind.test": "haproxy" },
      env: {},
      command: container.command,
      binds: container.binds,
    });
    await waitProxyReady(socketPath, {
      gone: async () => {
        const status = await containerStatus(docker, containerId);
        return status.running
          ? undefined
          : `${status.description}: ${await logTail(docker, containerId)}`;
      },
    });
  });

  after(async () => {
    await Promise.all([...replicas].map((r) => r.stop()));
    if (containerId) await stopAndRemove(docker, containerId, 2);
    if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test("the config is HAProxy's own: every slot starts in maint, nothing is served", async () => {
    const slots = await showSlots(socketPath);
    assert.deepEqual(
      slots.map((s) => [s.name, s.admin, s.sessions]),
      [
        ["s1", "maint", 0],
        ["s2", "maint", 0],
        ["s3", "maint", 0],
        ["s4", "maint", 0],
      ],
    );
    assert.deepEqual(await currentUpstreams(socketPath), []);
    const res = await fetch(`${url}/id`);
    assert.equal(res.status, 503);
    await res.arrayBuffer();
  });

  test("HAProxy accepts the config without health checks too (haproxy -c)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-haproxy-c-"));
    try {
      writeProxyConfig(dir, { service: "proxy-test", port });
      const output: Buffer[] = [];
      const sink = new (await import("node:stream")).Writable({
        write: (chunk: Buffer, _enc, done) => (output.push(chunk), done()),
      });
      const [result] = (await docker.run(
        haproxyImage(process.env.REWIND_REGISTRY ?? ""),
        ["haproxy", "-c", "-f", "/state/haproxy.cfg"],
        sink,
        { HostConfig: { NetworkMode: "none", Binds: [`${dir}:/state:ro`], AutoRemove: true } },
      )) as [{ StatusCode: number }];
      assert.equal(result.StatusCode, 0, Buffer.concat(output).toString());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a 100 MB upload streams through the proxy during a switch and arrives intact", async () => {
    const a = await startReplica("upload-a");
    await setUpstreams(socketPath, [a.upstream]);
    const b = await startReplica("upload-b");
    const size = 100 * 1024 * 1024;
    const chunk = 1024 * 1024;
    const sent = createHash("sha256");
    let drain: Promise<{ status: string; waitedMs: number }> | undefined;
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${url}/upload`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream", "content-length": size },
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      let written = 0;
      const writeMore = (): void => {
        while (written < size) {
          const piece = randomBytes(Math.min(chunk, size - written));
          sent.update(piece);
          written += piece.length;
          // A third of the way, the body pauses until the proxy has switched to the new
          // replica; the old one is drained (and then stopped) while the rest streams in.
          if (drain === undefined && written >= size / 3) {
            req.write(piece);
            setUpstreams(socketPath, [b.upstream]).then((switched) => {
              assert.deepEqual(switched.draining, [a.upstream]);
              drain = drainUpstreams(socketPath, [a.upstream], 120).then(async ([report]) => {
                await a.stop();
                return report;
              });
              writeMore();
            }, reject);
            return;
          }
          if (!req.write(piece)) {
            req.once("drain", writeMore);
            return;
          }
        }
        req.end();
      };
      writeMore();
    });
    const { status, body } = await timed("100 MB upload with a switch", () => answer);
    assert.equal(status, 200, body);
    const parsed = JSON.parse(body) as { id: string; bytes: number; sha256: string };
    assert.deepEqual(parsed, { id: "upload-a", bytes: size, sha256: sent.digest("hex") });
    assert.ok(drain, "the switch happened during the upload");
    assert.equal((await drain).status, "drained", "the drain waited for the upload to finish");
    // The switch happened: the next request goes to the new replica.
    assert.deepEqual((await getJson(`${url}/id`)).body, { id: "upload-b" });
    assert.deepEqual(await currentUpstreams(socketPath), [b.upstream]);
  });

  test("a WebSocket opens through the proxy, and is closed cleanly at the end of a drain", async () => {
    const current = await currentUpstreams(socketPath);
    const a = await startReplica("ws-a");
    await setUpstreams(socketPath, [a.upstream]);
    for (const r of [...replicas].filter((r) => current.includes(r.upstream))) {
      await drainUpstreams(socketPath, [r.upstream], 10);
      await r.stop();
    }
    const key = randomBytes(16).toString("base64");
    const received: { opcode: number; payload: string }[] = [];
    let ended: "clean" | "cut" | undefined;
    const socket = await new Promise<import("node:stream").Duplex>((resolve, reject) => {
      const req = http.request(`${url}/ws`, {
        headers: {
          connection: "Upgrade",
          upgrade: "websocket",
          "sec-websocket-version": "13",
          "sec-websocket-key": key,
        },
      });
      req.on("upgrade", (res, sock, head) => {
        assert.equal(res.statusCode, 101);
        assert.equal(res.headers["sec-websocket-accept"], websocketAccept(key));
        let pending: Buffer = Buffer.from(head);
        const onData = (data: Buffer): void => {
          const { frames, rest } = readFrames(Buffer.concat([pending, data]));
          pending = rest;
          for (const f of frames) {
            // A close frame's payload starts with its status code.
            const payload =
              f.opcode === 0x8 ? String(f.payload.readUInt16BE(0)) : f.payload.toString();
            received.push({ opcode: f.opcode, payload });
          }
        };
        if (head.length > 0) onData(Buffer.alloc(0));
        sock.on("data", onData);
        sock.on("end", () => (ended ??= received.some((f) => f.opcode === 0x8) ? "clean" : "cut"));
        sock.on("error", () => (ended = "cut"));
        resolve(sock);
      });
      req.on("response", (res) => reject(new Error(`no upgrade: HTTP ${res.statusCode}`)));
      req.on("error", reject);
      req.end();
    });
    // One masked text frame from the client; the replica echoes it.
    const mask = randomBytes(4);
    const text = Buffer.from("ping through haproxy");
    const masked = Buffer.from(text.map((b, i) => b ^ mask[i % 4]));
    socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, masked]));
    const until = async (what: string, ok: () => boolean): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!ok()) {
        assert.ok(
          Date.now() < deadline,
          `${what} within 10 s; frames: ${JSON.stringify(received)}`,
        );
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until("the greeting and the echo", () => received.length >= 2);
    assert.deepEqual(received.slice(0, 2), [
      { opcode: 1, payload: "hello ws-a" },
      { opcode: 1, payload: "ping through haproxy" },
    ]);
    // A swap while it is open: the drain ends at drainSeconds with the tunnel still there, then
    // the old replica is stopped and closes it with a close frame, not a cut.
    const b = await startReplica("ws-b");
    const report = await swap(socketPath, a, b, 1);
    assert.equal(report.status, "timed-out");
    assert.equal(report.sessions, 1);
    await until("the end of the WebSocket", () => ended !== undefined);
    assert.equal(ended, "clean");
    assert.deepEqual(received.at(-1), { opcode: 8, payload: "1001" }, "1001: going away");
    socket.destroy();
  });

  test("an upstream that never passes its health check is not switched to", async () => {
    const serving = await currentUpstreams(socketPath);
    assert.equal(serving.length, 1);
    // Nothing listens on a privileged port here (a freed one may be taken by a parallel test):
    // its check fails, so the switch is not confirmed.
    const nobody = "127.0.0.1:1";
    await assert.rejects(
      setUpstreams(socketPath, [nobody], { confirmMs: 2_000 }),
      new RegExp(
        `^Error: the proxy did not confirm the switch within 2000 ms: ${nobody} \\(s[0-9]+\\) ` +
          `not up; the proxy still serves ${serving[0]}$`,
      ),
    );
    assert.deepEqual(await currentUpstreams(socketPath), serving);
    const res = await getJson(`${url}/id`);
    assert.equal(res.status, 200);
  });

  test("a 5-second request started before the switch completes with 200", async () => {
    const serving = await currentUpstreams(socketPath);
    const a = [...replicas].find((r) => serving.includes(r.upstream));
    assert.ok(a, "a replica serves");
    const sent = Date.now();
    const slow = getJson(`${url}/slow?ms=5000`);
    await new Promise((r) => setTimeout(r, 300));
    const b = await startReplica("slow-b");
    const report = await swap(socketPath, a, b, 30);
    const { status, body } = await slow;
    assert.equal(status, 200);
    assert.deepEqual(body, { id: a.id, waited: 5000 });
    assert.equal(report.status, "drained");
    // The old replica was stopped only after the request was answered.
    assert.ok(
      Date.now() - sent >= 4_900,
      `the swap ended ${Date.now() - sent} ms after the request`,
    );
  });

  test("a client polling every 20 ms sees no failed request across 10 swaps in a row", async () => {
    const serving = await currentUpstreams(socketPath);
    let current = [...replicas].find((r) => serving.includes(r.upstream));
    assert.ok(current, "a replica serves");
    const seen = new Set<string>();
    const failures: string[] = [];
    let requests = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          const res = await fetch(`${url}/id`, { signal: AbortSignal.timeout(2_000) });
          const body = await res.text();
          if (res.status !== 200) failures.push(`HTTP ${res.status} ${body}`);
          else seen.add((JSON.parse(body) as { id: string }).id);
        } catch (err) {
          failures.push((err as Error).message);
        }
        requests++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await timed("10 swaps under polling", async () => {
      for (let i = 1; i <= 10; i++) {
        const next = await startReplica(`poll-${i}`);
        await swap(socketPath, current as Replica, next, 10);
        current = next;
        // Long enough for the client to meet each replica.
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    polling = false;
    await poller;
    console.log(`# ${requests} requests, ${failures.length} failed, ${seen.size} replicas seen`);
    assert.deepEqual(failures, []);
    for (let i = 1; i <= 10; i++) {
      assert.ok(seen.has(`poll-${i}`), `poll-${i} served; seen: ${[...seen].join(", ")}`);
    }
    assert.ok(requests > 50, `the client kept polling (${requests} requests)`);
  });
});
