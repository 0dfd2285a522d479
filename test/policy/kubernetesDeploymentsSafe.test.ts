import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deploymentManifest } from "../../domain/kubernetesManifest";
import { checkKubernetesDeployment } from "../../policy/kubernetesDeploymentsSafe";
import { UNKNOWN } from "../../policy/resources";

const REF = `127.0.0.1:5000/hunter@sha256:${"a".repeat(64)}`;

// The happy path is what Rewind itself declares: the policy and the manifest must agree.
function rewindDeployment() {
  return deploymentManifest({
    service: "hunter",
    namespace: "prod",
    stackId: "rewind/prod",
    ref: REF,
    version: "1.1.0",
    replicas: 2,
    port: 8000,
    health: { live: "/healthz/live", ready: "/healthz/ready", timeoutSeconds: 60 },
    envSecret: "hunter-env",
    envVersion: "1",
  });
}

/** Rewind's Deployment with its one container changed by `change`. */
function withContainer(change: (c: Record<string, unknown>) => Record<string, unknown>) {
  const d = rewindDeployment();
  const [container] = d.spec.template.spec.containers;
  return {
    spec: {
      ...d.spec,
      template: {
        ...d.spec.template,
        spec: { ...d.spec.template.spec, containers: [change({ ...container })] },
      },
    },
  };
}

describe("kubernetes-deployments-safe", () => {
  test("Rewind's own Deployment passes", () => {
    assert.deepEqual(checkKubernetesDeployment({ spec: rewindDeployment().spec }), []);
  });

  test("a container without a readiness probe is refused", () => {
    const d = withContainer(({ readinessProbe: _, ...c }) => c);
    assert.deepEqual(checkKubernetesDeployment(d), [
      `Container "hunter" has no readinessProbe; a pod would take traffic before it is ready ` +
        `and a broken version would roll out. Give it rewind:app.health.ready.`,
    ]);
  });

  test("an image by tag is refused", () => {
    const d = withContainer((c) => ({ ...c, image: "127.0.0.1:5000/hunter:1.1.0" }));
    assert.deepEqual(checkKubernetesDeployment(d), [
      `Container "hunter" runs "127.0.0.1:5000/hunter:1.1.0", not an image by digest; a ` +
        `rollback by pin could bring back other bytes. Run the ImageRef's ref (image@sha256:…).`,
    ]);
  });

  test("a short or malformed digest is refused", () => {
    const d = withContainer((c) => ({ ...c, image: "hunter@sha256:abc" }));
    assert.equal(checkKubernetesDeployment(d).length, 1);
  });

  test("every container is checked", () => {
    const d = withContainer((c) => c);
    d.spec.template.spec.containers.push({
      ...d.spec.template.spec.containers[0],
      name: "sidecar",
      image: "sidecar:latest",
    });
    assert.deepEqual(checkKubernetesDeployment(d), [
      `Container "sidecar" runs "sidecar:latest", not an image by digest; a rollback by pin ` +
        `could bring back other bytes. Run the ImageRef's ref (image@sha256:…).`,
    ]);
  });

  test("values unknown during preview are not judged", () => {
    assert.deepEqual(checkKubernetesDeployment({ spec: UNKNOWN }), []);
    assert.deepEqual(
      checkKubernetesDeployment(withContainer((c) => ({ ...c, image: UNKNOWN }))),
      [],
    );
  });
});
