import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DockerDeployment } from "../../components/dockerDeployment";
import { HealthGate } from "../../components/healthGate";
import { Migration } from "../../components/migration";
import { checkHealthGate, checkHealthGatePresent } from "../../policy/healthGateRequired";
import { StackResource, UNKNOWN } from "../../policy/resources";

function resource(type: string, name: string, props: Record<string, unknown> = {}): StackResource {
  return {
    type,
    name,
    urn: `urn:pulumi:dev::rewind::${type}::${name}`,
    props,
    dependencies: [],
    propertyDependencies: {},
  };
}

const app = resource(DockerDeployment.__pulumiType, "r-app");
const gate = resource(HealthGate.__pulumiType, "r-gate", { enabled: true });

describe("health-gate-required: the HealthGate's inputs", () => {
  test("an enabled gate passes", () => {
    assert.deepEqual(checkHealthGate({ enabled: true }), []);
  });

  test("a disabled gate is refused", () => {
    assert.deepEqual(checkHealthGate({ enabled: false }), [
      `The HealthGate does not run (enabled is false); set rewind:gate.enabled to true so a ` +
        `failing release fails the update.`,
    ]);
  });

  test("a gate without enabled does not run (the provider reads it as false)", () => {
    assert.deepEqual(checkHealthGate({}), [
      `The HealthGate does not run (enabled is (none)); set rewind:gate.enabled to true so a ` +
        `failing release fails the update.`,
    ]);
  });

  test("an unknown enabled (preview) is not judged", () => {
    assert.deepEqual(checkHealthGate({ enabled: UNKNOWN }), []);
  });
});

describe("health-gate-required: the stack", () => {
  test("a stack with a deployment and a gate passes", () => {
    assert.deepEqual(checkHealthGatePresent([app, gate]), []);
  });

  test("a stack with a deployment and no gate is refused", () => {
    assert.deepEqual(checkHealthGatePresent([app]), [
      {
        message:
          `This stack deploys "r-app" without a HealthGate; set rewind:gate.enabled to true so a ` +
          `failing release fails the update.`,
      },
    ]);
  });

  test("a stack without a deployment needs no gate", () => {
    assert.deepEqual(checkHealthGatePresent([resource(Migration.__pulumiType, "r-migration")]), []);
  });
});
