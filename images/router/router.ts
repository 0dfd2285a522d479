// Rewind's router: a tiny HTTP proxy that owns a service's public port on the Docker target and
// forwards to the replicas listed in a file. The DockerDeployment provider writes that file
// (temp + rename, so the router never reads half a list) only with replicas that answered their
// readiness path, and stops old replicas only once GET /__rewind/upstreams reports the new
// generation: that order is what keeps a release free of failed requests.
//
// It runs in its own image (scripts/images builds rewind-router from this file alone), so it
// imports nothing but Node's own modules.
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";

/**
 * The router image's tag, `<registry>/rewind-router:<ROUTER_VERSION>`; scripts/images reads it
 * from this line. Bump it whenever this file changes, so a pinned router never moves.
 */
export const ROUTER_VERSION = "1";

/** The file the provider writes in the state directory. */
export const UPSTREAMS_FILE = "upstreams.json";
/** Where the router reports the list it uses; an app path of this name is shadowed. */
export const STATUS_PATH = "/__rewind/upstreams";

/** The upstream list, as written by the provider and reported by the router. */
export interface UpstreamList {
  /** Increases with every list the provider writes; the provider waits until it is reported. */
  readonly generation: number;
  /** `host:port` of each ready replica. */
  readonly upstreams: readonly string[];
}

const UPSTREAM = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/;

/**
 * Parses the file's text.
 * @throws Error when it is not an upstream list (the router then keeps its previous list).
 */
export function parseUpstreamList(text: string): UpstreamList {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null) {
    throw new Error("not a JSON object");
  }
  const { generation, upstreams } = value as Record<string, unknown>;
  if (typeof generation !== "number" || !Number.isInteger(generation) || generation < 0) {
    throw new Error(`generation is ${JSON.stringify(generation)}; allowed: an integer >= 0`);
  }
  if (
    !Array.isArray(upstreams) ||
    !upstreams.every((u) => typeof u === "string" && UPSTREAM.test(u))
  ) {
    throw new Error(`upstreams is ${JSON.stringify(upstreams)}; allowed: a list of "host:port"`);
  }
  return { generation, upstreams: upstreams as string[] };
}

/**
 * Writes the list atomically: a reader sees the old file or the new one, never a mix.
 * Readable by the router's unprivileged user.
 */
export function writeUpstreamList(stateDir: string, list: UpstreamList): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  const target = path.join(stateDir, UPSTREAMS_FILE);
  const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(list), { mode: 0o644 });
  fs.renameSync(temp, target);
}

/** The list in the state directory, or undefined when there is none (or it is unreadable). */
export function readUpstreamList(stateDir: string): UpstreamList | undefined {
  try {
    return parseUpstreamList(fs.readFileSync(path.join(stateDir, UPSTREAMS_FILE), "utf8"));
  } catch {
    return undefined;
  }
}

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(k) && v !== undefined) {
      out[k] = v;
    }
  }
  return out;
}

const MAX_BODY = 16 * 1024 * 1024;
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const CONNECT_TIMEOUT_MS = 3_000;

export interface RouterOptions {
  /** The public port. */
  readonly port: number;
  /** Directory holding `upstreams.json`. */
  readonly stateDir: string;
  /**
   * How often the file is re-read. Polling, not fs.watch: inotify does not see a rename made
   * outside a bind-mounted directory reliably.
   * @default 100
   */
  readonly pollMs?: number;
  /** Where to log list changes and failures. @default console.log */
  readonly log?: (line: string) => void;
}

export interface Router {
  /** The port it listens on (useful with port 0 in tests). */
  readonly port: number;
  /** The list in use. */
  current(): UpstreamList;
  close(): Promise<void>;
}

/** Starts the router; resolves once it listens. */
export function startRouter(options: RouterOptions): Promise<Router> {
  const log = options.log ?? ((line: string) => console.log(line));
  const file = path.join(options.stateDir, UPSTREAMS_FILE);
  // No keep-alive to replicas: a pooled socket to a replica that is shutting down would fail
  // a request the replica never saw; a fresh loopback connection costs microseconds.
  const agent = new http.Agent({ keepAlive: false });
  let list: UpstreamList = { generation: 0, upstreams: [] };
  let lastText = "";
  let next = 0;

  function reload(): void {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      return; // not written yet: keep what we have
    }
    if (text === lastText) {
      return;
    }
    lastText = text;
    try {
      list = parseUpstreamList(text);
      log(`router: generation ${list.generation}: ${list.upstreams.join(", ") || "(none)"}`);
    } catch (err) {
      log(`router: ignoring ${file}: ${(err as Error).message}`);
    }
  }
  reload();
  const timer = setInterval(reload, options.pollMs ?? 100);

  function send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      "cache-control": "no-store",
    });
    res.end(text);
  }

  function forward(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
    tried: readonly string[],
  ): void {
    const upstreams = list.upstreams;
    if (upstreams.length === 0) {
      send(res, 503, { error: "no ready replica" });
      return;
    }
    // Round robin, skipping the replica that just failed when there is another.
    let upstream = upstreams[next++ % upstreams.length];
    if (tried.includes(upstream) && upstreams.length > 1) {
      upstream = upstreams.find((u) => !tried.includes(u)) ?? upstream;
    }
    const colon = upstream.lastIndexOf(":");
    const headers = endToEnd(req.headers);
    headers["content-length"] = body.length;
    const forwardedFor = req.socket.remoteAddress;
    if (forwardedFor !== undefined) {
      headers["x-forwarded-for"] = [req.headers["x-forwarded-for"], forwardedFor]
        .filter((v) => v !== undefined)
        .join(", ");
    }
    const upstreamReq = http.request({
      host: upstream.slice(0, colon),
      port: Number(upstream.slice(colon + 1)),
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    let connected = false;
    let answered = false;
    // Only the connection has a deadline: how long the app takes to answer is its own business.
    const connectTimer = setTimeout(
      () => upstreamReq.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    upstreamReq.on("socket", (socket) => {
      socket.once("connect", () => {
        connected = true;
        clearTimeout(connectTimer);
      });
    });
    upstreamReq.on("response", (upstreamRes) => {
      answered = true;
      res.writeHead(upstreamRes.statusCode ?? 502, endToEnd(upstreamRes.headers));
      upstreamRes.pipe(res);
      upstreamRes.on("error", () => res.destroy());
    });
    upstreamReq.on("error", (err) => {
      clearTimeout(connectTimer);
      if (answered || res.headersSent) {
        res.destroy();
        return;
      }
      // Once more on another replica when this one never took the request (refused, gone: a
      // replica stopped between the list switch and this request), or when repeating it is
      // harmless. A POST the replica may have processed is not sent twice.
      const retry = !connected || IDEMPOTENT.has(req.method ?? "");
      if (tried.length === 0 && retry) {
        forward(req, res, body, [upstream]);
        return;
      }
      log(
        `router: ${req.method} ${req.url} via ${[...tried, upstream].join(", ")}: ${err.message}`,
      );
      send(res, 502, { error: `no replica answered: ${err.message}` });
    });
    upstreamReq.end(body);
  }

  const server = http.createServer((req, res) => {
    if (req.url === STATUS_PATH && (req.method === "GET" || req.method === "HEAD")) {
      send(res, 200, list);
      return;
    }
    // The body is read whole before forwarding, so a retry can send it again.
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        send(res, 413, { error: `request body over ${MAX_BODY} bytes` });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (size <= MAX_BODY) forward(req, res, Buffer.concat(chunks), []);
    });
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : options.port;
      log(`router: listening on :${port}, upstreams from ${file}`);
      resolve({
        port,
        current: () => list,
        close: () =>
          new Promise<void>((done) => {
            clearInterval(timer);
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}

function main(): void {
  const port = Number(process.env.ROUTER_PORT);
  const stateDir = process.env.ROUTER_STATE_DIR ?? "/state";
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`router: ROUTER_PORT is "${process.env.ROUTER_PORT}"; allowed: 1 to 65535`);
    process.exit(2);
  }
  startRouter({ port, stateDir }).then(
    (router) => {
      // Node as PID 1 gets no default SIGTERM handling; without this `docker stop` waits its
      // full timeout and then kills, cutting requests in flight.
      const shutdown = (): void => {
        setTimeout(() => process.exit(0), 5_000).unref();
        void router.close().then(() => process.exit(0));
      };
      process.on("SIGTERM", shutdown);
      process.on("SIGINT", shutdown);
    },
    (err: Error) => {
      console.error(`router: cannot listen on :${port}: ${err.message}`);
      process.exit(1);
    },
  );
}

if (require.main === module) {
  main();
}
