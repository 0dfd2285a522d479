"use strict";
// Hunter: the sample web API that Rewind releases, migrates and rolls back.
// One source tree, several versions: the behaviour of a version comes from
// APP_VERSION, which scripts/images bakes into each image.
//   1.0.0      reads items (id, name)                      -> schema 0001
//   1.1.0      also reads items.slug                        -> needs schema 0002
//   1.2.0-bad  like 1.1.0, but never becomes ready (a release the gate must reject)

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
    const path = new URL(req.url, "http://localhost").pathname;
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
      default:
        return sendJson(res, 404, { error: `no route for ${path}` });
    }
  };
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
  server.listen(port, () => console.log(`hunter ${version} listening on :${port}`));

  // Node as PID 1 gets no default SIGTERM handling; without this `docker stop`
  // would wait its full timeout and then kill.
  const shutdown = (signal) => {
    console.log(`hunter ${version}: ${signal}, shutting down`);
    server.close();
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 3000).unref();
    if (pool) pool.end().catch(() => {});
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (require.main === module) main();

module.exports = { parseVersion, featuresOf, createHandler };
