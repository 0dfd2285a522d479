import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PolicyResource, unknownCheckingProxy } from "@pulumi/policy";
import { unknownValue } from "@pulumi/pulumi/runtime/rpc";
import {
  PROJECT_ROOT,
  UNKNOWN,
  dependsOn,
  readProps,
  resolveFromProject,
  show,
  stackResources,
} from "../../policy/resources";

// What the SDK hands a stack policy: props behind its proxy, dependencies as resource objects.
function policyResource(
  name: string,
  props: Record<string, unknown>,
  deps: {
    dependencies?: PolicyResource[];
    propertyDependencies?: Record<string, PolicyResource[]>;
  } = {},
): PolicyResource {
  return {
    type: "pulumi-nodejs:dynamic/rewind:Test",
    name,
    urn: `urn:pulumi:dev::rewind::pulumi-nodejs:dynamic/rewind:Test::${name}`,
    props: unknownCheckingProxy(props),
    dependencies: deps.dependencies ?? [],
    propertyDependencies: deps.propertyDependencies ?? {},
  } as unknown as PolicyResource;
}

describe("policy resources", () => {
  test("readProps copies the keys asked for, unknowns at any depth as UNKNOWN", () => {
    const props = unknownCheckingProxy({
      a: "x",
      b: unknownValue,
      c: { d: [1, unknownValue] },
      secret: "not copied",
    });
    assert.deepEqual(readProps(props, ["a", "b", "c", "missing"]), {
      a: "x",
      b: UNKNOWN,
      c: { d: [1, UNKNOWN] },
    });
  });

  test("stackResources keeps URNs of dependencies, by input too", () => {
    const backup = policyResource("backup", { snapshotId: "s" });
    const migration = policyResource(
      "migration",
      { snapshotId: unknownValue, databaseUrl: "postgres://secret" },
      { dependencies: [backup], propertyDependencies: { snapshotId: [backup] } },
    );
    const [, view] = stackResources([backup, migration], ["snapshotId"]);
    assert.deepEqual(view, {
      type: "pulumi-nodejs:dynamic/rewind:Test",
      name: "migration",
      urn: migration.urn,
      props: { snapshotId: UNKNOWN },
      dependencies: [backup.urn],
      propertyDependencies: { snapshotId: [backup.urn] },
    });
    assert.equal(dependsOn(view, backup.urn), true);
    assert.equal(dependsOn(view, migration.urn), false);
  });

  test("show quotes values and names what is absent or unknown", () => {
    assert.equal(show("0001"), `"0001"`);
    assert.equal(show(7), "7");
    assert.equal(show(false), "false");
    assert.equal(show(""), "(none)");
    assert.equal(show(undefined), "(none)");
    assert.equal(show(UNKNOWN), "(unknown)");
  });

  test("relative paths are taken from the project root, where the program runs", () => {
    assert.equal(resolveFromProject("migrations"), `${PROJECT_ROOT}/migrations`);
    assert.equal(resolveFromProject("/var/backups"), "/var/backups");
  });
});
