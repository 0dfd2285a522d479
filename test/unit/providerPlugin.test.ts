// The plugin's dispatch and wire handling, without an engine: values in and out as the
// engine's gRPC layer hands them over (secrets as signature objects, legacy keys present).
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { RewindProvider } from "../../provider/plugin";
import { asSecrets, plain, secretKeys } from "../../provider/resourceHandler";
import { RESOURCE_TYPES, token } from "../../domain/resourceTypes";

const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";
const secret = (value: unknown) => ({ [SIG]: SECRET, value });
const URN = (type: string) => `urn:pulumi:dev::rewind::rewind:index:Release$${type}::hunter-x`;

describe("the plugin's wire handling", () => {
  test("plain: secrets unwrapped at any depth, the dynamic providers' __provider dropped", () => {
    assert.deepEqual(
      plain({
        __provider: "exports.handler = …",
        url: secret("postgres://u:p@h/db"),
        env: { A: secret("x") },
      }),
      { url: "postgres://u:p@h/db", env: { A: "x" } },
    );
  });

  test("what came in secret leaves secret, and nothing else does", () => {
    const wire = {
      databaseUrl: secret("postgres://u:p@h/db"),
      env: { A: secret("x") },
      database: "db",
    };
    assert.deepEqual([...secretKeys(wire)].sort(), ["databaseUrl", "env"]);
    assert.deepEqual(
      asSecrets(
        { databaseUrl: "u", env: { A: "x" }, database: "db", revision: "0002" },
        secretKeys(wire),
      ),
      {
        databaseUrl: secret("u"),
        env: secret({ A: "x" }),
        database: "db",
        revision: "0002",
      },
    );
  });
});

describe("the plugin's dispatch", () => {
  const plugin = new RewindProvider("9.9.9");

  test("the schema serves every resource type under rewind:index and the invoke", async () => {
    const schema = JSON.parse(await plugin.getSchema()) as {
      name: string;
      version: string;
      resources: Record<string, unknown>;
      functions: Record<string, unknown>;
    };
    assert.equal(schema.name, "rewind");
    assert.equal(schema.version, "9.9.9");
    assert.deepEqual(Object.keys(schema.resources).sort(), RESOURCE_TYPES.map(token).sort());
    assert.deepEqual(Object.keys(schema.functions), ["rewind:index:getCurrentRelease"]);
    // A worker without HTTP registers its DockerDeployment without a port or a proxy.
    const deployment = schema.resources["rewind:index:DockerDeployment"] as {
      requiredInputs: string[];
    };
    for (const key of ["port", "proxyRef", "mounts"]) {
      assert.equal(deployment.requiredInputs.includes(key), false, key);
    }
    assert.equal(deployment.requiredInputs.includes("service"), true);
  });

  test("a check goes to the type's handler, on plain values", async () => {
    const result = await plugin.check(URN("rewind:index:ImageRef"), undefined, {
      image: "127.0.0.1:5000/hunter",
      version: "latest",
      __provider: "code",
    });
    // Inputs from before registry credentials get them as anonymous ("").
    assert.deepEqual(result.inputs, {
      image: "127.0.0.1:5000/hunter",
      version: "latest",
      registryUsername: "",
      registryPassword: "",
    });
    assert.equal(result.failures?.[0]?.property, "version");
  });

  test("a type the plugin does not serve is named", async () => {
    await assert.rejects(
      plugin.check(URN("rewind:index:Nope"), undefined, {}),
      /pulumi-resource-rewind serves no resource type rewind:index:Nope/,
    );
    await assert.rejects(
      plugin.invoke("rewind:index:nope", {}),
      /has no function rewind:index:nope/,
    );
  });
});
