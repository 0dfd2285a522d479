// AppService under Pulumi's mocks: the exact children, their names, parents and inputs. Mocks
// are set before the component is imported; any registration or call they do not expect fails.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { recordingMocks, secret, value, typedInputs } from "./mocks";
import * as states from "./mockStates";
import { DIGEST, PROXY_DIGEST } from "./mockStates";

const registrations = recordingMocks({
  "rewind:index:ImageRef": states.imageRef(),
  "rewind:index:DockerDeployment": states.dockerDeployment,
  "rewind:app:AppService": states.component,
});

// Imported after setMocks, as the SDK requires (a static import would be hoisted above it).
const { AppService } =
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("../../components/appService") as typeof import("../../components/appService");

describe("AppService", () => {
  test("an ImageRef for the app and for the proxy, and a DockerDeployment, all its children", async () => {
    registrations.length = 0;
    const parents = new Map<string, string | undefined>();
    const app = new AppService(
      "hunter",
      {
        service: "hunter",
        image: "127.0.0.1:5000/hunter",
        version: "1.0.0",
        replicas: 2,
        port: 8000,
        env: { DATABASE_URL: "postgres://u:p@h/db" },
        health: { timeoutSeconds: 30 },
      },
      {
        // Transformations reach every child: a way to see each one's parent.
        transformations: [
          (args) => {
            parents.set(`${args.type}::${args.name}`, args.opts.parent?.constructor.name);
            return undefined;
          },
        ],
      },
    );
    assert.deepEqual(
      await Promise.all([app.digest, app.ref, app.url, app.version].map((o) => value<string>(o))),
      [DIGEST, `127.0.0.1:5000/hunter@${DIGEST}`, "http://127.0.0.1:8000", "1.0.0"],
    );
    assert.deepEqual(
      registrations.map((r) => [r.type, r.name]),
      [
        ["rewind:app:AppService", "hunter"],
        ["rewind:index:ImageRef", "hunter-image"],
        ["rewind:index:ImageRef", "hunter-proxy-image"],
        ["rewind:index:DockerDeployment", "hunter-deployment"],
      ],
    );
    assert.deepEqual(Object.fromEntries(parents), {
      "rewind:app:AppService::hunter": undefined,
      "rewind:index:ImageRef::hunter-image": "AppService",
      "rewind:index:ImageRef::hunter-proxy-image": "AppService",
      "rewind:index:DockerDeployment::hunter-deployment": "AppService",
    });
    const [image, proxy, deployment] = registrations.slice(1).map(typedInputs);
    const anonymous = { registryUsername: "", registryPassword: secret("") };
    assert.deepEqual(image, { image: "127.0.0.1:5000/hunter", version: "1.0.0", ...anonymous });
    assert.deepEqual(proxy, { image: "127.0.0.1:5000/rewind-haproxy", version: "1", ...anonymous });
    assert.deepEqual(deployment, {
      service: "hunter",
      stackId: "rewind/unit",
      ref: `127.0.0.1:5000/hunter@${DIGEST}`,
      version: "1.0.0",
      replicas: 2,
      port: 8000,
      // A secret on the wire, so the engine keeps it encrypted in state.
      env: secret({ DATABASE_URL: "postgres://u:p@h/db" }),
      command: [],
      health: { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 30 },
      proxyRef: `127.0.0.1:5000/rewind-haproxy@${PROXY_DIGEST}`,
      drainSeconds: 30,
      ...anonymous,
    });
  });

  test("a worker from the same image: its own command, replicas and service name", async () => {
    registrations.length = 0;
    const worker = new AppService("worker", {
      service: "worker",
      image: "127.0.0.1:5000/hunter",
      version: "1.0.0",
      port: 8100,
      command: ["node", "worker.js"],
      health: { ready: "/ready", startup: "/started" },
      stackId: "rewind/other",
      proxyImage: "127.0.0.1:5000/tools/rewind-haproxy",
    });
    await value(worker.url);
    const deployment = registrations.find((r) => r.name === "worker-deployment")!.inputs;
    assert.equal(deployment.service, "worker");
    assert.equal(deployment.stackId, "rewind/other");
    assert.equal(deployment.replicas, 1);
    assert.deepEqual(deployment.command, ["node", "worker.js"]);
    assert.deepEqual(deployment.health, {
      live: "/healthz/live",
      ready: "/ready",
      startup: "/started",
      timeoutSeconds: 60,
    });
    assert.equal(
      registrations.find((r) => r.name === "worker-proxy-image")!.inputs.image,
      "127.0.0.1:5000/tools/rewind-haproxy",
    );
  });

  test("a worker without a port: no proxy image, no port or proxy on its deployment, no url", async () => {
    registrations.length = 0;
    const worker = new AppService("celery", {
      service: "celery",
      image: "127.0.0.1:5000/hunter",
      version: "1.0.0",
      command: ["celery", "worker"],
      health: { upSeconds: 5 },
      drainSeconds: 60,
    });
    assert.equal(await value(worker.url), "");
    assert.deepEqual(
      registrations.map((r) => [r.type, r.name]),
      [
        ["rewind:app:AppService", "celery"],
        ["rewind:index:ImageRef", "celery-image"],
        ["rewind:index:DockerDeployment", "celery-deployment"],
      ],
    );
    const deployment = typedInputs(registrations[2]);
    assert.equal("port" in deployment, false);
    assert.equal("proxyRef" in deployment, false);
    assert.deepEqual(deployment.health, {
      live: "/healthz/live",
      ready: "/healthz/ready",
      timeoutSeconds: 60,
      upSeconds: 5,
    });
    // Its old replicas' time between SIGTERM and SIGKILL.
    assert.equal(deployment.drainSeconds, 60);
  });

  test("a worker without a port must say how it is ready, and takes no proxy image", () => {
    const base = { service: "celery", image: "127.0.0.1:5000/hunter", version: "1.0.0" };
    assert.throws(() => new AppService("celery", { ...base, health: { timeoutSeconds: 5 } }), {
      name: "UserError",
      message:
        'AppService "celery": health has neither upSeconds nor command while port is unset; ' +
        "allowed: health.upSeconds or health.command for a worker without HTTP, or a port",
    });
    assert.throws(
      () =>
        new AppService("celery", {
          ...base,
          proxyImage: "127.0.0.1:5000/rewind-haproxy",
        }),
      {
        name: "UserError",
        message:
          'AppService "celery": health is missing while port is unset; allowed: { upSeconds: N } ' +
          "or { command: [...] } for a worker without HTTP, or a port\n" +
          'AppService "celery": proxyImage is "127.0.0.1:5000/rewind-haproxy"; allowed: no value ' +
          "while port is unset (a service without a port has no front door)",
      },
    );
  });

  test("registry credentials: the password a secret, sent for the app's registry only", async () => {
    registrations.length = 0;
    const api = new AppService("api", {
      service: "api",
      image: "registry.example:5000/team/api",
      version: "2.0.0",
      port: 8200,
      registry: { username: "team", password: "s3cret" },
      proxyImage: "127.0.0.1:5000/rewind-haproxy",
      drainSeconds: 5,
    });
    await value(api.url);
    const inputs = (name: string) => registrations.find((r) => r.name === name)!.inputs;
    assert.equal(inputs("api-image").registryUsername, "team");
    assert.deepEqual(inputs("api-image").registryPassword, secret("s3cret"));
    // The proxy image lives in another registry: it gets no credentials.
    assert.equal(inputs("api-proxy-image").registryUsername, "");
    assert.deepEqual(inputs("api-proxy-image").registryPassword, secret(""));
    assert.equal(inputs("api-deployment").registryUsername, "team");
    assert.deepEqual(inputs("api-deployment").registryPassword, secret("s3cret"));
    assert.equal(inputs("api-deployment").drainSeconds, 5);
  });

  test("bad plain arguments fail before anything is registered, each named", () => {
    registrations.length = 0;
    assert.throws(
      () =>
        new AppService("bad", {
          service: "Bad_Name",
          image: "hunter",
          version: "latest",
          replicas: 0,
          port: 80,
        }),
      (err: Error) => {
        assert.equal(err.name, "UserError");
        assert.deepEqual(err.message.split("\n"), [
          `AppService "bad": service is "Bad_Name"; allowed: a DNS label: lowercase letters, ` +
            `digits and -, starting with a letter, not ending with -, at most 63 characters`,
          `AppService "bad": image "hunter" names no registry host; allowed: a repository in a ` +
            `registry Rewind can reach, e.g. "127.0.0.1:5000/hunter" (Docker Hub short names ` +
            `are not resolved)`,
          `AppService "bad": version "latest" is not allowed; allowed: an immutable image tag ` +
            `(not "latest"; letters, digits, _ . -, at most 128 characters) or a sha256:<64 hex> digest`,
          `AppService "bad": replicas is 0; allowed: an integer of at least 1`,
          `AppService "bad": port is 80; allowed: an integer from 1024 to 65535`,
        ]);
        return true;
      },
    );
  });
});
