import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DockerDeploymentInputs,
  DockerDeploymentOutputs,
  dockerDeploymentHandler,
  inputProblems,
} from "../../provider/dockerDeployment";
import { UNKNOWN } from "../../provider/resourceHandler";

const REF = `127.0.0.1:5000/hunter@sha256:${"a".repeat(64)}`;
const ROUTER = `127.0.0.1:5000/rewind-router@sha256:${"b".repeat(64)}`;

const inputs: DockerDeploymentInputs = {
  service: "hunter",
  stackId: "rewind/prod",
  ref: REF,
  version: "1.0.0",
  replicas: 2,
  port: 8000,
  env: { DATABASE_URL: "postgres://u:p@h/db" },
  command: [],
  health: { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 },
  routerRef: ROUTER,
};

const state: DockerDeploymentOutputs = {
  ...inputs,
  url: "http://127.0.0.1:8000",
  routerId: "r1",
  routerDir: "/tmp/x",
  generation: 3,
  containers: [],
};

describe("DockerDeployment inputs", () => {
  test("valid inputs have no problems", () => {
    assert.deepEqual(inputProblems(inputs), []);
  });

  test("each bad input names the property, the value and what is allowed", () => {
    const cases: [Partial<DockerDeploymentInputs>, string, string][] = [
      [
        { service: "Hunter" },
        "service",
        `service is "Hunter"; allowed: a DNS label: lowercase letters, digits and -, starting ` +
          `with a letter, not ending with -, at most 63 characters`,
      ],
      [{ stackId: "prod" }, "stackId", `stackId is "prod"; allowed: "<project>/<stack>"`],
      [
        { ref: "127.0.0.1:5000/hunter:1.0.0" },
        "ref",
        `ref is "127.0.0.1:5000/hunter:1.0.0"; allowed: a digest-pinned image reference, ` +
          `repo@sha256:<64 hex>`,
      ],
      [{ replicas: 0 }, "replicas", "replicas is 0; allowed: an integer of at least 1"],
      [{ port: 80 }, "port", "port is 80; allowed: an integer from 1024 to 65535"],
      [
        { command: ["node", ""] },
        "command",
        `command is ["node",""]; allowed: an argument array of non-empty strings, ` +
          `e.g. ["node", "worker.js"]`,
      ],
      [
        { health: { ...inputs.health, ready: "healthz" } },
        "health.ready",
        `health.ready is "healthz"; allowed: a URL path starting with "/"`,
      ],
      [
        { health: { ...inputs.health, timeoutSeconds: 0 } },
        "health.timeoutSeconds",
        "health.timeoutSeconds is 0; allowed: an integer number of seconds, at least 1",
      ],
    ];
    for (const [change, property, reason] of cases) {
      assert.deepEqual(inputProblems({ ...inputs, ...change }), [{ property, reason }]);
    }
  });

  test("values not known yet (a preview before the ImageRef resolves) are not problems", () => {
    const unknown = UNKNOWN as never;
    assert.deepEqual(
      inputProblems({ ...inputs, ref: unknown, routerRef: unknown, env: unknown, health: unknown }),
      [],
    );
  });

  test("env problems never print the values (they are secrets)", () => {
    const problems = inputProblems({ ...inputs, env: { "1BAD": "s3cret" } });
    assert.deepEqual(problems, [
      { property: "env", reason: "env must map variable names (letters, digits, _) to strings" },
    ]);
    assert.deepEqual(inputProblems({ ...inputs, env: { PORT: "1" } }), [
      {
        property: "env",
        reason: "env sets PORT; allowed: any other name (Rewind gives each replica its own PORT)",
      },
    ]);
  });
});

describe("DockerDeployment diff", () => {
  const diff = (olds: DockerDeploymentOutputs, news: DockerDeploymentInputs) =>
    dockerDeploymentHandler.diff!("rewind/prod/hunter", olds, news);

  test("no change when the inputs match what runs", async () => {
    assert.deepEqual(await diff(state, inputs), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  test("version, env, replicas, port and router changes update in place (health-gated)", async () => {
    for (const change of [
      { version: "1.1.0", ref: REF.replace(/a{64}/, "c".repeat(64)) },
      { env: { DATABASE_URL: "postgres://other" } },
      { replicas: 3 },
      { port: 8001 },
      { routerRef: ROUTER.replace(/b{64}/, "d".repeat(64)) },
    ]) {
      assert.deepEqual(await diff(state, { ...inputs, ...change }), {
        changes: true,
        replaces: [],
        deleteBeforeReplace: false,
      });
    }
  });

  test("a refresh that found fewer replicas or no router is a change", async () => {
    assert.equal((await diff({ ...state, replicas: 1 }, inputs)).changes, true);
    assert.equal((await diff({ ...state, routerId: "" }, inputs)).changes, true);
  });

  test("another service or stack replaces, deleting first (the router port)", async () => {
    assert.deepEqual(await diff(state, { ...inputs, service: "api" }), {
      changes: true,
      replaces: ["service"],
      deleteBeforeReplace: true,
    });
  });
});
