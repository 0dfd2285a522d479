import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import {
  describeCheck,
  gateChecks,
  gateVerdict,
  smokeProblem,
  statusPasses,
} from "../../domain/gateChecks";

const spec = {
  live: "/healthz/live",
  ready: "/healthz/ready",
  smoke: [{ path: "/items", expectStatus: 200 }],
  sql: [{ query: "select 1 from items", minRows: 100 }],
};

describe("gateChecks", () => {
  test("probes come first, then smoke requests, then SQL checks", () => {
    assert.deepEqual(gateChecks(spec), [
      { kind: "live", path: "/healthz/live" },
      { kind: "ready", path: "/healthz/ready" },
      { kind: "smoke", path: "/items", expectStatus: 200 },
      { kind: "sql", query: "select 1 from items", minRows: 100 },
    ]);
  });

  test("a startup probe runs before liveness", () => {
    assert.deepEqual(gateChecks({ ...spec, startup: "/healthz/startup" }).slice(0, 2), [
      { kind: "startup", path: "/healthz/startup" },
      { kind: "live", path: "/healthz/live" },
    ]);
  });
});

describe("statusPasses", () => {
  test("probes accept any 2xx and nothing else", () => {
    const ready = { kind: "ready", path: "/r" } as const;
    assert.deepEqual(
      [199, 200, 204, 299, 300, 503].map((s) => statusPasses(ready, s)),
      [false, true, true, true, false, false],
    );
  });

  test("a smoke request wants exactly its status", () => {
    const smoke = { kind: "smoke", path: "/gone", expectStatus: 404 } as const;
    assert.deepEqual(
      [200, 404].map((s) => statusPasses(smoke, s)),
      [false, true],
    );
  });
});

describe("gateVerdict", () => {
  const [live, ready, smoke, sql] = gateChecks(spec);

  test("passes when every check passed", () => {
    assert.deepEqual(
      gateVerdict([
        { check: live, ok: true, observed: "answered 200" },
        { check: ready, ok: true, observed: "answered 200" },
      ]),
      { passed: true, message: "health gate passed: 2 checks" },
    );
  });

  test("fails naming every failed check and what was seen", () => {
    assert.deepEqual(
      gateVerdict([
        { check: live, ok: true, observed: "answered 200" },
        { check: ready, ok: false, observed: "answered 503 (http://127.0.0.1:8000/healthz/ready)" },
        { check: smoke, ok: true, observed: "answered 200" },
        { check: sql, ok: false, observed: "returned 3 rows" },
      ]),
      {
        passed: false,
        message:
          "health gate failed (2 of 4 checks):\n" +
          "  - ready probe GET /healthz/ready: answered 503 (http://127.0.0.1:8000/healthz/ready)\n" +
          "  - SQL check `select 1 from items` (expects at least 100 rows): returned 3 rows",
      },
    );
  });
});

describe("a smoke request's time limit and the dependency checks (issue 11)", () => {
  test("a smoke answer passes with its status within maxMs", () => {
    const check = { kind: "smoke" as const, path: "/items", expectStatus: 200, maxMs: 2000 };
    assert.equal(smokeProblem(check, 200, 1999), undefined);
    assert.equal(
      smokeProblem(check, 200, 2300.4),
      "answered 200 in 2300 ms, over the 2000 ms limit",
    );
    assert.equal(smokeProblem(check, 500, 10), "answered 500");
    assert.equal(smokeProblem({ ...check, maxMs: undefined }, 200, 99_999), undefined);
    assert.equal(describeCheck(check), "smoke GET /items (expects 200 within 2000 ms)");
  });

  test("TCP and command dependencies run after the SQL checks, each named", () => {
    const checks = gateChecks({
      live: "/l",
      ready: "/r",
      smoke: [],
      sql: [{ query: "select 1", minRows: 1 }],
      tcp: [{ name: "redis", host: "127.0.0.1", port: 6379 }],
      command: [{ name: "queue", command: ["celery", "inspect", "ping"] }],
    });
    assert.deepEqual(
      checks.map((c) => c.kind),
      ["live", "ready", "sql", "tcp", "command"],
    );
    assert.deepEqual(checks.slice(3).map(describeCheck), [
      "dependency redis: TCP 127.0.0.1:6379",
      'dependency queue: ["celery","inspect","ping"] exits 0',
    ]);
  });
});
