// The bearer token flow of adapters/registryAuth.ts against a registry and token service on
// loopback that speak the distribution spec's challenge (Debian's docker-registry needs an
// external token server for it, so the integration tier covers basic auth; this covers the rest).
import assert from "node:assert/strict";
import * as http from "node:http";
import { after, before, describe, test } from "node:test";
import { registryFetch } from "../../adapters/registryAuth";

const USER = "team";
const PASSWORD = "s3cret-Password";
const TOKEN = "token-for-team";
const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("registryFetch: the bearer token flow", () => {
  let server: http.Server;
  let base = "";
  const seen: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", base);
      seen.push(`${req.method} ${url.pathname}${url.search}`);
      if (url.pathname === "/token") {
        const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
        if (req.headers.authorization !== expected) {
          // Some token services echo what they were sent; the adapter must not pass it on.
          res.writeHead(401, { "content-type": "text/plain" });
          res.end(`bad credentials: ${req.headers.authorization ?? "none"}`);
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ token: TOKEN }));
        return;
      }
      if (req.headers.authorization === `Bearer ${TOKEN}`) {
        res.writeHead(200, { "docker-content-digest": DIGEST });
        res.end();
        return;
      }
      res.writeHead(401, {
        "www-authenticate": `Bearer realm="${base}/token",service="loopback-registry",scope="repository:team/hunter:pull"`,
      });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("401 Bearer → token from the realm with basic auth → the request again with the token", async () => {
    seen.length = 0;
    const res = await registryFetch(`${base}/v2/team/hunter/manifests/1.0.0`, "HEAD", {
      repositoryPath: "team/hunter",
      credentials: { username: USER, password: PASSWORD },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), DIGEST);
    assert.deepEqual(seen, [
      "HEAD /v2/team/hunter/manifests/1.0.0",
      "GET /token?service=loopback-registry&scope=repository%3Ateam%2Fhunter%3Apull",
      "HEAD /v2/team/hunter/manifests/1.0.0",
    ]);
  });

  test("a wrong password at the token service: the registry and the keys, never the password", async () => {
    const wrong = "wrong-Password-123";
    const err = await registryFetch(`${base}/v2/team/hunter/manifests/1.0.0`, "HEAD", {
      repositoryPath: "team/hunter",
      credentials: { username: USER, password: wrong },
    }).then(
      () => assert.fail("expected a rejection"),
      (e: unknown) => e as Error,
    );
    assert.equal(
      err.message,
      `the registry at ${base} refused the credentials of user "team" ` +
        "(rewind:app.registry.username, rewind:app.registry.password): HTTP 401; fix the user or " +
        "the password (pulumi config set --secret --path rewind:app.registry.password <password>)",
    );
    assert.ok(!String(err.stack).includes(wrong));
  });

  test("no credentials: the token service refuses, and the error says which keys to set", async () => {
    await assert.rejects(
      registryFetch(`${base}/v2/team/hunter/manifests/1.0.0`, "HEAD", {
        repositoryPath: "team/hunter",
      }),
      new RegExp(
        `^Error: the registry at ${base.replace(/[.]/g, "\\.")} wants credentials to pull ` +
          "team/hunter .*set rewind:app\\.registry\\.username and rewind:app\\.registry\\.password",
      ),
    );
  });
});
