import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DockerDeploymentInputs,
  DockerDeploymentOutputs,
  FrontDoorInputs,
  dockerDeploymentHandler,
  frontDoorOf,
  inputProblems,
  proxyArgs,
  proxyDirFor,
  proxySpec,
} from "../../provider/dockerDeployment";
import { UNKNOWN } from "../../provider/resourceHandler";

const REF = `127.0.0.1:5000/hunter@sha256:${"a".repeat(64)}`;
const PROXY = `127.0.0.1:5000/rewind-haproxy@sha256:${"b".repeat(64)}`;

const inputs: FrontDoorInputs = {
  service: "hunter",
  stackId: "rewind/prod",
  ref: REF,
  version: "1.0.0",
  replicas: 2,
  port: 8000,
  env: { DATABASE_URL: "postgres://u:p@h/db" },
  command: [],
  health: { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 },
  proxyRef: PROXY,
  drainSeconds: 30,
  registryUsername: "",
  registryPassword: "",
};

const state: DockerDeploymentOutputs = {
  ...inputs,
  url: "http://127.0.0.1:8000",
  proxyId: "p1",
  proxyDir: "/tmp/x",
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
        { drainSeconds: -1 },
        "drainSeconds",
        "drainSeconds is -1; allowed: an integer number of seconds from 0 to 3600",
      ],
      [
        { proxyRef: "127.0.0.1:5000/rewind-haproxy:1" },
        "proxyRef",
        `proxyRef is "127.0.0.1:5000/rewind-haproxy:1"; allowed: a digest-pinned image ` +
          `reference, repo@sha256:<64 hex> (the front door of a service with a port)`,
      ],
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
      inputProblems({ ...inputs, ref: unknown, proxyRef: unknown, env: unknown, health: unknown }),
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

describe("a DockerDeployment without a port (a worker without HTTP)", () => {
  const withoutFrontDoor = ({ port: _port, proxyRef: _proxyRef, ...rest }: FrontDoorInputs) => rest;
  const worker: DockerDeploymentInputs = {
    ...withoutFrontDoor(inputs),
    service: "worker",
    command: ["celery", "worker"],
    health: { ...inputs.health, upSeconds: 5 },
  };
  const workerState: DockerDeploymentOutputs = {
    ...worker,
    url: "",
    proxyId: "",
    proxyDir: "",
    containers: [],
  };
  const diff = (olds: DockerDeploymentOutputs, news: DockerDeploymentInputs) =>
    dockerDeploymentHandler.diff!("rewind/prod/worker", olds, news);

  test("is valid when ready by upSeconds or a command; it has no front door", () => {
    assert.deepEqual(inputProblems(worker), []);
    const byCommand = { ...worker, health: { ...inputs.health, command: ["celery", "ping"] } };
    assert.deepEqual(inputProblems(byCommand), []);
    assert.equal(frontDoorOf(worker), undefined);
    assert.deepEqual(frontDoorOf(inputs), inputs);
  });

  test("needs upSeconds or a command: nothing answers its HTTP ready path", () => {
    assert.deepEqual(inputProblems({ ...worker, health: inputs.health }), [
      {
        property: "health",
        reason:
          "health has neither upSeconds nor command while port is unset; allowed: " +
          "health.upSeconds or health.command for a worker without HTTP, or a port",
      },
    ]);
  });

  test("a proxy image only with a port, and a port only with a proxy image", () => {
    assert.deepEqual(inputProblems({ ...worker, proxyRef: PROXY }), [
      {
        property: "proxyRef",
        reason:
          `proxyRef is "${PROXY}"; allowed: no value while port is unset ` +
          "(no port, no front door)",
      },
    ]);
    assert.deepEqual(inputProblems({ ...inputs, proxyRef: undefined }), [
      {
        property: "proxyRef",
        reason:
          "proxyRef is undefined; allowed: a digest-pinned image reference, " +
          "repo@sha256:<64 hex> (the front door of a service with a port)",
      },
    ]);
  });

  test("no proxy is no change (there is none to miss); losing the port is an update", async () => {
    assert.deepEqual(await diff(workerState, worker), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    const withPort = { ...state, ...worker, port: 8000, proxyRef: PROXY, proxyId: "p1" };
    assert.deepEqual(await diff(withPort, worker), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
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

  test("version, env, replicas, port, proxy and drain changes update in place (health-gated)", async () => {
    for (const change of [
      { version: "1.1.0", ref: REF.replace(/a{64}/, "c".repeat(64)) },
      { env: { DATABASE_URL: "postgres://other" } },
      { replicas: 3 },
      { port: 8001 },
      { proxyRef: PROXY.replace(/b{64}/, "d".repeat(64)) },
      { drainSeconds: 5 },
    ]) {
      assert.deepEqual(await diff(state, { ...inputs, ...change }), {
        changes: true,
        replaces: [],
        deleteBeforeReplace: false,
      });
    }
  });

  test("a refresh that found fewer replicas or no proxy is a change", async () => {
    assert.equal((await diff({ ...state, replicas: 1 }, inputs)).changes, true);
    assert.equal((await diff({ ...state, proxyId: "" }, inputs)).changes, true);
  });

  test("new registry credentials alone change nothing that runs", async () => {
    assert.equal(
      (await diff(state, { ...inputs, registryUsername: "u", registryPassword: "p" })).changes,
      false,
    );
  });

  test("a state from before HAProxy (the router's) is a change: it moves to HAProxy", async () => {
    const legacy = {
      ...state,
      proxyId: undefined as unknown as string,
      proxyRef: undefined as unknown as string,
      routerId: "r1",
      routerDir: "/tmp/r",
    };
    assert.equal((await diff(legacy, inputs)).changes, true);
  });

  test("another service or stack replaces, deleting first (the proxy's port)", async () => {
    assert.deepEqual(await diff(state, { ...inputs, service: "api" }), {
      changes: true,
      replaces: ["service"],
      deleteBeforeReplace: true,
    });
  });
});

describe("the proxy of a DockerDeployment", () => {
  test("its config: the public port, slots for old and new side by side, the ready check", () => {
    assert.deepEqual(proxyArgs(inputs), {
      service: "hunter",
      port: 8000,
      slots: 8,
      readyPath: "/healthz/ready",
    });
    assert.equal(proxyArgs({ ...inputs, replicas: 5 }).slots, 16);
  });

  test("a worker ready by upSeconds or a command gets no HTTP check from HAProxy", () => {
    for (const ready of [{ upSeconds: 10 }, { command: ["celery", "inspect", "ping"] }]) {
      const args = proxyArgs({ ...inputs, health: { ...inputs.health, ...ready } });
      assert.equal(args.readyPath, undefined, JSON.stringify(ready));
    }
  });

  test("its spec changes with the image and the config, not with the version or drain", () => {
    const spec = proxySpec(inputs);
    assert.equal(proxySpec({ ...inputs, version: "2.0.0", drainSeconds: 1 }), spec);
    assert.notEqual(proxySpec({ ...inputs, port: 8001 }), spec);
    assert.notEqual(
      proxySpec({ ...inputs, proxyRef: PROXY.replace(/b{64}/, "e".repeat(64)) }),
      spec,
    );
  });

  test("its state directory: REWIND_PROXY_DIR, else the project's .rewind; short either way", () => {
    const saved = { dir: process.env.REWIND_PROXY_DIR, home: process.env.REWIND_HOME };
    try {
      process.env.REWIND_PROXY_DIR = "/p";
      assert.match(proxyDirFor("rewind/prod", "hunter"), /^\/p\/hunter-[0-9a-f]{8}$/);
      delete process.env.REWIND_PROXY_DIR;
      delete process.env.REWIND_HOME;
      assert.match(
        proxyDirFor("rewind/prod", "a".repeat(63), "/srv/app"),
        new RegExp(`^/srv/app/\\.rewind/proxy/${"a".repeat(20)}-[0-9a-f]{8}$`),
      );
    } finally {
      for (const [k, v] of [
        ["REWIND_PROXY_DIR", saved.dir],
        ["REWIND_HOME", saved.home],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
