// The router against real sockets: replicas are small HTTP servers in this process, the state
// directory a temporary one, exactly as the provider writes it.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  Router,
  STATUS_PATH,
  UPSTREAMS_FILE,
  parseUpstreamList,
  readUpstreamList,
  startRouter,
  writeUpstreamList,
} from "../../images/router/router";

interface Replica {
  readonly name: string;
  readonly server: http.Server;
  readonly address: string;
  readonly seen: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[];
}

async function replica(name: string): Promise<Replica> {
  const seen: Replica["seen"] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", body, headers: req.headers });
      res.writeHead(200, { "content-type": "text/plain", "x-replica": name });
      res.end(`${name} ${req.method} ${req.url} ${body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return { name, server, address: `127.0.0.1:${port}`, seen };
}

/** A port nothing listens on: bound, then closed. */
async function deadAddress(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `127.0.0.1:${port}`;
}

async function get(router: Router, urlPath: string, init: RequestInit = {}) {
  const res = await fetch(`http://127.0.0.1:${router.port}${urlPath}`, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("router", () => {
  let dir: string;
  let router: Router;
  let a: Replica;
  let b: Replica;
  const logs: string[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-router-"));
    [a, b] = await Promise.all([replica("a"), replica("b")]);
    router = await startRouter({ port: 0, stateDir: dir, pollMs: 20, log: (l) => logs.push(l) });
  });

  after(async () => {
    await router.close();
    a.server.close();
    b.server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("with no list yet it answers 503 and reports generation 0", async () => {
    assert.deepEqual(await get(router, "/x").then((r) => r.status), 503);
    const status = await get(router, STATUS_PATH);
    assert.deepEqual(JSON.parse(status.text), { generation: 0, upstreams: [] });
  });

  test("picks up a new list, reports it, and spreads requests over the replicas", async () => {
    writeUpstreamList(dir, { generation: 1, upstreams: [a.address, b.address] });
    await until("generation 1", () => router.current().generation === 1);
    assert.deepEqual(JSON.parse((await get(router, STATUS_PATH)).text), {
      generation: 1,
      upstreams: [a.address, b.address],
    });
    const answers = await Promise.all([1, 2, 3, 4].map(() => get(router, "/who?x=1")));
    const names = answers.map((r) => r.headers.get("x-replica")).sort();
    assert.deepEqual(names, ["a", "a", "b", "b"]);
    assert.equal(answers[0].text.split(" ").slice(1, 3).join(" "), "GET /who?x=1");
  });

  test("forwards method, body and end-to-end headers; drops hop-by-hop ones", async () => {
    writeUpstreamList(dir, { generation: 2, upstreams: [a.address] });
    await until("generation 2", () => router.current().generation === 2);
    // node:http, not fetch: fetch refuses to send hop-by-hop headers at all.
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          port: router.port,
          host: "127.0.0.1",
          method: "POST",
          path: "/items",
          headers: { "x-request-id": "r1", connection: "keep-alive", "keep-alive": "timeout=5" },
          agent: false,
        },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve(body));
        },
      );
      req.on("error", reject);
      req.end("hello");
    });
    assert.equal(text, "a POST /items hello");
    const seen = a.seen.at(-1)!;
    assert.equal(seen.headers["x-request-id"], "r1");
    assert.equal(seen.headers["keep-alive"], undefined);
    assert.match(String(seen.headers["x-forwarded-for"]), /127\.0\.0\.1/);
  });

  test("a request to a replica that refuses the connection is retried on another", async () => {
    const dead = await deadAddress();
    writeUpstreamList(dir, { generation: 3, upstreams: [dead, b.address] });
    await until("generation 3", () => router.current().generation === 3);
    const answers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => get(router, "/healthz/live")));
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.ok(answers.every((r) => r.headers.get("x-replica") === "b"));
  });

  test("when no replica answers it says so with 502", async () => {
    writeUpstreamList(dir, { generation: 4, upstreams: [await deadAddress()] });
    await until("generation 4", () => router.current().generation === 4);
    const res = await get(router, "/x");
    assert.equal(res.status, 502);
    assert.match(res.text, /no replica answered/);
  });

  test("a malformed list is ignored: the router keeps serving from the last good one", async () => {
    writeUpstreamList(dir, { generation: 5, upstreams: [a.address] });
    await until("generation 5", () => router.current().generation === 5);
    fs.writeFileSync(path.join(dir, UPSTREAMS_FILE), "{not json");
    await until("the bad file is seen", () => logs.some((l) => l.includes("ignoring")));
    assert.equal(router.current().generation, 5);
    assert.equal((await get(router, "/x")).status, 200);
  });
});

describe("upstream list file", () => {
  test("written atomically, readable by others, read back as written", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rewind-upstreams-"));
    try {
      writeUpstreamList(path.join(dir, "s"), { generation: 7, upstreams: ["127.0.0.1:4000"] });
      assert.deepEqual(readUpstreamList(path.join(dir, "s")), {
        generation: 7,
        upstreams: ["127.0.0.1:4000"],
      });
      assert.deepEqual(fs.readdirSync(path.join(dir, "s")), [UPSTREAMS_FILE]);
      assert.equal(fs.statSync(path.join(dir, "s", UPSTREAMS_FILE)).mode & 0o777, 0o644);
      assert.equal(readUpstreamList(path.join(dir, "missing")), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a bad list names the field and what is allowed", () => {
    assert.throws(
      () => parseUpstreamList('{"generation":-1,"upstreams":[]}'),
      new Error("generation is -1; allowed: an integer >= 0"),
    );
    assert.throws(
      () => parseUpstreamList('{"generation":1,"upstreams":["http://x"]}'),
      new Error(`upstreams is ["http://x"]; allowed: a list of "host:port"`),
    );
  });
});
