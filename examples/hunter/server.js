"use strict";
// Hunter: the sample web API that Rewind releases, migrates and rolls back.
// One source tree, several versions: the behaviour of a version comes from
// APP_VERSION, which scripts/images bakes into each image.
//   1.0.0      reads items (id, name)                      -> schema 0001
//   1.1.0      also reads items.slug                        -> needs schema 0002
//   1.2.0-bad  like 1.1.0, but never becomes ready (a release the gate must reject)
// For the front door's tests (test/integration/frontDoor.test.ts), every version also has:
//   GET  /slow?ms=N   answers after N ms (at most 60 s)
//   POST /upload      streams the body through sha256: {"bytes","sha256","replica"}
//   GET  /ws          a WebSocket (RFC 6455 by hand): sends "hello <version>", echoes text
//                     frames; on SIGTERM every open one gets a close frame (1001, going away)

const crypto = require("node:crypto");
const http = require("node:http");
const { Pool } = require("pg");

/** "1.2.0-bad" -> { major: 1, minor: 2, patch: 0, pre: ["bad"] }; null if not semver. */
function parseVersion(version) {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(version);
  if (!m) return null;
  return { major: +m[1], minor: +m[2], patch: +m[3], pre: m[4] ? m[4].split(".") : [] };
}

/** What a version does differently. Unknown versions behave like the newest code. */
function featuresOf(version) {
  const v = parseVersion(version);
  if (!v) return { readsSlug: true, neverReady: false };
  const atLeast110 = v.major > 1 || (v.major === 1 && v.minor >= 1);
  return { readsSlug: atLeast110, neverReady: v.pre.includes("bad") };
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

/** The request handler, built from its dependencies so tests can drive it directly. */
function createHandler({ version, pool }) {
  const features = featuresOf(version);
  const itemsSql = features.readsSlug
    ? "SELECT id, name, slug FROM items ORDER BY id"
    : "SELECT id, name FROM items ORDER BY id";

  async function ready(res) {
    if (features.neverReady) {
      return sendJson(res, 503, { status: "unavailable", reason: `version ${version} is broken` });
    }
    if (!pool)
      return sendJson(res, 503, { status: "unavailable", reason: "DATABASE_URL is not set" });
    try {
      await pool.query("SELECT 1");
      sendJson(res, 200, { status: "ready" });
    } catch (err) {
      sendJson(res, 503, { status: "unavailable", reason: err.message });
    }
  }

  // Streamed, never buffered: the proxy in front must stream too for a large body to arrive.
  function upload(req, res) {
    const hash = crypto.createHash("sha256");
    let bytes = 0;
    req.on("data", (chunk) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on("end", () =>
      sendJson(res, 200, { bytes, sha256: hash.digest("hex"), replica: process.env.PORT }),
    );
  }

  async function items(res) {
    if (!pool) return sendJson(res, 503, { error: "DATABASE_URL is not set" });
    try {
      const { rows } = await pool.query(itemsSql);
      sendJson(res, 200, rows);
    } catch (err) {
      // A schema older than this version expects ends here (e.g. 1.1.0 on 0001).
      sendJson(res, 500, { error: err.message });
    }
  }

  return function handle(req, res) {
    const url = new URL(req.url, "http://localhost");
    const path = url.pathname;
    if (req.method === "POST" && path === "/upload") {
      return upload(req, res);
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendJson(res, 405, { error: `method ${req.method} not allowed` });
    }
    switch (path) {
      case "/healthz/live":
        return sendJson(res, 200, { status: "live" });
      case "/healthz/ready":
        return ready(res);
      case "/version":
        return sendJson(res, 200, { version });
      case "/items":
        return items(res);
      case "/slow": {
        const ms = Math.min(Math.max(Number(url.searchParams.get("ms")) || 0, 0), 60000);
        return void setTimeout(() => sendJson(res, 200, { version, waited: ms }), ms);
      }
      default:
        return sendJson(res, 404, { error: `no route for ${path}` });
    }
  };
}

const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** One unmasked server frame (FIN set), payloads under 64 KiB. */
function frame(opcode, payload) {
  const n = payload.length;
  const header =
    n < 126 ? Buffer.from([0x80 | opcode, n]) : Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff]);
  return Buffer.concat([header, payload]);
}

/** Complete client frames in `buf` (masked), and the bytes left over. */
function readFrames(buf) {
  const frames = [];
  let at = 0;
  while (buf.length - at >= 2) {
    const opcode = buf[at] & 0x0f;
    const masked = (buf[at + 1] & 0x80) !== 0;
    let length = buf[at + 1] & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (buf.length - at < 4) break;
      length = buf.readUInt16BE(at + 2);
      offset += 2;
    } else if (length === 127) {
      break; // not used by the tests
    }
    const maskAt = offset;
    if (masked) offset += 4;
    if (buf.length < offset + length) break;
    const payload = Buffer.from(buf.subarray(offset, offset + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= buf[maskAt + (i % 4)];
    frames.push({ opcode, payload });
    at = offset + length;
  }
  return { frames, rest: buf.subarray(at) };
}

/** Accepts WebSockets on /ws; returns the set of open ones (closed cleanly on shutdown). */
function acceptWebSockets(server, version) {
  const sockets = new Set();
  server.on("upgrade", (req, socket) => {
    const key = req.headers["sec-websocket-key"];
    if (new URL(req.url, "http://localhost").pathname !== "/ws" || typeof key !== "string") {
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
      return;
    }
    const accept = crypto
      .createHash("sha1")
      .update(key + WS_GUID)
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => sockets.delete(socket));
    socket.write(frame(0x1, Buffer.from(`hello ${version}`)));
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      const { frames, rest } = readFrames(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const f of frames) {
        if (f.opcode === 0x1) socket.write(frame(0x1, f.payload));
        if (f.opcode === 0x8) socket.end(frame(0x8, f.payload));
      }
    });
  });
  return sockets;
}

function main() {
  const version = process.env.APP_VERSION || "0.0.0-dev";
  const port = Number(process.env.PORT || 8000);
  const url = process.env.DATABASE_URL;
  // Short timeouts: a probe must answer quickly even when the database is down.
  const pool = url
    ? new Pool({
        connectionString: url,
        max: 4,
        connectionTimeoutMillis: 2000,
        idleTimeoutMillis: 10000,
        query_timeout: 5000,
      })
    : null;
  // An idle client losing its server (database restarted or restored) must not
  // crash the process; the next query reconnects.
  if (pool)
    pool.on("error", (err) => console.error(`hunter: idle database client: ${err.message}`));

  const server = http.createServer(createHandler({ version, pool }));
  const webSockets = acceptWebSockets(server, version);
  server.listen(port, () => console.log(`hunter ${version} listening on :${port}`));

  // Node as PID 1 gets no default SIGTERM handling; without this `docker stop`
  // would wait its full timeout and then kill.
  const shutdown = (signal) => {
    console.log(`hunter ${version}: ${signal}, shutting down`);
    // 1001 "going away": a WebSocket client sees a clean close, not a cut connection.
    for (const socket of webSockets) socket.end(frame(0x8, Buffer.from([0x03, 0xe9])));
    server.close();
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 3000).unref();
    if (pool) pool.end().catch(() => {});
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (require.main === module) main();

module.exports = { parseVersion, featuresOf, createHandler, readFrames, frame };
