import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LABELS, containerName, replicaSpec, serviceSelector } from "../../domain/dockerLabels";

const REF = `127.0.0.1:5000/hunter@sha256:${"a".repeat(64)}`;

describe("container labels", () => {
  test("a service is selected by stack and service, so stacks never see each other", () => {
    assert.deepEqual(serviceSelector("rewind/prod", "api"), {
      "rewind.stack": "rewind/prod",
      "rewind.service": "api",
    });
    assert.deepEqual(LABELS, {
      stack: "rewind.stack",
      service: "rewind.service",
      role: "rewind.role",
      version: "rewind.version",
      spec: "rewind.spec",
      port: "rewind.port",
      state: "rewind.state",
    });
  });

  test("the spec hash ignores env order but not env values, command or ref", () => {
    const base = { ref: REF, command: [], env: { A: "1", B: "2" } };
    const spec = replicaSpec(base);
    assert.match(spec, /^[0-9a-f]{16}$/);
    assert.equal(replicaSpec({ ...base, env: { B: "2", A: "1" } }), spec);
    assert.notEqual(replicaSpec({ ...base, env: { A: "1", B: "3" } }), spec);
    assert.notEqual(replicaSpec({ ...base, command: ["node", "worker.js"] }), spec);
    assert.notEqual(replicaSpec({ ...base, ref: REF.replace(/a{64}/, "b".repeat(64)) }), spec);
  });

  test("container names are readable and valid for the engine", () => {
    assert.equal(
      containerName("rewind-app/prod", "api", "1.2.0-bad", "0a1b2c"),
      "rewind-app_prod.api.1.2.0-bad.0a1b2c",
    );
  });
});
